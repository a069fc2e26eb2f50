#include "store/sqlite_statements.hpp"

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
      insert_order(db,
                   "INSERT INTO orders (shard, order_id, account, instrument, client_order_id, "
                   "side, price, quantity, leaves, flags, priority, accepted_lsn) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
      trade_order(db,
                  "UPDATE orders SET leaves = ?3, executed = executed + ?4, "
                  "state = CASE WHEN ?3 = 0 THEN 1 ELSE 0 END, "
                  "finished_lsn = CASE WHEN ?3 = 0 THEN ?5 END, "
                  "finished_pos = CASE WHEN ?3 = 0 THEN ?6 END "
                  "WHERE shard = ?1 AND order_id = ?2 AND state = 0"),
      cancel_order(db,
                   "UPDATE orders SET leaves = 0, state = 2, finished_lsn = ?3, finished_pos = ?4 "
                   "WHERE shard = ?1 AND order_id = ?2 AND state = 0"),
      // The matcher keeps time priority only for a same-price replace that does not add
      // quantity; the right-hand sides read the row as it was before this update.
      replace_order(db,
                    "UPDATE orders SET price = ?3, leaves = ?4, "
                    "priority = CASE WHEN price = ?3 AND ?5 <= leaves THEN priority ELSE ?6 END "
                    "WHERE shard = ?1 AND order_id = ?2 AND state = 0"),
      insert_trade(db,
                   "INSERT INTO trades (shard, trade_id, instrument, price, quantity, "
                   "taker_order_id, taker_account, taker_side, maker_order_id, maker_account, "
                   "maker_side, lsn, seq, timestamp_ns) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
      insert_audit(db,
                   "INSERT INTO audit_log (lsn, position, shard, seq, timestamp_ns, type, reason, "
                   "side, account, instrument, order_id, client_order_id, price, quantity, "
                   "leaves, trade_id, maker_order_id, maker_account, maker_leaves) VALUES (?1, "
                   "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                   "?19)"),
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
