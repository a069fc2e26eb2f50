#include "store/batch_plan.hpp"

#include <algorithm>

#include <string>

namespace exchanged::store {

BatchPlan plan_batch(const StoreBatch& batch, StoreLsn store_lsn) {
    const std::string range =
        "batch " + std::to_string(batch.first_lsn) + ".." + std::to_string(batch.last_lsn);
    if (batch.first_lsn == 0 || batch.last_lsn < batch.first_lsn) {
        throw StoreError(range + ": not a valid LSN range");
    }
    StoreLsn previous = batch.first_lsn;
    for (const StoreEvent& e : batch.events) {
        if (e.lsn < previous || e.lsn > batch.last_lsn) {
            throw StoreError(range + ": event at LSN " + std::to_string(e.lsn) +
                             " is out of order or outside the range");
        }
        previous = e.lsn;
    }
    BatchPlan plan;
    if (batch.last_lsn <= store_lsn) {
        plan.skip = true;
        return plan;
    }
    if (batch.first_lsn > store_lsn + 1) {
        throw StoreError(range + " would leave a gap: the store holds up to LSN " +
                         std::to_string(store_lsn));
    }
    while (plan.first < batch.events.size() && batch.events[plan.first].lsn <= store_lsn) {
        ++plan.first;
    }
    return plan;
}

void raise_counters(std::vector<ShardCounters>& counters, const StoreEvent& e) {
    if (e.shard >= counters.size()) {
        counters.resize(std::size_t{e.shard} + 1);
    }
    ShardCounters& c = counters[e.shard];
    c.touched = true;
    c.next_seq = std::max(c.next_seq, e.event.seq + 1);
    if (e.event.type == book::EventType::Accepted) {
        c.next_order_id = std::max(c.next_order_id, e.event.order_id + 1);
    } else if (e.event.type == book::EventType::Trade) {
        c.next_trade_id = std::max(c.next_trade_id, e.event.trade_id + 1);
    }
}

}  // namespace exchanged::store
