#include "store_backends.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>

#include "store/postgres_connection.hpp"
#include "store/postgres_dsn.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"

namespace exchanged::store::test {

std::optional<std::string> test_postgres_dsn() {
    const char* dsn = std::getenv("EXCHANGED_TEST_POSTGRES_DSN");
    if (dsn == nullptr || dsn[0] == '\0') {
        return std::nullopt;
    }
    return std::string(dsn);
}

TestDatabase::TestDatabase(BackendKind kind) : kind_(kind) {
    if (kind == BackendKind::Sqlite) {
        dir_.emplace();
        sqlite_path_ = (dir_->path() / "store.sqlite").string();
        return;
    }
    const std::optional<std::string> base = test_postgres_dsn();
    if (!base) {
        throw std::runtime_error("EXCHANGED_TEST_POSTGRES_DSN is not set");
    }
    static std::atomic<int> counter{0};
    schema_ = "exchanged_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    admin_ = std::make_unique<PgConnection>(*base, "test admin connection");
    admin_->exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE", "drop schema");
    admin_->exec("CREATE SCHEMA " + schema_, "create schema");
    admin_->exec("SET search_path TO " + schema_, "set search_path");
    postgres_dsn_ = dsn_with_option(*base, "options", "-csearch_path=" + schema_);
}

TestDatabase::~TestDatabase() {
    if (admin_) {
        try {
            admin_->ensure_connected();
            admin_->exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE", "drop schema");
        } catch (const StoreError& error) {
            WARN("could not drop test schema " << schema_ << ": " << error.what());
        }
    }
}

std::unique_ptr<Store> TestDatabase::open(bool audit_log) const {
    if (kind_ == BackendKind::Sqlite) {
        // Shared locking: the tests read the file through a connection of their own while the
        // store is open (the exclusive open is tested in migration_test.cpp).
        return std::make_unique<SqliteStore>(sqlite_path_,
                                             SqliteStoreOptions{audit_log, {}, false});
    }
    return std::make_unique<PostgresStore>(postgres_dsn_, PostgresStoreOptions{audit_log});
}

std::unique_ptr<Store> TestDatabase::open_migrated(bool audit_log) const {
    std::unique_ptr<Store> store = open(audit_log);
    store->migrate();
    return store;
}

std::string TestDatabase::name_in_errors() const {
    return kind_ == BackendKind::Sqlite ? sqlite_path_ : "postgresql:" + redact_dsn(postgres_dsn_);
}

int TestDatabase::latest_schema_version(BackendKind kind) {
    return kind == BackendKind::Sqlite ? SqliteStore::latest_schema_version()
                                       : PostgresStore::latest_schema_version();
}

void TestDatabase::exec(const std::string& sql) {
    if (kind_ == BackendKind::Postgresql) {
        admin_->exec(sql, sql);
        return;
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(sqlite_path_.c_str(), &db) == SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    const std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    INFO(sql << ": " << message);
    REQUIRE(rc == SQLITE_OK);
}

std::vector<std::string> TestDatabase::rows(const std::string& sql) {
    std::vector<std::string> out;
    const auto join = [&](int columns, auto&& text_of) {
        std::string row;
        for (int c = 0; c < columns; ++c) {
            row += (c == 0 ? "" : "|") + text_of(c);
        }
        out.push_back(std::move(row));
    };
    if (kind_ == BackendKind::Postgresql) {
        const PgResult result = admin_->query(sql, sql);
        for (int r = 0; r < result.rows(); ++r) {
            join(result.columns(), [&](int c) {
                return result.is_null(r, c) ? std::string("NULL") : result.text(r, c);
            });
        }
        return out;
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(sqlite_path_.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    INFO(sql << ": " << sqlite3_errmsg(db));
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        join(sqlite3_column_count(stmt), [&](int c) {
            const unsigned char* text = sqlite3_column_text(stmt, c);
            return text != nullptr ? std::string(reinterpret_cast<const char*>(text))
                                   : std::string("NULL");
        });
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
}

std::int64_t TestDatabase::count(const std::string& sql) {
    const std::vector<std::string> result = rows(sql);
    REQUIRE(result.size() == 1);
    return std::stoll(result[0]);
}

void run_on(BackendKind kind, void (*body)(TestDatabase&)) {
    if (kind == BackendKind::Postgresql && !test_postgres_dsn()) {
        WARN(
            "test skipped: the PostgreSQL half of this test did not run: "
            "EXCHANGED_TEST_POSTGRES_DSN is not set (scripts/test.sh starts a throw-away server "
            "with scripts/pg-test-cluster.sh and sets it)");
        return;
    }
    TestDatabase db(kind);
    body(db);
}

}  // namespace exchanged::store::test
