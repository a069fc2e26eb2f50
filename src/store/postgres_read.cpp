// Reading every order and trade row back, for the verification tools. Rows stream one at a time
// (libpq's single-row mode) so a large store is never held in memory; never on the flush path.
#include "store/postgres_connection.hpp"
#include "store/postgres_store.hpp"

namespace exchanged::store {

void PostgresStore::read_orders(const std::function<void(const StoredOrder&)>& visit) {
    fold();
    PgConnection& c = ready();
    c.stream(
        "SELECT shard, order_id, account, instrument, client_order_id, side, price, quantity, "
        "leaves, executed, state, flags, priority, accepted_lsn, coalesce(finished_lsn, 0) "
        "FROM orders ORDER BY shard, order_id",
        "read orders", [&](const PgResult& row) {
            StoredOrder o;
            o.shard = static_cast<ShardId>(row.i64(0, 0));
            o.order_id = row.u64(0, 1);
            o.account = static_cast<AccountId>(row.i64(0, 2));
            o.instrument = static_cast<InstrumentId>(row.i64(0, 3));
            o.client_order_id = row.u64(0, 4);
            o.side = static_cast<Side>(row.i64(0, 5));
            o.price = row.i64(0, 6);
            o.quantity = row.i64(0, 7);
            o.leaves = row.i64(0, 8);
            o.executed = row.i64(0, 9);
            o.state = static_cast<StoredOrderState>(row.i64(0, 10));
            o.flags = static_cast<std::uint8_t>(row.i64(0, 11));
            o.priority = row.u64(0, 12);
            o.accepted_lsn = row.u64(0, 13);
            o.finished_lsn = row.u64(0, 14);
            visit(o);
        });
}

void PostgresStore::read_trades(const std::function<void(const StoredTrade&)>& visit) {
    PgConnection& c = ready();
    c.stream(
        "SELECT shard, trade_id, instrument, price, quantity, taker_order_id, taker_account, "
        "taker_side, maker_order_id, maker_account, maker_side, lsn, seq, timestamp_ns "
        "FROM trades ORDER BY shard, trade_id",
        "read trades", [&](const PgResult& row) {
            StoredTrade t;
            t.shard = static_cast<ShardId>(row.i64(0, 0));
            t.trade_id = row.u64(0, 1);
            t.instrument = static_cast<InstrumentId>(row.i64(0, 2));
            t.price = row.i64(0, 3);
            t.quantity = row.i64(0, 4);
            t.taker_order_id = row.u64(0, 5);
            t.taker_account = static_cast<AccountId>(row.i64(0, 6));
            t.taker_side = static_cast<Side>(row.i64(0, 7));
            t.maker_order_id = row.u64(0, 8);
            t.maker_account = static_cast<AccountId>(row.i64(0, 9));
            t.maker_side = static_cast<Side>(row.i64(0, 10));
            t.lsn = row.u64(0, 11);
            t.seq = row.u64(0, 12);
            t.timestamp_ns = row.i64(0, 13);
            visit(t);
        });
}

std::string PostgresStore::describe() const {
    return name_;
}

}  // namespace exchanged::store
