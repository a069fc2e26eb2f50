#include "store/row_plan.hpp"

#include <algorithm>
#include <array>
#include <iterator>

namespace exchanged::store {
namespace {

std::int64_t i64(std::uint64_t value) {
    return static_cast<std::int64_t>(value);
}
std::int64_t side_of(Side side) {
    return static_cast<std::int64_t>(side);
}
// The audit log's reason column: the cancel reason of a Cancelled event, else the reject reason.
std::int64_t reason_of(const book::Event& e) {
    return e.type == book::EventType::Cancelled ? static_cast<std::int64_t>(e.cancel_reason)
                                                : static_cast<std::int64_t>(e.reject_reason);
}

// As accepted: open, nothing executed, not finished (order_column: 0 and -1 for NULL).
std::array<std::int64_t, kOrderColumns> order_row(const StoreEvent& e) {
    const book::Event& ev = e.event;
    return {std::int64_t{e.shard},
            i64(ev.order_id),
            std::int64_t{ev.account},
            std::int64_t{ev.instrument},
            i64(ev.client_order_id),
            side_of(ev.side),
            ev.price,
            ev.quantity,
            ev.leaves,
            0,
            static_cast<std::int64_t>(StoredOrderState::Open),
            std::int64_t{e.order_flags},
            i64(ev.seq),
            i64(e.lsn),
            0,
            -1};
}

std::array<std::int64_t, kTradeColumns> trade_row(const StoreEvent& e) {
    const book::Event& ev = e.event;
    return {std::int64_t{e.shard},
            i64(ev.trade_id),
            std::int64_t{ev.instrument},
            ev.price,
            ev.quantity,
            i64(ev.order_id),
            std::int64_t{ev.account},
            side_of(ev.side),
            i64(ev.maker_order_id),
            std::int64_t{ev.maker_account},
            side_of(opposite(ev.side)),
            i64(e.lsn),
            i64(ev.seq),
            ev.timestamp_ns};
}

std::array<std::int64_t, kAuditColumns> audit_row(const StoreEvent& e, std::int64_t position) {
    const book::Event& ev = e.event;
    return {i64(e.lsn),
            position,
            std::int64_t{e.shard},
            i64(ev.seq),
            ev.timestamp_ns,
            static_cast<std::int64_t>(ev.type),
            reason_of(ev),
            side_of(ev.side),
            std::int64_t{ev.account},
            std::int64_t{ev.instrument},
            i64(ev.order_id),
            i64(ev.client_order_id),
            ev.price,
            ev.quantity,
            ev.leaves,
            i64(ev.trade_id),
            i64(ev.maker_order_id),
            std::int64_t{ev.maker_account},
            ev.maker_leaves};
}

}  // namespace

bool must_touch_one_row(RowOp op) {
    return op == RowOp::SetStoreLsn;
}

void RowPlan::build(const StoreBatch& batch, std::size_t first, bool audit_log) {
    steps_.clear();
    values_.clear();
    refusal_.reset();
    open_.begin_batch();
    for (ShardCounters& c : counters_) {
        c = ShardCounters{};
    }
    std::int64_t position = 0;  // the event's index within its command
    StoreLsn lsn = 0;
    for (std::size_t i = first; i < batch.events.size(); ++i) {
        const StoreEvent& e = batch.events[i];
        position = e.lsn == lsn ? position + 1 : 0;
        lsn = e.lsn;
        if (e.event.seq == 0) {
            refusal_ = RowRefusal{i,
                                  "an event without a seq (a command refused before it was "
                                  "logged)"};
            return;
        }
        raise_counters(counters_, e);
        add_event(e, i, position, audit_log);
        if (refusal_) {
            return;
        }
    }
    add_batch_steps(batch.last_lsn);
}

void RowPlan::add_event(const StoreEvent& e, std::size_t index, std::int64_t position,
                        bool audit_log) {
    const book::Event& ev = e.event;
    const std::int64_t finish_pos = 2 * position;  // the taker of a trade finishes after its maker
    switch (ev.type) {
        case book::EventType::Accepted: {
            const std::uint32_t row = add(RowOp::InsertOrder, index, order_row(e));
            open_.open(e.shard, ev.order_id, OpenOrder{ev.price, ev.leaves, 0, ev.seq},
                       PendingRow{true, row});
            break;
        }
        case book::EventType::Trade: {
            // One side of the trade; false when the store does not hold that order open.
            const auto fill = [&](const char* what, OrderId order_id, Quantity leaves,
                                  std::int64_t pos) {
                OrderSlot* side = open_.find(e.shard, order_id);
                if (side == nullptr) {
                    refuse_missing(index, what, order_id);
                    return false;
                }
                side->order.leaves = leaves;
                side->order.executed += ev.quantity;
                change(*side, e, index, order_id, ChangeKind::Trade, pos);
                return true;
            };
            // The maker first: when one trade fills both sides, the matcher finishes it first.
            if (!fill("trade with maker", ev.maker_order_id, ev.maker_leaves, finish_pos) ||
                !fill("trade with taker", ev.order_id, ev.leaves, finish_pos + 1)) {
                return;
            }
            add(RowOp::InsertTrade, index, trade_row(e));
            break;
        }
        case book::EventType::Cancelled: {
            OrderSlot* order = open_.find(e.shard, ev.order_id);
            if (order == nullptr) {
                refuse_missing(index, "cancel of", ev.order_id);
                return;
            }
            order->order.leaves = 0;
            change(*order, e, index, ev.order_id, ChangeKind::Cancel, finish_pos);
            break;
        }
        case book::EventType::Replaced: {
            OrderSlot* order = open_.find(e.shard, ev.order_id);
            if (order == nullptr) {
                refuse_missing(index, "replace of", ev.order_id);
                return;
            }
            // The matcher keeps time priority only for a same-price replace that does not add
            // quantity (docs/matching.md).
            OpenOrder& o = order->order;
            if (o.price != ev.price || ev.quantity > o.leaves) {
                o.priority = ev.seq;
            }
            o.price = ev.price;
            o.leaves = ev.leaves;
            change(*order, e, index, ev.order_id, ChangeKind::Replace, finish_pos);
            break;
        }
        case book::EventType::Rejected:
        case book::EventType::MassCancelled:
            break;
    }
    if (audit_log) {
        add(RowOp::InsertAudit, index, audit_row(e, position));
    }
}

void RowPlan::change(OrderSlot& slot, const StoreEvent& e, std::size_t index, OrderId order_id,
                     ChangeKind kind, std::int64_t pos) {
    const OpenOrder& o = slot.order;
    StoredOrderState state = StoredOrderState::Open;
    if (kind == ChangeKind::Cancel) {
        state = StoredOrderState::Cancelled;
    } else if (o.leaves == 0) {
        state = StoredOrderState::Filled;
    }
    const bool finished = state != StoredOrderState::Open;
    const std::int64_t lsn = i64(e.lsn);
    if (slot.row && slot.row->insert) {
        std::int64_t* row = values_.data() + slot.row->first;
        namespace c = order_column;
        row[c::kPrice] = o.price;
        row[c::kLeaves] = o.leaves;
        row[c::kExecuted] = o.executed;
        row[c::kState] = static_cast<std::int64_t>(state);
        row[c::kPriority] = i64(o.priority);
        row[c::kFinishedLsn] = finished ? lsn : 0;
        row[c::kFinishedPos] = finished ? pos : -1;
    } else {
        const std::int64_t values[kChangeColumns] = {lsn,
                                                     pos,
                                                     std::int64_t{e.shard},
                                                     i64(order_id),
                                                     static_cast<std::int64_t>(kind),
                                                     static_cast<std::int64_t>(state),
                                                     o.price,
                                                     o.leaves,
                                                     o.executed,
                                                     i64(o.priority)};
        if (slot.row) {
            std::copy(std::begin(values), std::end(values), values_.begin() + slot.row->first);
        } else {
            slot.row = PendingRow{false, add(RowOp::AppendChange, index, values)};
        }
    }
    if (finished) {
        open_.close(e.shard, order_id);  // `slot` is gone from here on
    }
}

void RowPlan::refuse_missing(std::size_t index, const char* what, OrderId order_id) {
    refusal_ = RowRefusal{index, std::string(what) + " order " + std::to_string(order_id) +
                                     ", which the store does not hold open"};
}

void RowPlan::add_batch_steps(StoreLsn last_lsn) {
    for (std::size_t shard = 0; shard < counters_.size(); ++shard) {
        const ShardCounters& c = counters_[shard];
        if (c.touched) {
            const std::int64_t counters[] = {i64(shard), i64(c.next_seq), i64(c.next_order_id),
                                             i64(c.next_trade_id)};
            add(RowOp::RaiseCounters, kBatchStep, counters);
        }
    }
    const std::int64_t lsn[] = {i64(last_lsn)};
    add(RowOp::SetStoreLsn, kBatchStep, lsn);
}

std::uint32_t RowPlan::add(RowOp op, std::size_t event, std::span<const std::int64_t> values) {
    const auto first = static_cast<std::uint32_t>(values_.size());
    steps_.push_back(RowStep{op, event, first, static_cast<std::uint32_t>(values.size())});
    values_.insert(values_.end(), values.begin(), values.end());
    return first;
}

std::string step_context(const std::string& database, const StoreBatch& batch, std::size_t event) {
    if (event == kBatchStep) {
        return database + ": apply batch " + std::to_string(batch.first_lsn) + ".." +
               std::to_string(batch.last_lsn) + ": ";
    }
    const StoreEvent& e = batch.events[event];
    return database + ": LSN " + std::to_string(e.lsn) + " shard " + std::to_string(e.shard) + ": ";
}

std::string missing_row_message(const RowStep& step) {
    if (step.op == RowOp::SetStoreLsn) {
        return "set store_lsn: the meta row is missing";
    }
    return "a row step touched no row";
}

}  // namespace exchanged::store
