#include "store/sqlite_schema.hpp"

#include <array>

namespace exchanged::store {
namespace {

// Version 1. Ids are per shard (every shard's matcher counts its own), so keys start with the
// shard. Unsigned 64-bit ids are stored as the same bits in SQLite's signed INTEGER.
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE meta (
    id        INTEGER PRIMARY KEY CHECK (id = 0),
    store_lsn INTEGER NOT NULL
);
INSERT INTO meta (id, store_lsn) VALUES (0, 0);

CREATE TABLE shard_meta (
    shard         INTEGER PRIMARY KEY,
    next_seq      INTEGER NOT NULL,
    next_order_id INTEGER NOT NULL,
    next_trade_id INTEGER NOT NULL
);

-- state: 0 open, 1 filled, 2 cancelled. priority orders a price level's FIFO (the seq of the
-- command that last put the order at its level's tail). finished_lsn/finished_pos: when the order
-- left the book, for the client order id window (pos: 2 * event index in its command, +1 for the
-- taker of a trade that also finished its maker).
CREATE TABLE orders (
    shard           INTEGER NOT NULL,
    order_id        INTEGER NOT NULL,
    account         INTEGER NOT NULL,
    instrument      INTEGER NOT NULL,
    client_order_id INTEGER NOT NULL,
    side            INTEGER NOT NULL,
    price           INTEGER NOT NULL,
    quantity        INTEGER NOT NULL,
    leaves          INTEGER NOT NULL,
    executed        INTEGER NOT NULL DEFAULT 0,
    state           INTEGER NOT NULL DEFAULT 0,
    flags           INTEGER NOT NULL,
    priority        INTEGER NOT NULL,
    accepted_lsn    INTEGER NOT NULL,
    finished_lsn    INTEGER,
    finished_pos    INTEGER,
    PRIMARY KEY (shard, order_id)
) WITHOUT ROWID;
CREATE INDEX orders_open ON orders (shard) WHERE state = 0;
CREATE INDEX orders_finished ON orders (shard, finished_lsn, finished_pos)
    WHERE finished_lsn IS NOT NULL;

CREATE TABLE trades (
    shard          INTEGER NOT NULL,
    trade_id       INTEGER NOT NULL,
    instrument     INTEGER NOT NULL,
    price          INTEGER NOT NULL,
    quantity       INTEGER NOT NULL,
    taker_order_id INTEGER NOT NULL,
    taker_account  INTEGER NOT NULL,
    taker_side     INTEGER NOT NULL,
    maker_order_id INTEGER NOT NULL,
    maker_account  INTEGER NOT NULL,
    maker_side     INTEGER NOT NULL,
    lsn            INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    timestamp_ns   INTEGER NOT NULL,
    PRIMARY KEY (shard, trade_id)
) WITHOUT ROWID;

-- Every event, when the store is opened with the audit log on. position: index in its command.
CREATE TABLE audit_log (
    lsn             INTEGER NOT NULL,
    position        INTEGER NOT NULL,
    shard           INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    timestamp_ns    INTEGER NOT NULL,
    type            INTEGER NOT NULL,
    reason          INTEGER NOT NULL,
    side            INTEGER NOT NULL,
    account         INTEGER NOT NULL,
    instrument      INTEGER NOT NULL,
    order_id        INTEGER NOT NULL,
    client_order_id INTEGER NOT NULL,
    price           INTEGER NOT NULL,
    quantity        INTEGER NOT NULL,
    leaves          INTEGER NOT NULL,
    trade_id        INTEGER NOT NULL,
    maker_order_id  INTEGER NOT NULL,
    maker_account   INTEGER NOT NULL,
    maker_leaves    INTEGER NOT NULL,
    PRIMARY KEY (lsn, position)
) WITHOUT ROWID;
)sql";

// Version 2 (docs/store.md "Schema v2"): a batch no longer updates an order's row in place. It
// inserts the order once, as the batch leaves it, and appends every later batch's change of it
// here (one row per order and batch: its columns after the batch); fold_order_changes() moves
// them into orders before anything reads orders. The key is the change's place in the event
// stream, so rows arrive in key order: appends, no index on the hot path.
constexpr std::string_view kVersion2 = R"sql(
CREATE TABLE order_changes (
    lsn      INTEGER NOT NULL,
    pos      INTEGER NOT NULL,
    shard    INTEGER NOT NULL,
    order_id INTEGER NOT NULL,
    kind     INTEGER NOT NULL,
    state    INTEGER NOT NULL,
    price    INTEGER NOT NULL,
    leaves   INTEGER NOT NULL,
    executed INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    PRIMARY KEY (lsn, pos)
) WITHOUT ROWID;
)sql";

constexpr std::array<std::string_view, 2> kMigrations = {kVersion1, kVersion2};

}  // namespace

std::span<const std::string_view> sqlite_migrations() {
    return kMigrations;
}

}  // namespace exchanged::store
