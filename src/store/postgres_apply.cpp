// PostgresStore::apply(): one batch of events into rows, in one transaction, with the same rows
// and the same refusals as SqliteStore::apply() (docs/store.md). Round trips per batch: BEGIN with
// the meta row locked, every statement in one pipeline, COMMIT. The COMMIT is not pipelined: an
// update that found no open order is only seen in its result, and must keep the batch out.
//
// Most rows are inserts, so a batch first goes the bulk way: all its new orders in one statement
// ahead of the per-order updates, its trades and audit rows in one statement each after them. That
// is only the same as applying the events in order when no update names an order accepted later
// in the batch, which is checked first. A bulk batch that fails is rolled back and applied again
// strictly in event order, one statement per row, so that the failure reported is the one of the
// first failing event, exactly as SQLite reports it.
#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <string>

#include "store/batch_plan.hpp"
#include "store/postgres_connection.hpp"
#include "store/postgres_pipeline.hpp"
#include "store/postgres_statements.hpp"
#include "store/postgres_store.hpp"

namespace exchanged::store {
namespace {

constexpr std::size_t kNoEvent = std::numeric_limits<std::size_t>::max();

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

// The rows' columns in the order of the insert statements.
std::array<std::int64_t, 12> order_row(const StoreEvent& e) {
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

std::array<std::int64_t, 14> trade_row(const StoreEvent& e) {
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

std::array<std::int64_t, 19> audit_row(const StoreEvent& e, std::int64_t position) {
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

std::size_t PostgresStore::OrderKeyHash::operator()(const OrderKey& key) const {
    return std::hash<std::uint64_t>{}(key.order_id * 0x9e3779b97f4a7c15ULL ^ key.shard);
}

void PostgresStore::apply(const StoreBatch& batch) {
    ready();
    const std::string range =
        "batch " + std::to_string(batch.first_lsn) + ".." + std::to_string(batch.last_lsn);
    if (!apply_once(batch, range, true)) {
        apply_once(batch, range, false);
    }
}

bool PostgresStore::bulk_is_in_order(const StoreBatch& batch, std::size_t first) {
    accepted_at_.clear();
    for (std::size_t i = first; i < batch.events.size(); ++i) {
        const StoreEvent& e = batch.events[i];
        if (e.event.seq == 0) {
            return false;  // refused at this event: the strict way says so in order
        }
        if (e.event.type == book::EventType::Accepted) {
            accepted_at_.try_emplace(OrderKey{e.shard, e.event.order_id}, i);
        }
    }
    const auto accepted_later = [&](ShardId shard, OrderId order_id, std::size_t i) {
        const auto found = accepted_at_.find(OrderKey{shard, order_id});
        return found != accepted_at_.end() && found->second > i;
    };
    for (std::size_t i = first; i < batch.events.size(); ++i) {
        const StoreEvent& e = batch.events[i];
        switch (e.event.type) {
            case book::EventType::Trade:
                if (accepted_later(e.shard, e.event.maker_order_id, i) ||
                    accepted_later(e.shard, e.event.order_id, i)) {
                    return false;
                }
                break;
            case book::EventType::Cancelled:
            case book::EventType::Replaced:
                if (accepted_later(e.shard, e.event.order_id, i)) {
                    return false;
                }
                break;
            case book::EventType::Accepted:
            case book::EventType::Rejected:
            case book::EventType::MassCancelled:
                break;
        }
    }
    return true;
}

bool PostgresStore::apply_once(const StoreBatch& batch, const std::string& range, bool bulk) {
    PgConnection& c = *connection_;
    // The row lock orders concurrent writers: a second one waits, then sees the new store_lsn.
    PgTransaction transaction(c, "BEGIN; SELECT store_lsn FROM meta WHERE id = 0 FOR UPDATE",
                              "apply " + range);
    if (transaction.begin_result().rows() != 1) {
        throw StoreError(name_ + ": apply " + range + ": the meta row is missing");
    }
    const BatchPlan plan = plan_batch(batch, transaction.begin_result().u64(0, 0));
    if (plan.skip) {
        return true;  // the transaction rolls back: nothing was written
    }
    if (bulk && !bulk_is_in_order(batch, plan.first)) {
        return false;
    }
    for (ShardCounters& counters : counters_) {
        counters = ShardCounters{};
    }
    sent_.clear();
    orders_.clear();
    trades_.clear();
    audits_.clear();

    // Strict only: the event refused before any statement for it, after the events before it.
    std::optional<std::size_t> unsequenced;
    std::size_t end = batch.events.size();
    std::vector<std::int64_t>& positions = positions_;
    positions.assign(batch.events.size(), 0);
    {
        std::int64_t position = 0;
        StoreLsn lsn = 0;
        for (std::size_t i = plan.first; i < batch.events.size(); ++i) {
            const StoreEvent& e = batch.events[i];
            position = e.lsn == lsn ? position + 1 : 0;
            lsn = e.lsn;
            positions[i] = position;
            if (e.event.seq == 0) {
                unsequenced = i;
                end = i;
                break;
            }
            raise_counters(counters_, e);
        }
    }

    std::optional<PgPipeline::Failure> failure;
    {
        PgPipeline pipeline(c);
        const auto send = [&](PgStatement statement, const PgParams& params, std::size_t event,
                              const char* what, std::uint64_t id, std::int64_t expected_rows) {
            pipeline.send(pg_statement(statement).name, params, sent_.size(), expected_rows);
            sent_.push_back(Sent{event, statement, what, id});
        };
        const auto send_rows = [&](PgStatement statement, PgArrayColumns& rows) {
            if (rows.rows() != 0) {
                send(statement, PgParams(rows.finish()), kNoEvent, "", 0,
                     static_cast<std::int64_t>(rows.rows()));
            }
        };

        if (bulk) {
            for (std::size_t i = plan.first; i < end; ++i) {
                const StoreEvent& e = batch.events[i];
                if (e.event.type == book::EventType::Accepted) {
                    orders_.add_row(order_row(e));
                } else if (e.event.type == book::EventType::Trade) {
                    trades_.add_row(trade_row(e));
                }
                if (options_.audit_log) {
                    audits_.add_row(audit_row(e, positions[i]));
                }
            }
            send_rows(PgStatement::InsertOrders, orders_);
        }

        for (std::size_t i = plan.first; i < end; ++i) {
            const StoreEvent& e = batch.events[i];
            const book::Event& ev = e.event;
            const std::int64_t shard = e.shard;
            const std::int64_t finish_pos = 2 * positions[i];  // a trade's taker finishes last
            switch (ev.type) {
                case book::EventType::Accepted:
                    if (!bulk) {
                        send(PgStatement::InsertOrder, PgParams(order_row(e)), i, "", 0, -1);
                    }
                    break;
                case book::EventType::Trade: {
                    // The maker first: when one trade fills both sides, the matcher finishes it
                    // first.
                    const std::int64_t maker[] = {shard,           i64(ev.maker_order_id),
                                                  ev.maker_leaves, ev.quantity,
                                                  i64(e.lsn),      finish_pos};
                    send(PgStatement::TradeOrder, PgParams(maker), i, "trade with maker",
                         ev.maker_order_id, 1);
                    const std::int64_t taker[] = {shard,       i64(ev.order_id), ev.leaves,
                                                  ev.quantity, i64(e.lsn),       finish_pos + 1};
                    send(PgStatement::TradeOrder, PgParams(taker), i, "trade with taker",
                         ev.order_id, 1);
                    if (!bulk) {
                        send(PgStatement::InsertTrade, PgParams(trade_row(e)), i, "", 0, -1);
                    }
                    break;
                }
                case book::EventType::Cancelled: {
                    const std::int64_t p[] = {shard, i64(ev.order_id), i64(e.lsn), finish_pos};
                    send(PgStatement::CancelOrder, PgParams(p), i, "cancel of", ev.order_id, 1);
                    break;
                }
                case book::EventType::Replaced: {
                    const std::int64_t p[] = {shard,     i64(ev.order_id), ev.price,
                                              ev.leaves, ev.quantity,      i64(ev.seq)};
                    send(PgStatement::ReplaceOrder, PgParams(p), i, "replace of", ev.order_id, 1);
                    break;
                }
                case book::EventType::Rejected:
                case book::EventType::MassCancelled:
                    break;
            }
            if (!bulk && options_.audit_log) {
                send(PgStatement::InsertAudit, PgParams(audit_row(e, positions[i])), i, "", 0, -1);
            }
        }

        if (!unsequenced) {
            if (bulk) {
                send_rows(PgStatement::InsertTrades, trades_);
                send_rows(PgStatement::InsertAudits, audits_);
            }
            for (std::size_t shard = 0; shard < counters_.size(); ++shard) {
                const ShardCounters& counters = counters_[shard];
                if (counters.touched) {
                    const std::int64_t p[] = {i64(shard), i64(counters.next_seq),
                                              i64(counters.next_order_id),
                                              i64(counters.next_trade_id)};
                    send(PgStatement::RaiseCounters, PgParams(p), kNoEvent, "", 0, -1);
                }
            }
            const std::int64_t p[] = {i64(batch.last_lsn)};
            send(PgStatement::SetStoreLsn, PgParams(p), kNoEvent, "", 0, 1);
        }
        failure = pipeline.finish();
    }

    if (failure && bulk) {
        return false;  // rolled back; the strict way finds and reports the failing event
    }
    const auto event_prefix = [&](std::size_t index) {
        const StoreEvent& e = batch.events[index];
        return name_ + ": LSN " + std::to_string(e.lsn) + " shard " + std::to_string(e.shard) +
               ": ";
    };
    if (failure) {
        const Sent& sent = sent_[failure->tag];
        const std::string prefix =
            sent.event == kNoEvent ? name_ + ": apply " + range + ": " : event_prefix(sent.event);
        if (failure->row_count) {
            if (sent.event == kNoEvent) {
                throw StoreError(prefix + "set store_lsn: the meta row is missing");
            }
            throw StoreError(prefix + sent.what + " order " + std::to_string(sent.id) +
                             ", which the store does not hold open");
        }
        throw StoreError(prefix + "execute " + pg_statement(sent.statement).name + ": " +
                         failure->message);
    }
    if (unsequenced) {
        throw StoreError(event_prefix(*unsequenced) +
                         "an event without a seq (a command refused before it was logged)");
    }
    transaction.commit();
    return true;
}

}  // namespace exchanged::store
