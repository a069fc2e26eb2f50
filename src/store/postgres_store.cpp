#include "store/postgres_store.hpp"

#include <algorithm>
#include <string>

#include "store/order_fold.hpp"
#include "store/postgres_connection.hpp"
#include "store/postgres_dsn.hpp"
#include "store/postgres_schema.hpp"
#include "store/postgres_statements.hpp"

namespace exchanged::store {
namespace {

std::string name_of(const std::string& dsn) {
    const std::string redacted = redact_dsn(dsn);
    return "postgresql:" + (redacted.empty() ? std::string("(libpq defaults)") : redacted);
}

// Held by whoever creates or migrates the schema, until its transaction ends. The key is
// arbitrary but fixed ("exch" in ASCII); it is database-wide, so stores in other schemas of the
// same database wait for each other's migrations too, which costs nothing.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(1702388584)";

const char* name(PgStatement statement) {
    return pg_statement(statement).name;
}

}  // namespace

PostgresStore::PostgresStore(const std::string& dsn, const PostgresStoreOptions& options)
    : options_(options),
      name_(name_of(dsn)),
      connection_(std::make_unique<PgConnection>(dsn, name_)) {}

PostgresStore::~PostgresStore() = default;

int PostgresStore::latest_schema_version() {
    return static_cast<int>(postgres_migrations().size());
}

int PostgresStore::backend_pid() const {
    return connection_->backend_pid();
}

PgConnection& PostgresStore::connected() {
    PgConnection& c = *connection_;
    if (c.ensure_connected() && migrated_) {
        prepare_statements();  // they went with the old session
    }
    return c;
}

void PostgresStore::prepare_statements() {
    try {
        prepare_pg_statements(*connection_);
    } catch (const StoreError&) {
        // Some may be prepared: a fresh session starts from none.
        connection_->mark_broken();
        throw;
    }
}

int PostgresStore::schema_version() {
    PgConnection& c = connected();
    // Two processes creating the table at once would collide in the catalog (IF NOT EXISTS does
    // not serialize them); the lock makes the second wait, as it does for the migrations.
    PgTransaction transaction(c, std::string("BEGIN; ") + kMigrationLock, "create schema_version");
    c.exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, "
        "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        "create schema_version");
    const PgResult current =
        c.query("SELECT coalesce(max(version), 0) FROM schema_version", "read schema_version");
    transaction.commit();
    return static_cast<int>(current.i64(0, 0));
}

void PostgresStore::migrate() {
    const int found = schema_version();
    const int latest = latest_schema_version();
    if (found > latest) {
        throw StoreError(name_ + ": migrate: schema version " + std::to_string(found) +
                         " is newer than this build knows (" + std::to_string(latest) +
                         "); use a newer exchanged");
    }
    PgConnection& c = *connection_;
    const auto migrations = postgres_migrations();
    for (int version = found + 1; version <= latest; ++version) {
        const std::string step = "migration " + std::to_string(version);
        // A process that migrated meanwhile holds the lock until it commits; then this one finds
        // the migration applied.
        PgTransaction transaction(c,
                                  std::string("BEGIN; ") + kMigrationLock +
                                      "; SELECT coalesce(max(version), 0) FROM schema_version",
                                  step);
        if (transaction.begin_result().i64(0, 0) >= version) {
            continue;
        }
        c.exec(migrations[static_cast<std::size_t>(version - 1)], step);
        c.exec("INSERT INTO schema_version (version) VALUES (" + std::to_string(version) + ")",
               step);
        transaction.commit();
    }
    if (!migrated_) {
        prepare_statements();
        migrated_ = true;
    }
}

PgConnection& PostgresStore::ready() {
    if (!migrated_) {
        throw StoreError(name_ + ": the store is used before migrate()");
    }
    return connected();
}

StoreLsn PostgresStore::read_store_lsn() {
    const PgResult result =
        connection_->exec_prepared(name(PgStatement::GetStoreLsn), {}, "read store_lsn");
    if (result.rows() != 1) {
        throw StoreError(name_ + ": read store_lsn: the meta row is missing");
    }
    return result.u64(0, 0);
}

StoreLsn PostgresStore::store_lsn() {
    ready();
    return read_store_lsn();
}

void PostgresStore::fold() {
    PgConnection& c = ready();
    PgTransaction transaction(c, "BEGIN; SELECT store_lsn FROM meta WHERE id = 0 FOR UPDATE",
                              "fold order_changes");
    fold_in_transaction(c);
    transaction.commit();
}

void PostgresStore::fold_in_transaction(PgConnection& c) {
    c.exec(kFoldOrderChanges, "fold order_changes");
    c.exec(kClearOrderChanges, "fold order_changes");
}

void PostgresStore::load_open_orders(StoreLsn lsn) {
    PgConnection& c = *connection_;
    fold_in_transaction(c);
    OpenOrders& open = rows_.open_orders();
    open.clear();
    c.stream(kOpenOrderColumns, "load open orders", [&](const PgResult& row) {
        open.add(static_cast<ShardId>(row.i64(0, 0)), row.u64(0, 1),
                 OpenOrder{row.i64(0, 2), row.i64(0, 3), row.i64(0, 4), row.u64(0, 5)});
    });
    open.mark_loaded(lsn);
}

StoreState PostgresStore::load(std::uint32_t shard_count, std::uint32_t client_order_id_window) {
    fold();
    PgConnection& c = ready();
    // One snapshot for every query, as one SQLite read transaction gives.
    PgTransaction transaction(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "load");
    StoreState state;
    state.store_lsn = read_store_lsn();
    const PgResult max_shard = c.exec_prepared(name(PgStatement::MaxShard), {}, "load");
    if (max_shard.rows() == 1 && !max_shard.is_null(0, 0) && max_shard.u64(0, 0) >= shard_count) {
        throw StoreError(name_ + ": load: the store holds shard " +
                         std::to_string(max_shard.u64(0, 0)) + " but the layout has " +
                         std::to_string(shard_count) + " shards");
    }
    state.shards.resize(shard_count);
    for (std::uint32_t shard = 0; shard < shard_count; ++shard) {
        ShardState& out = state.shards[shard];
        const std::int64_t key[] = {shard, client_order_id_window};
        const PgResult counters =
            c.exec_prepared(name(PgStatement::ShardCounters), std::span(key, 1), "load counters");
        if (counters.rows() == 1) {
            out.next_seq = counters.u64(0, 0);
            out.snapshot.next_order_id = counters.u64(0, 1);
            out.snapshot.next_trade_id = counters.u64(0, 2);
        }

        const PgResult open =
            c.exec_prepared(name(PgStatement::OpenOrders), std::span(key, 1), "load open orders");
        for (int row = 0; row < open.rows(); ++row) {
            book::RestingOrderState order;
            order.order_id = open.u64(row, 0);
            order.client_order_id = open.u64(row, 1);
            order.account = static_cast<AccountId>(open.i64(row, 2));
            order.instrument = static_cast<InstrumentId>(open.i64(row, 3));
            order.side = static_cast<Side>(open.i64(row, 4));
            order.price = open.i64(row, 5);
            order.leaves = open.i64(row, 6);
            order.flags = static_cast<std::uint8_t>(open.i64(row, 7));
            order.priority = open.u64(row, 8);
            out.snapshot.resting.push_back(order);
        }
        std::sort(out.snapshot.resting.begin(), out.snapshot.resting.end(),
                  [](const book::RestingOrderState& a, const book::RestingOrderState& b) {
                      return a.order_id < b.order_id;
                  });

        const PgResult finished =
            c.exec_prepared(name(PgStatement::FinishedOrders), key, "load finished orders");
        for (int row = 0; row < finished.rows(); ++row) {
            out.snapshot.finished.push_back(
                book::FinishedClientOrder{static_cast<AccountId>(finished.i64(row, 0)),
                                          finished.u64(row, 1), finished.u64(row, 2)});
        }
        std::reverse(out.snapshot.finished.begin(), out.snapshot.finished.end());
    }
    transaction.commit();
    return state;
}

}  // namespace exchanged::store
