#include "store/sqlite_statements.hpp"

#include <string>

#include "store/order_fold.hpp"
#include "store/row_plan.hpp"

namespace exchanged::store {

SqliteStatements::SqliteStatements(SqliteDb& db)
    : begin_write(db, "BEGIN IMMEDIATE"),
      begin_read(db, "BEGIN"),
      commit(db, "COMMIT"),
      rollback(db, "ROLLBACK"),
      get_store_lsn(db, "SELECT store_lsn FROM meta WHERE id = 0"),
      set_store_lsn(db, "UPDATE meta SET store_lsn = ?1 WHERE id = 0"),
      raise_counters(db,
                     "INSERT INTO shard_meta (shard, next_seq, next_order_id, next_trade_id) "
                     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (shard) DO UPDATE SET "
                     "next_seq = max(next_seq, excluded.next_seq), "
                     "next_order_id = max(next_order_id, excluded.next_order_id), "
                     "next_trade_id = max(next_trade_id, excluded.next_trade_id)"),
      insert_orders(
          db,
          "INSERT OR ROLLBACK INTO orders (shard, order_id, account, instrument, client_order_id, "
          "side, price, quantity, leaves, executed, state, flags, priority, "
          "accepted_lsn, finished_lsn, finished_pos)",
          "exchanged_batch_orders", kOrderColumns, kOrderNulls),
      append_changes(
          db,
          "INSERT OR ROLLBACK INTO order_changes (lsn, pos, shard, order_id, kind, state, price, "
          "leaves, executed, priority)",
          "exchanged_batch_changes", kChangeColumns),
      insert_trades(db,
                    "INSERT OR ROLLBACK INTO trades (shard, trade_id, instrument, price, quantity, "
                    "taker_order_id, taker_account, taker_side, maker_order_id, maker_account, "
                    "maker_side, lsn, seq, timestamp_ns)",
                    "exchanged_batch_trades", kTradeColumns),
      insert_audits(
          db,
          "INSERT OR ROLLBACK INTO audit_log (lsn, position, shard, seq, timestamp_ns, type, "
          "reason, side, account, instrument, order_id, client_order_id, price, "
          "quantity, leaves, trade_id, maker_order_id, maker_account, maker_leaves)",
          "exchanged_batch_audit", kAuditColumns),
      fold_changes(db, kFoldOrderChanges),
      clear_changes(db, kClearOrderChanges),
      open_order_columns(db, kOpenOrderColumns),
      max_shard(db, "SELECT max(shard) FROM shard_meta"),
      shard_counters(db,
                     "SELECT next_seq, next_order_id, next_trade_id FROM shard_meta "
                     "WHERE shard = ?1"),
      open_orders(db,
                  "SELECT order_id, client_order_id, account, instrument, side, price, leaves, "
                  "flags, priority FROM orders WHERE shard = ?1 AND state = 0"),
      finished_orders(db,
                      "SELECT account, client_order_id, order_id FROM orders "
                      "WHERE shard = ?1 AND finished_lsn IS NOT NULL "
                      "ORDER BY finished_lsn DESC, finished_pos DESC LIMIT ?2") {}

}  // namespace exchanged::store
