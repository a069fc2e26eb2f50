// SqliteStore::snapshot_into: the store copied with VACUUM INTO. The daemon holds the file in
// exclusive locking mode, so no other process can copy it while it runs; the flush worker does it
// on the store's own connection, between two batches.
#include <filesystem>
#include <string>

#include "store/sqlite_db.hpp"
#include "store/sqlite_store.hpp"

namespace exchanged::store {

namespace {

// An SQL string literal: quotes doubled.
std::string quoted(const std::string& text) {
    std::string out = "'";
    for (const char c : text) {
        out += c;
        if (c == '\'') {
            out += '\'';
        }
    }
    return out + "'";
}

}  // namespace

StoreLsn SqliteStore::snapshot_into(const std::filesystem::path& target) {
    const std::string step = "snapshot into " + target.string();
    std::error_code exists_error;
    if (std::filesystem::exists(target, exists_error)) {
        // VACUUM INTO refuses a non-empty file; say which one rather than SQLite's words.
        throw StoreError(db_->path().string() + ": " + step + ": the file already exists");
    }
    // VACUUM INTO reads the whole database in one read transaction: the copy holds exactly the
    // rows of one store_lsn, which is read back from the copy itself below.
    const std::string path = target.string();
    db_->exec("VACUUM INTO " + quoted(path), step);
    // A fresh connection to the copy (not exclusive: the copy is nobody's store yet).
    SqliteDb copy(target, false);
    SqliteStatement lsn(copy, "SELECT store_lsn FROM meta WHERE id = 0");
    if (!lsn.step()) {
        throw StoreError(path + ": " + step + ": the copy has no meta row");
    }
    return lsn.column_u64(0);
}

}  // namespace exchanged::store
