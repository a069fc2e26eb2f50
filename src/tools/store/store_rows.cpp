#include "tools/store/store_rows.hpp"

#include <algorithm>
#include <tuple>

namespace exchanged::tools {
namespace {

template <typename Row>
const Row* find_row(const std::vector<Row>& rows, store::ShardId shard, std::uint64_t id) {
    const auto key = std::make_tuple(shard, id);
    const auto it =
        std::lower_bound(rows.begin(), rows.end(), key,
                         [](const Row& row, const auto& wanted) { return row_key(row) < wanted; });
    return it != rows.end() && row_key(*it) == key ? &*it : nullptr;
}

template <typename Row>
void sort_rows(std::vector<Row>& rows) {
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return row_key(a) < row_key(b); });
}

}  // namespace

const store::StoredOrder* StoreRows::find_order(store::ShardId shard, OrderId order_id) const {
    return find_row(orders, shard, order_id);
}

const store::StoredTrade* StoreRows::find_trade(store::ShardId shard, TradeId trade_id) const {
    return find_row(trades, shard, trade_id);
}

StoreRows read_store_rows(store::Store& store) {
    StoreRows rows;
    rows.store_lsn = store.store_lsn();
    store.read_orders([&](const store::StoredOrder& o) { rows.orders.push_back(o); });
    store.read_trades([&](const store::StoredTrade& t) { rows.trades.push_back(t); });
    // The interface promises this order; sorting anyway keeps the lookups right for any backend.
    sort_rows(rows.orders);
    sort_rows(rows.trades);
    return rows;
}

std::string_view state_name(store::StoredOrderState state) {
    switch (state) {
        case store::StoredOrderState::Open:
            return "open";
        case store::StoredOrderState::Filled:
            return "filled";
        case store::StoredOrderState::Cancelled:
            return "cancelled";
    }
    return "state?";
}

}  // namespace exchanged::tools
