// What the store holds open, kept in memory by the writer (docs/store.md "Schema v2"): every
// later change of an order is appended to order_changes instead of updating its row, so the
// batch must know, without reading the database, whether the order it changes is open and what
// its row holds. Loaded from the folded store when the writer starts (or when another writer
// moved store_lsn), then kept up to date batch by batch.
//
// A batch's changes go to an overlay first and reach the base only when its transaction commits
// (commit()), so a batch that is refused, rolled back or tried again sees the base unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "store/order_key_map.hpp"
#include "store/store.hpp"

namespace exchanged::store {

// An open order's mutable columns.
struct OpenOrder {
    Price price = 0;
    Quantity leaves = 0;
    Quantity executed = 0;
    std::uint64_t priority = 0;
};

// The row this batch already writes for an order, which later changes in the batch rewrite
// instead of appending another row.
struct PendingRow {
    bool insert = false;      // the order's own row, else an order_changes row
    std::uint32_t first = 0;  // its values in RowPlan's value store
};

// An open order as the batch has left it so far.
struct OrderSlot {
    OpenOrder order;
    std::optional<PendingRow> row;  // none while the batch has not written the order
};

class OpenOrders {
  public:
    // Loaded for the store at `store_lsn`: a batch applied at another store_lsn must reload.
    bool loaded_at(StoreLsn store_lsn) const { return loaded_ && lsn_ == store_lsn; }
    void clear();
    void add(ShardId shard, OrderId order_id, const OpenOrder& order);
    void mark_loaded(StoreLsn store_lsn);
    void forget() { loaded_ = false; }
    std::size_t size() const { return base_.size(); }

    // The overlay of one batch.
    void begin_batch();
    // The order as the batch has left it so far, or null when it is not open. The slot stays
    // valid until the next find() or open().
    OrderSlot* find(ShardId shard, OrderId order_id);
    // Opens (or, for an id the batch reuses, replaces) an order the batch inserts.
    OrderSlot& open(ShardId shard, OrderId order_id, const OpenOrder& order, PendingRow row);
    void close(ShardId shard, OrderId order_id);
    // The batch committed: its changes become the base, which now matches store_lsn.
    void commit(StoreLsn store_lsn);

  private:
    struct Touched {
        bool open = false;
        OrderSlot slot;
    };

    OrderKeyMap<OpenOrder> base_;
    OrderKeyMap<Touched> overlay_;
    bool loaded_ = false;
    StoreLsn lsn_ = 0;
};

}  // namespace exchanged::store
