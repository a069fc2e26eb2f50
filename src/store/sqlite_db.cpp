#include "store/sqlite_db.hpp"

#include <sqlite3.h>

#include <utility>

namespace exchanged::store {

const char* const kStoreInUse =
    "; the store is in use by another process (the daemon holds its store exclusively while it "
    "runs): stop exchanged first, or read a copy (docs/store.md: One process at a time)";

void throw_sqlite_error(int code, const std::string& message) {
    const int primary = code & 0xFF;
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
        throw StoreCorruptError(message +
                                "; the store file is damaged: `exchangectl store check` shows "
                                "where, docs/recovery.md (Store corruption) what to do");
    }
    if (primary == SQLITE_IOERR || primary == SQLITE_FULL) {
        const bool sync_failed = code == SQLITE_IOERR_FSYNC || code == SQLITE_IOERR_DIR_FSYNC;
        throw StoreIoError(message, sync_failed);
    }
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        throw StoreError(message + kStoreInUse);
    }
    throw StoreError(message);
}

SqliteDb::SqliteDb(const std::filesystem::path& path, bool exclusive) : path_(path) {
    const int rc =
        sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw_sqlite_error(rc, path.string() + ": open: " + message);
    }
    sqlite3_extended_result_codes(db_, 1);
    // Before anything reads the file: a WAL database opened in exclusive mode keeps its wal-index
    // in heap memory and never opens or maps the -shm file, so a -shm left missing, empty or
    // garbage by a power cut (or a file system whose shared mmap misbehaves) cannot stop the open
    // (docs/store.md: One process at a time). The price: one process at a time holds the file.
    if (exclusive) {
        exec("PRAGMA locking_mode = EXCLUSIVE", "set locking_mode=EXCLUSIVE");
    }
}

SqliteDb::~SqliteDb() {
    sqlite3_close_v2(db_);
}

void SqliteDb::fail(std::string_view step) const {
    throw_sqlite_error(sqlite3_extended_errcode(db_),
                       path_.string() + ": " + std::string(step) + ": " + sqlite3_errmsg(db_));
}

void SqliteDb::exec(std::string_view sql, std::string_view step) {
    const std::string text(sql);
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
        std::string message = error != nullptr ? error : sqlite3_errmsg(db_);
        sqlite3_free(error);
        throw_sqlite_error(rc, path_.string() + ": " + std::string(step) + ": " + message);
    }
}

SqliteStatement::SqliteStatement(SqliteDb& db, std::string_view sql) : db_(&db), sql_(sql) {
    if (sqlite3_prepare_v3(db.handle(), sql_.c_str(), static_cast<int>(sql_.size()),
                           SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
        db.fail("prepare \"" + sql_ + "\"");
    }
}

SqliteStatement::~SqliteStatement() {
    sqlite3_finalize(stmt_);
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
    if (this != &other) {
        sqlite3_finalize(stmt_);
        db_ = other.db_;
        stmt_ = std::exchange(other.stmt_, nullptr);
        sql_ = std::move(other.sql_);
    }
    return *this;
}

SqliteStatement& SqliteStatement::reset() {
    sqlite3_reset(stmt_);
    return *this;
}

SqliteStatement& SqliteStatement::bind(int index, std::int64_t value) {
    if (index == 1) {
        sqlite3_reset(stmt_);
    }
    if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) {
        db_->fail("bind \"" + sql_ + "\"");
    }
    return *this;
}

void SqliteStatement::bind_failed() const {
    db_->fail("bind \"" + sql_ + "\"");
}

SqliteStatement& SqliteStatement::bind_null(int index) {
    if (index == 1) {
        sqlite3_reset(stmt_);
    }
    if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) {
        db_->fail("bind \"" + sql_ + "\"");
    }
    return *this;
}

bool SqliteStatement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    const std::string message = db_->path().string() + ": step \"" + sql_ +
                                "\": " + sqlite3_errmsg(db_->handle()) + " (" + sqlite3_errstr(rc) +
                                ")";
    sqlite3_reset(stmt_);
    throw_sqlite_error(rc, message);
}

void SqliteStatement::run() {
    while (step()) {
    }
    sqlite3_reset(stmt_);
}

std::int64_t SqliteStatement::column_int(int index) const {
    return sqlite3_column_int64(stmt_, index);
}

bool SqliteStatement::column_null(int index) const {
    return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

std::string SqliteStatement::column_text(int index) const {
    const unsigned char* text = sqlite3_column_text(stmt_, index);
    return text != nullptr ? reinterpret_cast<const char*>(text) : "";
}

SqliteTransaction::SqliteTransaction(SqliteStatement& begin, SqliteStatement& commit,
                                     SqliteStatement& rollback)
    : commit_(commit), rollback_(rollback) {
    begin.run();
}

SqliteTransaction::~SqliteTransaction() {
    if (!done_) {
        try {
            rollback_.run();
        } catch (const StoreError&) {
            // The failure that got us here is the one worth reporting.
        }
    }
}

void SqliteTransaction::commit() {
    commit_.run();
    done_ = true;
}

}  // namespace exchanged::store
