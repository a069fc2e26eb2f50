// A thin RAII layer over the SQLite C API for the store: one connection, prepared statements that
// are compiled once and reset between uses, and every failure a StoreError naming the file, the
// step and SQLite's own message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "store/store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace exchanged::store {

class SqliteDb;

// Added to the message of SQLITE_BUSY / SQLITE_LOCKED: with locking_mode = EXCLUSIVE that means
// another process has the store open.
extern const char* const kStoreInUse;

// Throws StoreCorruptError when `code` (an SQLite result code, extended or primary) says the file
// is damaged (SQLITE_CORRUPT, SQLITE_NOTADB), adding what to do about it; StoreIoError for a
// failed write or sync (SQLITE_IOERR, SQLITE_FULL); StoreError otherwise.
[[noreturn]] void throw_sqlite_error(int code, const std::string& message);

// A prepared statement. Bind parameters (1-based), step() until it returns false, read columns
// (0-based); reset() happens on the next bind to parameter 1 or via reset().
class SqliteStatement {
  public:
    SqliteStatement() = default;
    SqliteStatement(SqliteDb& db, std::string_view sql);
    ~SqliteStatement();
    SqliteStatement(SqliteStatement&& other) noexcept;
    SqliteStatement& operator=(SqliteStatement&& other) noexcept;
    SqliteStatement(const SqliteStatement&) = delete;
    SqliteStatement& operator=(const SqliteStatement&) = delete;

    SqliteStatement& reset();
    SqliteStatement& bind(int index, std::int64_t value);
    SqliteStatement& bind(int index, std::uint64_t value) {
        return bind(index, static_cast<std::int64_t>(value));  // stored as the same 64 bits
    }
    SqliteStatement& bind_null(int index);
    // Returns true while a row is available.
    bool step();
    // Steps a statement that returns no rows, then resets it.
    void run();

    std::int64_t column_int(int index) const;
    std::uint64_t column_u64(int index) const {
        return static_cast<std::uint64_t>(column_int(index));
    }
    bool column_null(int index) const;
    std::string column_text(int index) const;

    // For binding many values in a loop without this class's per-call checks.
    sqlite3_stmt* handle() const { return stmt_; }
    // Throws the StoreError of a failed bind.
    [[noreturn]] void bind_failed() const;

  private:
    SqliteDb* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
    std::string sql_;
};

class SqliteDb {
  public:
    // Opens (creating if missing) the database file, in exclusive locking mode unless
    // `exclusive` is false (tests that look at the file through a second connection while it is
    // open). Throws StoreError.
    explicit SqliteDb(const std::filesystem::path& path, bool exclusive = true);
    ~SqliteDb();
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;

    // Runs one or more statements that return no rows.
    void exec(std::string_view sql, std::string_view step);
    // Throws a StoreError "<file>: <step>: <sqlite message>" (StoreCorruptError for a damaged
    // file).
    [[noreturn]] void fail(std::string_view step) const;

    sqlite3* handle() const { return db_; }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
    sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() ran.
class SqliteTransaction {
  public:
    SqliteTransaction(SqliteStatement& begin, SqliteStatement& commit, SqliteStatement& rollback);
    ~SqliteTransaction();
    SqliteTransaction(const SqliteTransaction&) = delete;
    SqliteTransaction& operator=(const SqliteTransaction&) = delete;
    void commit();

  private:
    SqliteStatement& commit_;
    SqliteStatement& rollback_;
    bool done_ = false;
};

}  // namespace exchanged::store
