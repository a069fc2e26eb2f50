#include "store/sqlite_bulk_insert.hpp"

#include <sqlite3.h>

namespace exchanged::store {
namespace {

std::string values_sql(std::string_view head, std::size_t columns) {
    std::string sql(head);
    sql += " VALUES (";
    for (std::size_t c = 0; c < columns; ++c) {
        sql += (c == 0 ? "?" : ", ?") + std::to_string(c + 1);
    }
    return sql + ")";
}

}  // namespace

SqliteBulkInsert::SqliteBulkInsert(SqliteDb& db, std::string_view head, std::string_view source,
                                   std::size_t columns, std::span<const NullWhen> nulls)
    : db_(&db),
      columns_(columns),
      source_(std::make_unique<SqliteRowSource>(db, std::string(source), columns, nulls)),
      insert_all_(db, std::string(head) + " SELECT " + source_->select_list()),
      insert_one_(db, values_sql(head, columns)) {}

bool SqliteBulkInsert::flush() {
    if (pending_.empty()) {
        return true;
    }
    source_->set(pending_);
    bool written = false;
    try {
        written = run(insert_all_, false);
    } catch (...) {
        source_->set({});
        pending_.clear();
        throw;
    }
    source_->set({});
    pending_.clear();
    return written;
}

void SqliteBulkInsert::insert_one(std::span<const std::int64_t> row) {
    sqlite3_stmt* const handle = insert_one_.handle();
    sqlite3_reset(handle);
    for (std::size_t c = 0; c < columns_; ++c) {
        const int parameter = static_cast<int>(c + 1);
        const int rc = source_->reads_null(c, row[c])
                           ? sqlite3_bind_null(handle, parameter)
                           : sqlite3_bind_int64(handle, parameter, row[c]);
        if (rc != SQLITE_OK) {
            insert_one_.bind_failed();
        }
    }
    static_cast<void>(run(insert_one_, true));
}

bool SqliteBulkInsert::run(SqliteStatement& statement, bool strict) {
    try {
        statement.run();
    } catch (const StoreError&) {
        // A row broke a constraint, and SQLite rolled the transaction back: which row, and
        // whether an earlier event of the batch fails first, is for the strict retry to say.
        const bool refused = (sqlite3_extended_errcode(db_->handle()) & 0xFF) == SQLITE_CONSTRAINT;
        if (strict || !refused || sqlite3_get_autocommit(db_->handle()) == 0) {
            throw;
        }
        return false;
    }
    return true;
}

}  // namespace exchanged::store
