#include "store/row_plan.hpp"

#include <array>

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
            std::int64_t{e.order_flags},
            i64(ev.seq),
            i64(e.lsn)};
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
    switch (op) {
        case RowOp::TradeOrder:
        case RowOp::CancelOrder:
        case RowOp::ReplaceOrder:
        case RowOp::SetStoreLsn:
            return true;
        case RowOp::InsertOrder:
        case RowOp::InsertTrade:
        case RowOp::InsertAudit:
        case RowOp::RaiseCounters:
            return false;
    }
    return false;
}

void RowPlan::build(const StoreBatch& batch, std::size_t first, bool audit_log) {
    steps_.clear();
    values_.clear();
    unsequenced_.reset();
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
            unsequenced_ = i;
            return;
        }
        raise_counters(counters_, e);
        add_event(e, i, position, audit_log);
    }
    add_batch_steps(batch.last_lsn);
}

void RowPlan::add_event(const StoreEvent& e, std::size_t index, std::int64_t position,
                        bool audit_log) {
    const book::Event& ev = e.event;
    const std::int64_t shard = e.shard;
    const std::int64_t finish_pos = 2 * position;  // the taker of a trade finishes after its maker
    switch (ev.type) {
        case book::EventType::Accepted:
            add(RowOp::InsertOrder, index, "", order_row(e));
            break;
        case book::EventType::Trade: {
            // The maker first: when one trade fills both sides, the matcher finishes it first.
            const std::int64_t maker[] = {shard,           i64(ev.maker_order_id),
                                          ev.maker_leaves, ev.quantity,
                                          i64(e.lsn),      finish_pos};
            add(RowOp::TradeOrder, index, "trade with maker", maker);
            const std::int64_t taker[] = {shard,       i64(ev.order_id), ev.leaves,
                                          ev.quantity, i64(e.lsn),       finish_pos + 1};
            add(RowOp::TradeOrder, index, "trade with taker", taker);
            add(RowOp::InsertTrade, index, "", trade_row(e));
            break;
        }
        case book::EventType::Cancelled: {
            const std::int64_t cancel[] = {shard, i64(ev.order_id), i64(e.lsn), finish_pos};
            add(RowOp::CancelOrder, index, "cancel of", cancel);
            break;
        }
        case book::EventType::Replaced: {
            // The statement compares price and quantity with the stored row: the event alone
            // cannot tell whether the order kept its time priority.
            const std::int64_t replace[] = {shard,     i64(ev.order_id), ev.price,
                                            ev.leaves, ev.quantity,      i64(ev.seq)};
            add(RowOp::ReplaceOrder, index, "replace of", replace);
            break;
        }
        case book::EventType::Rejected:
        case book::EventType::MassCancelled:
            break;
    }
    if (audit_log) {
        add(RowOp::InsertAudit, index, "", audit_row(e, position));
    }
}

void RowPlan::add_batch_steps(StoreLsn last_lsn) {
    for (std::size_t shard = 0; shard < counters_.size(); ++shard) {
        const ShardCounters& c = counters_[shard];
        if (c.touched) {
            const std::int64_t counters[] = {i64(shard), i64(c.next_seq), i64(c.next_order_id),
                                             i64(c.next_trade_id)};
            add(RowOp::RaiseCounters, kBatchStep, "", counters);
        }
    }
    const std::int64_t lsn[] = {i64(last_lsn)};
    add(RowOp::SetStoreLsn, kBatchStep, "", lsn);
}

void RowPlan::add(RowOp op, std::size_t event, const char* what,
                  std::span<const std::int64_t> values) {
    steps_.push_back(RowStep{op, event, what, static_cast<std::uint32_t>(values_.size()),
                             static_cast<std::uint32_t>(values.size())});
    values_.insert(values_.end(), values.begin(), values.end());
}

std::string step_context(const std::string& database, const StoreBatch& batch, std::size_t event) {
    if (event == kBatchStep) {
        return database + ": apply batch " + std::to_string(batch.first_lsn) + ".." +
               std::to_string(batch.last_lsn) + ": ";
    }
    const StoreEvent& e = batch.events[event];
    return database + ": LSN " + std::to_string(e.lsn) + " shard " + std::to_string(e.shard) + ": ";
}

std::string missing_row_message(const RowPlan& plan, const RowStep& step) {
    if (step.op == RowOp::SetStoreLsn) {
        return "set store_lsn: the meta row is missing";
    }
    const auto order_id = static_cast<std::uint64_t>(plan.values(step)[1]);
    return std::string(step.what) + " order " + std::to_string(order_id) +
           ", which the store does not hold open";
}

}  // namespace exchanged::store
