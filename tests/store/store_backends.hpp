// The store tests run against every backend: SQLite always, PostgreSQL when
// EXCHANGED_TEST_POSTGRES_DSN names a server (scripts/test.sh starts a throw-away one with
// scripts/pg-test-cluster.sh). STORE_BACKEND_TEST registers one Catch test case per backend, so
// that a PostgreSQL case without a server is reported as skipped while the SQLite case still counts
// as passed. Each TestDatabase is a fresh, empty database: a new file, or a new PostgreSQL schema
// (the store's DSN sets search_path to it) dropped at the end.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "temp_file.hpp"

namespace exchanged::store {
class PgConnection;
}

namespace exchanged::store::test {

enum class BackendKind { Sqlite, Postgresql };

// EXCHANGED_TEST_POSTGRES_DSN, or nothing when it is unset or empty.
std::optional<std::string> test_postgres_dsn();

class TestDatabase {
  public:
    // PostgreSQL needs test_postgres_dsn().
    explicit TestDatabase(BackendKind kind);
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    BackendKind kind() const { return kind_; }
    // A new store (a new connection) on this database; not migrated.
    std::unique_ptr<Store> open(bool audit_log = false) const;
    std::unique_ptr<Store> open_migrated(bool audit_log = false) const;
    // What the backend's error messages call this database.
    std::string name_in_errors() const;
    static int latest_schema_version(BackendKind kind);

    // SQL outside the store, on a connection of the test's own.
    void exec(const std::string& sql);
    // Every row of a query, its columns joined by '|' (integers print alike in both backends).
    std::vector<std::string> rows(const std::string& sql);
    std::int64_t count(const std::string& sql);

    const std::string& sqlite_path() const { return sqlite_path_; }
    const std::string& postgres_dsn() const { return postgres_dsn_; }
    PgConnection& postgres_admin() { return *admin_; }

  private:
    BackendKind kind_;
    std::optional<exchanged::test::TempDir> dir_;
    std::string sqlite_path_;
    std::string schema_;
    std::string postgres_dsn_;  // the store's: search_path set to schema_
    std::unique_ptr<PgConnection> admin_;
};

// Runs `body` on a fresh database of `kind`; for PostgreSQL without a server, says why it skipped.
void run_on(BackendKind kind, void (*body)(TestDatabase&));

}  // namespace exchanged::store::test

#define STORE_BACKEND_TEST_CONCAT2(a, b) a##b
#define STORE_BACKEND_TEST_CONCAT(a, b) STORE_BACKEND_TEST_CONCAT2(a, b)
#define STORE_BACKEND_TEST_BODY STORE_BACKEND_TEST_CONCAT(store_backend_test_, __LINE__)

// STORE_BACKEND_TEST("store: ...", "[store]") { body using `db`, a TestDatabase& }
#define STORE_BACKEND_TEST(name, tags)                                                      \
    static void STORE_BACKEND_TEST_BODY(::exchanged::store::test::TestDatabase& db);        \
    TEST_CASE(name " (sqlite)", tags "[sqlite]") {                                          \
        ::exchanged::store::test::run_on(::exchanged::store::test::BackendKind::Sqlite,     \
                                         STORE_BACKEND_TEST_BODY);                          \
    }                                                                                       \
    TEST_CASE(name " (postgresql)", tags "[postgresql]") {                                  \
        ::exchanged::store::test::run_on(::exchanged::store::test::BackendKind::Postgresql, \
                                         STORE_BACKEND_TEST_BODY);                          \
    }                                                                                       \
    static void STORE_BACKEND_TEST_BODY([[maybe_unused]] ::exchanged::store::test::TestDatabase& db)
