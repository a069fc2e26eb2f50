// Opening and migrating the store: a new database, a second migrate, a newer schema (every
// backend); files that are not databases or cannot be written, and a locked file (SQLite).
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "store/sqlite_store.hpp"
#include "store_backends.hpp"
#include "temp_file.hpp"

namespace exchanged::store {
namespace {

using Catch::Matchers::Contains;
using exchanged::test::TempDir;

STORE_BACKEND_TEST("store: migrate creates the schema in a new database and is idempotent",
                   "[store]") {
    const int latest = test::TestDatabase::latest_schema_version(db.kind());
    {
        auto store = db.open();
        store->migrate();
        CHECK(db.count("SELECT max(version) FROM schema_version") == latest);
        CHECK(store->store_lsn() == 0);
        store->migrate();  // again, same connection
        CHECK(db.count("SELECT count(*) FROM schema_version") == latest);
    }
    {
        auto store = db.open_migrated();  // again, a new connection
        CHECK(store->store_lsn() == 0);
        const StoreState state = store->load(2, 16);
        REQUIRE(state.shards.size() == 2);
        CHECK(state.shards[1].next_seq == 1);
        CHECK(state.shards[1].snapshot.next_order_id == 1);
        CHECK(state.shards[1].snapshot.next_trade_id == 1);
    }
    CHECK(db.count("SELECT count(*) FROM schema_version") == latest);
    CHECK(db.count("SELECT count(*) FROM meta") == 1);
    for (const char* table : {"orders", "trades", "audit_log", "shard_meta"}) {
        CHECK(db.count(std::string("SELECT count(*) FROM ") + table) == 0);
    }
}

STORE_BACKEND_TEST("store: a schema newer than the code is refused", "[store]") {
    db.open_migrated();
    db.exec("INSERT INTO schema_version (version) VALUES (99)");
    auto store = db.open();
    CHECK_THROWS_WITH(store->migrate(), Contains(db.name_in_errors()) &&
                                            Contains("schema version 99") &&
                                            Contains("newer than this build"));
    CHECK_THROWS_WITH(store->store_lsn(), Contains("before migrate()"));
}

TEST_CASE("store: the SQLite file runs in WAL journal mode", "[store][sqlite]") {
    TempDir dir;
    const auto path = dir.path() / "store.sqlite";
    {
        SqliteStore store(path);
        CHECK(store.schema_version() == 0);
        store.migrate();
        CHECK(store.schema_version() == SqliteStore::latest_schema_version());
    }
    // Read through a connection of the test's own: closing the store released its exclusive lock.
    sqlite3* other = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &other) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(other, "PRAGMA journal_mode", -1, &stmt, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) == "wal");
    sqlite3_finalize(stmt);
    sqlite3_close(other);
}

TEST_CASE("store: a file that is not a database gives a clear error", "[store][sqlite]") {
    TempDir dir;
    const auto path = dir.path() / "garbage.sqlite";
    {
        std::ofstream out(path, std::ios::binary);
        for (int i = 0; i < 4096; ++i) {
            out.put(static_cast<char>(i * 37));
        }
    }
    CHECK_THROWS_WITH(SqliteStore(path), Contains("garbage.sqlite") && Contains("journal_mode") &&
                                             Contains("not a database"));
}

TEST_CASE("store: a path that cannot be created gives a clear error", "[store][sqlite]") {
    TempDir dir;
    CHECK_THROWS_WITH(
        SqliteStore(dir.path() / "missing" / "store.sqlite"),
        Contains("missing/store.sqlite") && Contains("open") && Contains("unable to open"));
    // A directory where the file should be.
    std::filesystem::create_directory(dir.path() / "adir");
    CHECK_THROWS_AS(SqliteStore(dir.path() / "adir"), StoreError);
}

TEST_CASE("store: a locked database refuses a batch with a clear error", "[store][sqlite]") {
    TempDir dir;
    const auto path = dir.path() / "store.sqlite";
    {
        SqliteStore store(path);
        store.migrate();
    }
    // Another connection holds the write lock: the batch waits busy_timeout, then fails.
    sqlite3* other = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &other) == SQLITE_OK);
    REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    SqliteStore store(path, SqliteStoreOptions{false, std::chrono::milliseconds(50), false});
    store.migrate();
    StoreBatch batch{1, 1, {}};
    CHECK_THROWS_WITH(store.apply(batch), Contains("store.sqlite") && Contains("BEGIN IMMEDIATE") &&
                                              Contains("locked"));
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(other);
    store.apply(batch);
    CHECK(store.store_lsn() == 1);
}

}  // namespace
}  // namespace exchanged::store
