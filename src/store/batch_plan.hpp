// The backend-independent half of Store::apply(): checks a batch against store_lsn and says which
// of its events are new. Every backend applies exactly the events this plan names.
#pragma once

#include <cstddef>
#include <vector>

#include "store/store.hpp"

namespace exchanged::store {

struct BatchPlan {
    bool skip = false;      // wholly at or below store_lsn: nothing to do
    std::size_t first = 0;  // index of the first event above store_lsn
};

// The id counters and next seq a batch leaves one shard's matcher at. Counters only rise, so the
// store's equal the matcher's: an order id is used only by an accepted order, a trade id only by
// a trade.
struct ShardCounters {
    SequenceNumber next_seq = 1;
    OrderId next_order_id = 1;
    TradeId next_trade_id = 1;
    bool touched = false;  // the batch has an event of this shard
};

// Raises the counters of the event's shard to what its matcher has after the event, growing
// `counters` to hold that shard.
void raise_counters(std::vector<ShardCounters>& counters, const StoreEvent& e);

// Throws StoreError when the batch is malformed (empty or inverted range, an event outside it or
// with LSN 0, LSNs going backwards) or starts after store_lsn + 1.
BatchPlan plan_batch(const StoreBatch& batch, StoreLsn store_lsn);

}  // namespace exchanged::store
