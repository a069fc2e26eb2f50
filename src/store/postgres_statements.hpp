// Every statement PostgresStore runs more than once, prepared on each (re)connection after
// migrate(). Parameters are all int8 ($1 ...); pg_statement(s).name is the server-side name. A
// batch's rows go by COPY (postgres_copy.hpp); the one-row inserts here are for the strict retry
// of a batch that failed, which names the failing event.
#pragma once

#include <cstdint>

namespace exchanged::store {

class PgConnection;

enum class PgStatement : std::uint8_t {
    GetStoreLsn,     // -> store_lsn
    SetStoreLsn,     // $1 lsn
    RaiseCounters,   // $1 shard $2 next_seq $3 next_order_id $4 next_trade_id
    InsertOrder,     // $1 .. $16 as the orders columns (row_plan.hpp: NULLs as 0 and -1)
    AppendChange,    // $1 .. $10 as the order_changes columns
    InsertTrade,     // $1 .. $14 as the trades columns
    InsertAudit,     // $1 .. $19 as the audit_log columns
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
};

const PgStatementText& pg_statement(PgStatement statement);

// Prepares every statement on the connection's current session.
void prepare_pg_statements(PgConnection& connection);

}  // namespace exchanged::store
