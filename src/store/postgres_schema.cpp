#include "store/postgres_schema.hpp"

#include <array>

namespace exchanged::store {
namespace {

// Version 1. Ids are per shard (every shard's matcher counts its own), so keys start with the
// shard. Unsigned 64-bit ids are stored as the same bits in the signed BIGINT, as in SQLite, so
// both backends hold and return the same values.
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE meta (
    id        BIGINT PRIMARY KEY CHECK (id = 0),
    store_lsn BIGINT NOT NULL
);
INSERT INTO meta (id, store_lsn) VALUES (0, 0);

CREATE TABLE shard_meta (
    shard         BIGINT PRIMARY KEY,
    next_seq      BIGINT NOT NULL,
    next_order_id BIGINT NOT NULL,
    next_trade_id BIGINT NOT NULL
);

-- state: 0 open, 1 filled, 2 cancelled. priority orders a price level's FIFO (the seq of the
-- command that last put the order at its level's tail). finished_lsn/finished_pos: when the order
-- left the book, for the client order id window (pos: 2 * event index in its command, +1 for the
-- taker of a trade that also finished its maker).
CREATE TABLE orders (
    shard           BIGINT NOT NULL,
    order_id        BIGINT NOT NULL,
    account         BIGINT NOT NULL,
    instrument      BIGINT NOT NULL,
    client_order_id BIGINT NOT NULL,
    side            BIGINT NOT NULL,
    price           BIGINT NOT NULL,
    quantity        BIGINT NOT NULL,
    leaves          BIGINT NOT NULL,
    executed        BIGINT NOT NULL DEFAULT 0,
    state           BIGINT NOT NULL DEFAULT 0,
    flags           BIGINT NOT NULL,
    priority        BIGINT NOT NULL,
    accepted_lsn    BIGINT NOT NULL,
    finished_lsn    BIGINT,
    finished_pos    BIGINT,
    PRIMARY KEY (shard, order_id)
);
-- order_id is in the open-orders index, unlike SQLite's, because PostgreSQL's planner would
-- otherwise pick it over the primary key for the per-order updates and scan every open order of
-- the shard for each one.
CREATE INDEX orders_open ON orders (shard, order_id) WHERE state = 0;
CREATE INDEX orders_finished ON orders (shard, finished_lsn, finished_pos)
    WHERE finished_lsn IS NOT NULL;

CREATE TABLE trades (
    shard          BIGINT NOT NULL,
    trade_id       BIGINT NOT NULL,
    instrument     BIGINT NOT NULL,
    price          BIGINT NOT NULL,
    quantity       BIGINT NOT NULL,
    taker_order_id BIGINT NOT NULL,
    taker_account  BIGINT NOT NULL,
    taker_side     BIGINT NOT NULL,
    maker_order_id BIGINT NOT NULL,
    maker_account  BIGINT NOT NULL,
    maker_side     BIGINT NOT NULL,
    lsn            BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    timestamp_ns   BIGINT NOT NULL,
    PRIMARY KEY (shard, trade_id)
);

-- Every event, when the store is opened with the audit log on. position: index in its command.
CREATE TABLE audit_log (
    lsn             BIGINT NOT NULL,
    position        BIGINT NOT NULL,
    shard           BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    timestamp_ns    BIGINT NOT NULL,
    type            BIGINT NOT NULL,
    reason          BIGINT NOT NULL,
    side            BIGINT NOT NULL,
    account         BIGINT NOT NULL,
    instrument      BIGINT NOT NULL,
    order_id        BIGINT NOT NULL,
    client_order_id BIGINT NOT NULL,
    price           BIGINT NOT NULL,
    quantity        BIGINT NOT NULL,
    leaves          BIGINT NOT NULL,
    trade_id        BIGINT NOT NULL,
    maker_order_id  BIGINT NOT NULL,
    maker_account   BIGINT NOT NULL,
    maker_leaves    BIGINT NOT NULL,
    PRIMARY KEY (lsn, position)
);
)sql";

// Version 2, as in SQLite (sqlite_schema.cpp): changes of orders are appended, and folded into
// orders before anything reads them.
constexpr std::string_view kVersion2 = R"sql(
CREATE TABLE order_changes (
    lsn      BIGINT NOT NULL,
    pos      BIGINT NOT NULL,
    shard    BIGINT NOT NULL,
    order_id BIGINT NOT NULL,
    kind     BIGINT NOT NULL,
    state    BIGINT NOT NULL,
    price    BIGINT NOT NULL,
    leaves   BIGINT NOT NULL,
    executed BIGINT NOT NULL,
    priority BIGINT NOT NULL,
    PRIMARY KEY (lsn, pos)
);
)sql";

constexpr std::array<std::string_view, 2> kMigrations = {kVersion1, kVersion2};

}  // namespace

std::span<const std::string_view> postgres_migrations() {
    return kMigrations;
}

}  // namespace exchanged::store
