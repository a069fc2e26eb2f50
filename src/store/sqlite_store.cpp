#include "store/sqlite_store.hpp"

#include <algorithm>
#include <string>

#include "store/sqlite_db.hpp"
#include "store/sqlite_schema.hpp"
#include "store/sqlite_statements.hpp"

namespace exchanged::store {

SqliteStore::SqliteStore(const std::filesystem::path& path, const SqliteStoreOptions& options)
    : options_(options), db_(std::make_unique<SqliteDb>(path)) {
    db_->exec("PRAGMA busy_timeout = " + std::to_string(options.busy_timeout.count()),
              "set busy_timeout");
    // The first statement that reads the file: a file that is not a database fails here.
    SqliteStatement journal(*db_, "PRAGMA journal_mode = WAL");
    const std::string mode = journal.step() ? journal.column_text(0) : "";
    if (mode != "wal") {
        throw StoreError(path.string() + ": set journal_mode=WAL: the database stays in '" + mode +
                         "' mode");
    }
    db_->exec("PRAGMA synchronous = FULL", "set synchronous=FULL");
    // 64 MiB of page cache instead of the default 2 MiB: fills and cancels update orders all over
    // a table that grows with every order, and a miss costs a read per page.
    db_->exec("PRAGMA cache_size = -65536", "set cache_size");
}

SqliteStore::~SqliteStore() = default;

int SqliteStore::latest_schema_version() {
    return static_cast<int>(sqlite_migrations().size());
}

int SqliteStore::schema_version() {
    db_->exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
        "applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        "create schema_version");
    SqliteStatement current(*db_, "SELECT coalesce(max(version), 0) FROM schema_version");
    current.step();
    return static_cast<int>(current.column_int(0));
}

void SqliteStore::migrate() {
    const int found = schema_version();
    const int latest = latest_schema_version();
    if (found > latest) {
        throw StoreError(db_->path().string() + ": migrate: schema version " +
                         std::to_string(found) + " is newer than this build knows (" +
                         std::to_string(latest) + "); use a newer exchanged");
    }
    const auto migrations = sqlite_migrations();
    for (int version = found + 1; version <= latest; ++version) {
        const std::string step = "migration " + std::to_string(version);
        db_->exec("BEGIN IMMEDIATE", step);
        try {
            db_->exec(migrations[static_cast<std::size_t>(version - 1)], step);
            db_->exec(
                "INSERT INTO schema_version (version) VALUES (" + std::to_string(version) + ")",
                step);
            db_->exec("COMMIT", step);
        } catch (const StoreError&) {
            try {
                db_->exec("ROLLBACK", step + " rollback");
            } catch (const StoreError&) {
                // Report the migration's own failure.
            }
            throw;
        }
    }
    if (!statements_) {
        statements_ = std::make_unique<SqliteStatements>(*db_);
    }
}

SqliteStatements& SqliteStore::statements() {
    if (!statements_) {
        throw StoreError(db_->path().string() + ": the store is used before migrate()");
    }
    return *statements_;
}

StoreLsn SqliteStore::store_lsn() {
    SqliteStatement& get = statements().get_store_lsn;
    get.reset();
    if (!get.step()) {
        throw StoreError(db_->path().string() + ": read store_lsn: the meta row is missing");
    }
    const StoreLsn lsn = get.column_u64(0);
    get.reset();
    return lsn;
}

void SqliteStore::fold() {
    SqliteStatements& s = statements();
    SqliteTransaction transaction(s.begin_write, s.commit, s.rollback);
    fold_in_transaction();
    transaction.commit();
}

void SqliteStore::fold_in_transaction() {
    SqliteStatements& s = statements();
    s.fold_changes.run();
    s.clear_changes.run();
}

void SqliteStore::load_open_orders(StoreLsn lsn) {
    fold_in_transaction();
    OpenOrders& open = rows_.open_orders();
    open.clear();
    SqliteStatement& rows = statements_->open_order_columns;
    rows.reset();
    while (rows.step()) {
        open.add(static_cast<ShardId>(rows.column_int(0)), rows.column_u64(1),
                 OpenOrder{rows.column_int(2), rows.column_int(3), rows.column_int(4),
                           rows.column_u64(5)});
    }
    rows.reset();
    open.mark_loaded(lsn);
}

StoreState SqliteStore::load(std::uint32_t shard_count, std::uint32_t client_order_id_window) {
    fold();
    SqliteStatements& s = statements();
    SqliteTransaction transaction(s.begin_read, s.commit, s.rollback);
    StoreState state;
    state.store_lsn = store_lsn();
    s.max_shard.reset();
    if (s.max_shard.step() && !s.max_shard.column_null(0) &&
        s.max_shard.column_u64(0) >= shard_count) {
        throw StoreError(db_->path().string() + ": load: the store holds shard " +
                         std::to_string(s.max_shard.column_u64(0)) + " but the layout has " +
                         std::to_string(shard_count) + " shards");
    }
    s.max_shard.reset();
    state.shards.resize(shard_count);
    for (std::uint32_t shard = 0; shard < shard_count; ++shard) {
        ShardState& out = state.shards[shard];
        s.shard_counters.bind(1, std::int64_t{shard});
        if (s.shard_counters.step()) {
            out.next_seq = s.shard_counters.column_u64(0);
            out.snapshot.next_order_id = s.shard_counters.column_u64(1);
            out.snapshot.next_trade_id = s.shard_counters.column_u64(2);
        }
        s.shard_counters.reset();

        s.open_orders.bind(1, std::int64_t{shard});
        while (s.open_orders.step()) {
            book::RestingOrderState order;
            order.order_id = s.open_orders.column_u64(0);
            order.client_order_id = s.open_orders.column_u64(1);
            order.account = static_cast<AccountId>(s.open_orders.column_int(2));
            order.instrument = static_cast<InstrumentId>(s.open_orders.column_int(3));
            order.side = static_cast<Side>(s.open_orders.column_int(4));
            order.price = s.open_orders.column_int(5);
            order.leaves = s.open_orders.column_int(6);
            order.flags = static_cast<std::uint8_t>(s.open_orders.column_int(7));
            order.priority = s.open_orders.column_u64(8);
            out.snapshot.resting.push_back(order);
        }
        s.open_orders.reset();
        std::sort(out.snapshot.resting.begin(), out.snapshot.resting.end(),
                  [](const book::RestingOrderState& a, const book::RestingOrderState& b) {
                      return a.order_id < b.order_id;
                  });

        s.finished_orders.bind(1, std::int64_t{shard})
            .bind(2, std::int64_t{client_order_id_window});
        while (s.finished_orders.step()) {
            out.snapshot.finished.push_back(book::FinishedClientOrder{
                static_cast<AccountId>(s.finished_orders.column_int(0)),
                s.finished_orders.column_u64(1), s.finished_orders.column_u64(2)});
        }
        s.finished_orders.reset();
        std::reverse(out.snapshot.finished.begin(), out.snapshot.finished.end());
    }
    transaction.commit();
    return state;
}

}  // namespace exchanged::store
