// SqliteStore::apply(): one batch of events into rows, in one transaction. What each event does to
// the orders and trades tables is written down in docs/store.md.
#include <sqlite3.h>

#include <algorithm>
#include <string>

#include "store/batch_plan.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_statements.hpp"
#include "store/sqlite_store.hpp"

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

}  // namespace

void SqliteStore::apply(const StoreBatch& batch) {
    SqliteStatements& s = statements();
    SqliteTransaction transaction(s.begin_write, s.commit, s.rollback);
    const BatchPlan plan = plan_batch(batch, store_lsn());
    if (plan.skip) {
        return;  // the transaction rolls back: nothing was written
    }
    for (ShardCounters& c : counters_) {
        c = ShardCounters{};
    }
    std::int64_t position = 0;
    StoreLsn lsn = 0;
    for (std::size_t i = plan.first; i < batch.events.size(); ++i) {
        const StoreEvent& e = batch.events[i];
        position = e.lsn == lsn ? position + 1 : 0;
        lsn = e.lsn;
        apply_event(e, position);
    }
    for (std::size_t shard = 0; shard < counters_.size(); ++shard) {
        const ShardCounters& c = counters_[shard];
        if (c.touched) {
            s.raise_counters.bind(1, i64(shard))
                .bind(2, c.next_seq)
                .bind(3, c.next_order_id)
                .bind(4, c.next_trade_id)
                .run();
        }
    }
    s.set_store_lsn.bind(1, batch.last_lsn).run();
    transaction.commit();
}

void SqliteStore::apply_event(const StoreEvent& e, std::int64_t position) {
    SqliteStatements& s = *statements_;
    const book::Event& ev = e.event;
    const auto fail = [&](const std::string& what) {
        throw StoreError(db_->path().string() + ": LSN " + std::to_string(e.lsn) + " shard " +
                         std::to_string(e.shard) + ": " + what);
    };
    if (ev.seq == 0) {
        fail("an event without a seq (a command refused before it was logged)");
    }
    raise_counters(counters_, e);

    const auto expect_one_row = [&](const char* what, OrderId order_id) {
        if (sqlite3_changes(db_->handle()) != 1) {
            fail(std::string(what) + " order " + std::to_string(order_id) +
                 ", which the store does not hold open");
        }
    };
    const std::int64_t shard = e.shard;
    const std::int64_t finish_pos = 2 * position;  // the taker of a trade finishes after its maker

    switch (ev.type) {
        case book::EventType::Accepted:
            s.insert_order.bind(1, shard)
                .bind(2, ev.order_id)
                .bind(3, std::int64_t{ev.account})
                .bind(4, std::int64_t{ev.instrument})
                .bind(5, ev.client_order_id)
                .bind(6, side_of(ev.side))
                .bind(7, ev.price)
                .bind(8, ev.quantity)
                .bind(9, ev.leaves)
                .bind(10, std::int64_t{e.order_flags})
                .bind(11, ev.seq)
                .bind(12, e.lsn)
                .run();
            break;
        case book::EventType::Trade: {
            // The maker first: when one trade fills both sides, the matcher finishes it first.
            const auto traded = [&](const char* what, OrderId order_id, Quantity leaves,
                                    std::int64_t finish_order) {
                s.trade_order.bind(1, shard)
                    .bind(2, order_id)
                    .bind(3, leaves)
                    .bind(4, ev.quantity)
                    .bind(5, e.lsn)
                    .bind(6, finish_order)
                    .run();
                expect_one_row(what, order_id);
            };
            traded("trade with maker", ev.maker_order_id, ev.maker_leaves, finish_pos);
            traded("trade with taker", ev.order_id, ev.leaves, finish_pos + 1);
            s.insert_trade.bind(1, shard)
                .bind(2, ev.trade_id)
                .bind(3, std::int64_t{ev.instrument})
                .bind(4, ev.price)
                .bind(5, ev.quantity)
                .bind(6, ev.order_id)
                .bind(7, std::int64_t{ev.account})
                .bind(8, side_of(ev.side))
                .bind(9, ev.maker_order_id)
                .bind(10, std::int64_t{ev.maker_account})
                .bind(11, side_of(opposite(ev.side)))
                .bind(12, e.lsn)
                .bind(13, ev.seq)
                .bind(14, ev.timestamp_ns)
                .run();
            break;
        }
        case book::EventType::Cancelled:
            s.cancel_order.bind(1, shard)
                .bind(2, ev.order_id)
                .bind(3, e.lsn)
                .bind(4, finish_pos)
                .run();
            expect_one_row("cancel of", ev.order_id);
            break;
        case book::EventType::Replaced: {
            // The matcher keeps time priority only for a same-price replace that does not add
            // quantity; the event alone cannot tell, the order's row before it can.
            s.find_open_order.bind(1, shard).bind(2, ev.order_id);
            if (!s.find_open_order.step()) {
                s.find_open_order.reset();
                fail("replace of order " + std::to_string(ev.order_id) +
                     ", which the store does not hold open");
            }
            const Price old_price = s.find_open_order.column_int(0);
            const Quantity old_leaves = s.find_open_order.column_int(1);
            const std::int64_t old_priority = s.find_open_order.column_int(2);
            s.find_open_order.reset();
            const bool keeps_priority = ev.price == old_price && ev.quantity <= old_leaves;
            s.replace_order.bind(1, shard)
                .bind(2, ev.order_id)
                .bind(3, ev.price)
                .bind(4, ev.leaves)
                .bind(5, keeps_priority ? old_priority : i64(ev.seq))
                .run();
            break;
        }
        case book::EventType::Rejected:
        case book::EventType::MassCancelled:
            break;
    }

    if (options_.audit_log) {
        s.insert_audit.bind(1, e.lsn)
            .bind(2, position)
            .bind(3, shard)
            .bind(4, ev.seq)
            .bind(5, ev.timestamp_ns)
            .bind(6, static_cast<std::int64_t>(ev.type))
            .bind(7, reason_of(ev))
            .bind(8, side_of(ev.side))
            .bind(9, std::int64_t{ev.account})
            .bind(10, std::int64_t{ev.instrument})
            .bind(11, ev.order_id)
            .bind(12, ev.client_order_id)
            .bind(13, ev.price)
            .bind(14, ev.quantity)
            .bind(15, ev.leaves)
            .bind(16, ev.trade_id)
            .bind(17, ev.maker_order_id)
            .bind(18, std::int64_t{ev.maker_account})
            .bind(19, ev.maker_leaves)
            .run();
    }
}

}  // namespace exchanged::store
