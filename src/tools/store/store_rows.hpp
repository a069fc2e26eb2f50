// Every order and trade row of a store, read once into memory for the checks that cross-reference
// them (reconcile). Rows are kept sorted by (shard, id), the order the Store interface reads them
// in, so lookups are binary searches and two stores compare by a merge.
#pragma once

#include <cstdint>
#include <string_view>
#include <tuple>
#include <vector>

#include "store/store.hpp"

namespace exchanged::tools {

// Rows are identified by (shard, id): order and trade ids are counted per shard.
using RowKey = std::tuple<store::ShardId, std::uint64_t>;
inline RowKey row_key(const store::StoredOrder& o) {
    return {o.shard, o.order_id};
}
inline RowKey row_key(const store::StoredTrade& t) {
    return {t.shard, t.trade_id};
}

struct StoreRows {
    store::StoreLsn store_lsn = 0;
    std::vector<store::StoredOrder> orders;  // by (shard, order_id)
    std::vector<store::StoredTrade> trades;  // by (shard, trade_id); duplicates kept, adjacent

    // The order with this id, or nullptr (the first one if a broken store holds it twice).
    const store::StoredOrder* find_order(store::ShardId shard, OrderId order_id) const;
    const store::StoredTrade* find_trade(store::ShardId shard, TradeId trade_id) const;
};

StoreRows read_store_rows(store::Store& store);

// "open", "filled" or "cancelled".
std::string_view state_name(store::StoredOrderState state);

}  // namespace exchanged::tools
