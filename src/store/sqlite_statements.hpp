// Every statement SqliteStore runs, prepared once against the migrated schema.
#pragma once

#include "store/sqlite_bulk_insert.hpp"
#include "store/sqlite_db.hpp"

namespace exchanged::store {

struct SqliteStatements {
    explicit SqliteStatements(SqliteDb& db);

    SqliteStatement begin_write;  // BEGIN IMMEDIATE
    SqliteStatement begin_read;   // BEGIN
    SqliteStatement commit;
    SqliteStatement rollback;

    // set_store_lsn down to insert_audits run a batch's row steps: they take the values of
    // their RowOp (row_plan.hpp) in order.
    SqliteStatement get_store_lsn;
    SqliteStatement set_store_lsn;   // ?1 lsn
    SqliteStatement raise_counters;  // ?1 shard ?2 next_seq ?3 next_order_id ?4 next_trade_id
    SqliteBulkInsert insert_orders;
    SqliteBulkInsert append_changes;
    SqliteBulkInsert insert_trades;
    SqliteBulkInsert insert_audits;

    SqliteStatement fold_changes;  // order_fold.hpp
    SqliteStatement clear_changes;
    SqliteStatement open_order_columns;  // -> shard, order_id, price, leaves, executed, priority

    SqliteStatement max_shard;        // -> highest shard in shard_meta, or NULL
    SqliteStatement shard_counters;   // ?1 shard -> next_seq, next_order_id, next_trade_id
    SqliteStatement open_orders;      // ?1 shard
    SqliteStatement finished_orders;  // ?1 shard ?2 limit, newest first
};

}  // namespace exchanged::store
