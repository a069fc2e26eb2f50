// Reading every order and trade row back, for the verification tools. Statements are prepared per
// call: these run once per verification, never on the flush path.
#include "store/sqlite_db.hpp"
#include "store/sqlite_statements.hpp"
#include "store/sqlite_store.hpp"

namespace exchanged::store {

void SqliteStore::read_orders(const std::function<void(const StoredOrder&)>& visit) {
    fold();
    SqliteStatements& s = statements();
    SqliteTransaction transaction(s.begin_read, s.commit, s.rollback);
    SqliteStatement rows(*db_,
                         "SELECT shard, order_id, account, instrument, client_order_id, side, "
                         "price, quantity, leaves, executed, state, flags, priority, accepted_lsn, "
                         "coalesce(finished_lsn, 0) FROM orders ORDER BY shard, order_id");
    while (rows.step()) {
        StoredOrder o;
        o.shard = static_cast<ShardId>(rows.column_int(0));
        o.order_id = rows.column_u64(1);
        o.account = static_cast<AccountId>(rows.column_int(2));
        o.instrument = static_cast<InstrumentId>(rows.column_int(3));
        o.client_order_id = rows.column_u64(4);
        o.side = static_cast<Side>(rows.column_int(5));
        o.price = rows.column_int(6);
        o.quantity = rows.column_int(7);
        o.leaves = rows.column_int(8);
        o.executed = rows.column_int(9);
        o.state = static_cast<StoredOrderState>(rows.column_int(10));
        o.flags = static_cast<std::uint8_t>(rows.column_int(11));
        o.priority = rows.column_u64(12);
        o.accepted_lsn = rows.column_u64(13);
        o.finished_lsn = rows.column_u64(14);
        visit(o);
    }
    transaction.commit();
}

void SqliteStore::read_trades(const std::function<void(const StoredTrade&)>& visit) {
    SqliteStatements& s = statements();
    SqliteTransaction transaction(s.begin_read, s.commit, s.rollback);
    SqliteStatement rows(*db_,
                         "SELECT shard, trade_id, instrument, price, quantity, taker_order_id, "
                         "taker_account, taker_side, maker_order_id, maker_account, maker_side, "
                         "lsn, seq, timestamp_ns FROM trades ORDER BY shard, trade_id");
    while (rows.step()) {
        StoredTrade t;
        t.shard = static_cast<ShardId>(rows.column_int(0));
        t.trade_id = rows.column_u64(1);
        t.instrument = static_cast<InstrumentId>(rows.column_int(2));
        t.price = rows.column_int(3);
        t.quantity = rows.column_int(4);
        t.taker_order_id = rows.column_u64(5);
        t.taker_account = static_cast<AccountId>(rows.column_int(6));
        t.taker_side = static_cast<Side>(rows.column_int(7));
        t.maker_order_id = rows.column_u64(8);
        t.maker_account = static_cast<AccountId>(rows.column_int(9));
        t.maker_side = static_cast<Side>(rows.column_int(10));
        t.lsn = rows.column_u64(11);
        t.seq = rows.column_u64(12);
        t.timestamp_ns = rows.column_int(13);
        visit(t);
    }
    transaction.commit();
}

std::string SqliteStore::describe() const {
    return "sqlite:" + db_->path().string();
}

}  // namespace exchanged::store
