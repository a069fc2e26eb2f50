#include "store/open_orders.hpp"

namespace exchanged::store {

void OpenOrders::clear() {
    base_.clear();
    overlay_.clear();
    loaded_ = false;
}

void OpenOrders::add(ShardId shard, OrderId order_id, const OpenOrder& order) {
    base_[Key{shard, order_id}] = order;
}

void OpenOrders::mark_loaded(StoreLsn store_lsn) {
    loaded_ = true;
    lsn_ = store_lsn;
}

void OpenOrders::begin_batch() {
    overlay_.clear();
}

OrderSlot* OpenOrders::find(ShardId shard, OrderId order_id) {
    const Key key{shard, order_id};
    if (const auto touched = overlay_.find(key); touched != overlay_.end()) {
        return touched->second.open ? &touched->second.slot : nullptr;
    }
    const auto found = base_.find(key);
    if (found == base_.end()) {
        return nullptr;
    }
    // Copied into the overlay: the base changes only when the batch commits.
    Touched& touched = overlay_[key];
    touched.open = true;
    touched.slot = OrderSlot{found->second, std::nullopt};
    return &touched.slot;
}

OrderSlot& OpenOrders::open(ShardId shard, OrderId order_id, const OpenOrder& order,
                            PendingRow row) {
    Touched& touched = overlay_[Key{shard, order_id}];
    touched.open = true;
    touched.slot = OrderSlot{order, row};
    return touched.slot;
}

void OpenOrders::close(ShardId shard, OrderId order_id) {
    Touched& touched = overlay_[Key{shard, order_id}];
    touched.open = false;
    touched.slot.row.reset();
}

void OpenOrders::commit(StoreLsn store_lsn) {
    for (const auto& [key, touched] : overlay_) {
        if (touched.open) {
            base_[key] = touched.slot.order;
        } else {
            base_.erase(key);
        }
    }
    overlay_.clear();
    lsn_ = store_lsn;
}

}  // namespace exchanged::store
