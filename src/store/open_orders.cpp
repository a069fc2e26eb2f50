#include "store/open_orders.hpp"

namespace exchanged::store {

void OpenOrders::clear() {
    base_.clear();
    overlay_.clear();
    loaded_ = false;
}

void OpenOrders::add(ShardId shard, OrderId order_id, const OpenOrder& order) {
    base_[OrderKey{shard, order_id}] = order;
}

void OpenOrders::mark_loaded(StoreLsn store_lsn) {
    loaded_ = true;
    lsn_ = store_lsn;
}

void OpenOrders::begin_batch() {
    overlay_.clear();
}

OrderSlot* OpenOrders::find(ShardId shard, OrderId order_id) {
    const OrderKey key{shard, order_id};
    if (Touched* touched = overlay_.find(key)) {
        return touched->open ? &touched->slot : nullptr;
    }
    const OpenOrder* found = base_.find(key);
    if (found == nullptr) {
        return nullptr;
    }
    // Copied into the overlay: the base changes only when the batch commits.
    const OpenOrder order = *found;
    Touched& touched = overlay_[key];
    touched.open = true;
    touched.slot = OrderSlot{order, std::nullopt};
    return &touched.slot;
}

OrderSlot& OpenOrders::open(ShardId shard, OrderId order_id, const OpenOrder& order,
                            PendingRow row) {
    Touched& touched = overlay_[OrderKey{shard, order_id}];
    touched.open = true;
    touched.slot = OrderSlot{order, row};
    return touched.slot;
}

void OpenOrders::close(ShardId shard, OrderId order_id) {
    Touched& touched = overlay_[OrderKey{shard, order_id}];
    touched.open = false;
    touched.slot.row.reset();
}

void OpenOrders::commit(StoreLsn store_lsn) {
    overlay_.for_each([this](const OrderKey& key, const Touched& touched) {
        if (touched.open) {
            base_[key] = touched.slot.order;
        } else {
            base_.erase(key);
        }
    });
    overlay_.clear();
    lsn_ = store_lsn;
}

}  // namespace exchanged::store
