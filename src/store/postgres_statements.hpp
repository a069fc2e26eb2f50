// Every statement PostgresStore runs more than once, prepared on each (re)connection after
// migrate(). Parameters are all int8 ($1 ...), or all int8[] for the bulk inserts;
// pg_statement(s).name is the server-side name.
#pragma once

#include <cstdint>

namespace exchanged::store {

class PgConnection;

enum class PgStatement : std::uint8_t {
    GetStoreLsn,     // -> store_lsn
    SetStoreLsn,     // $1 lsn
    RaiseCounters,   // $1 shard $2 next_seq $3 next_order_id $4 next_trade_id
    InsertOrder,     // $1 .. $16 as the orders columns (row_plan.hpp: NULLs as 0 and -1)
    InsertOrders,    // the same columns as int8[], one element per row
    AppendChange,    // $1 .. $10 as the order_changes columns
    AppendChanges,   // the same as int8[]
    InsertTrade,     // $1 .. $14 as the trades columns
    InsertTrades,    // the same as int8[]
    InsertAudit,     // $1 .. $19 as the audit_log columns
    InsertAudits,    // the same as int8[]
    MaxShard,        // -> highest shard in shard_meta, or NULL
    ShardCounters,   // $1 shard -> next_seq, next_order_id, next_trade_id
    OpenOrders,      // $1 shard
    FinishedOrders,  // $1 shard $2 limit, newest first
    Count,
};

struct PgStatementText {
    const char* name;
    const char* sql;
    int params;
    bool arrays;  // the parameters are int8[], not int8
};

const PgStatementText& pg_statement(PgStatement statement);

// Prepares every statement on the connection's current session.
void prepare_pg_statements(PgConnection& connection);

}  // namespace exchanged::store
