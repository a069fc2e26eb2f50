// Folding order_changes into orders (docs/store.md "Schema v2"): every order takes the columns
// of its newest change, and the changes are deleted. The same SQL on both backends; each runs the
// two statements in one transaction that no batch can interleave with, so a fold is all or
// nothing and running it again changes nothing.
#pragma once

namespace exchanged::store {

inline constexpr const char* kFoldOrderChanges =
    "UPDATE orders SET price = c.price, leaves = c.leaves, executed = c.executed, "
    "state = c.state, priority = c.priority, "
    "finished_lsn = CASE WHEN c.state <> 0 THEN c.lsn END, "
    "finished_pos = CASE WHEN c.state <> 0 THEN c.pos END "
    "FROM (SELECT shard, order_id, lsn, pos, state, price, leaves, executed, priority, "
    "row_number() OVER (PARTITION BY shard, order_id ORDER BY lsn DESC, pos DESC) AS newest "
    "FROM order_changes) AS c "
    "WHERE c.newest = 1 AND orders.shard = c.shard AND orders.order_id = c.order_id";

inline constexpr const char* kClearOrderChanges = "DELETE FROM order_changes";

// What the writer keeps in memory (open_orders.hpp), read after a fold.
inline constexpr const char* kOpenOrderColumns =
    "SELECT shard, order_id, price, leaves, executed, priority FROM orders WHERE state = 0";

}  // namespace exchanged::store
