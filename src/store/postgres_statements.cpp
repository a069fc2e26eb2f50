#include "store/postgres_statements.hpp"

#include <array>
#include <string>

#include "store/postgres_connection.hpp"

namespace exchanged::store {
namespace {

// In PgStatement's order.
constexpr std::array<PgStatementText, static_cast<std::size_t>(PgStatement::Count)> kStatements = {{
    {"get_store_lsn", "SELECT store_lsn FROM meta WHERE id = 0", 0},
    {"set_store_lsn", "UPDATE meta SET store_lsn = $1 WHERE id = 0", 1},
    {"raise_counters",
     "INSERT INTO shard_meta (shard, next_seq, next_order_id, next_trade_id) "
     "VALUES ($1, $2, $3, $4) ON CONFLICT (shard) DO UPDATE SET "
     "next_seq = greatest(shard_meta.next_seq, excluded.next_seq), "
     "next_order_id = greatest(shard_meta.next_order_id, excluded.next_order_id), "
     "next_trade_id = greatest(shard_meta.next_trade_id, excluded.next_trade_id)",
     4},
    {"insert_order",
     "INSERT INTO orders (shard, order_id, account, instrument, client_order_id, side, price, "
     "quantity, leaves, executed, state, flags, priority, accepted_lsn, finished_lsn, "
     "finished_pos) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
     "nullif($15, 0), nullif($16, -1))",
     16},
    {"append_change",
     "INSERT INTO order_changes (lsn, pos, shard, order_id, kind, state, price, leaves, "
     "executed, priority) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
     10},
    {"insert_trade",
     "INSERT INTO trades (shard, trade_id, instrument, price, quantity, taker_order_id, "
     "taker_account, taker_side, maker_order_id, maker_account, maker_side, lsn, seq, "
     "timestamp_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
     14},
    {"insert_audit",
     "INSERT INTO audit_log (lsn, position, shard, seq, timestamp_ns, type, reason, side, "
     "account, instrument, order_id, client_order_id, price, quantity, leaves, trade_id, "
     "maker_order_id, maker_account, maker_leaves) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
     "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
     19},
    {"max_shard", "SELECT max(shard) FROM shard_meta", 0},
    {"shard_counters",
     "SELECT next_seq, next_order_id, next_trade_id FROM shard_meta WHERE shard = $1", 1},
    {"open_orders",
     "SELECT order_id, client_order_id, account, instrument, side, price, leaves, flags, "
     "priority FROM orders WHERE shard = $1 AND state = 0",
     1},
    {"finished_orders",
     "SELECT account, client_order_id, order_id FROM orders "
     "WHERE shard = $1 AND finished_lsn IS NOT NULL "
     "ORDER BY finished_lsn DESC, finished_pos DESC LIMIT $2",
     2},
}};

}  // namespace

const PgStatementText& pg_statement(PgStatement statement) {
    return kStatements[static_cast<std::size_t>(statement)];
}

void prepare_pg_statements(PgConnection& connection) {
    for (const PgStatementText& s : kStatements) {
        if (s.name == nullptr) {
            throw StoreError("internal: the PostgreSQL statement table misses an entry");
        }
        connection.prepare(s.name, s.sql, s.params, std::string("prepare \"") + s.sql + "\"");
    }
}

}  // namespace exchanged::store
