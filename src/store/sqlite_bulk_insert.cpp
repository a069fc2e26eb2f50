#include "store/sqlite_bulk_insert.hpp"

#include <sqlite3.h>

namespace exchanged::store {
namespace {

std::string insert_sql(std::string_view head, std::size_t columns, std::size_t rows) {
    std::string sql(head);
    sql += " VALUES ";
    int parameter = 1;
    for (std::size_t r = 0; r < rows; ++r) {
        sql += r == 0 ? "(" : ", (";
        for (std::size_t c = 0; c < columns; ++c) {
            sql += (c == 0 ? "?" : ", ?") + std::to_string(parameter++);
        }
        sql += ')';
    }
    return sql;
}

}  // namespace

SqliteBulkInsert::SqliteBulkInsert(SqliteDb& db, std::string_view head, std::size_t columns,
                                   std::span<const NullWhen> nulls)
    : db_(&db), columns_(columns), nullable_(columns, 0), null_value_(columns, 0) {
    for (const NullWhen& n : nulls) {
        nullable_.at(n.column) = 1;
        null_value_.at(n.column) = n.value;
    }
    statements_.reserve(kRowsPerStatement.size());
    for (const std::size_t rows : kRowsPerStatement) {
        statements_.emplace_back(db, insert_sql(head, columns, rows));
    }
}

bool SqliteBulkInsert::flush() {
    std::span<const std::span<const std::int64_t>> rest = pending_;
    for (std::size_t size = 0; size < kRowsPerStatement.size(); ++size) {
        const std::size_t rows = kRowsPerStatement[size];
        while (rest.size() >= rows) {
            if (!run(statements_[size], rest.first(rows), false)) {
                pending_.clear();
                return false;
            }
            rest = rest.subspan(rows);
        }
    }
    pending_.clear();
    return true;
}

void SqliteBulkInsert::insert_one(std::span<const std::int64_t> row) {
    const std::span<const std::int64_t> rows[] = {row};
    static_cast<void>(run(statements_.back(), rows, true));
}

bool SqliteBulkInsert::run(SqliteStatement& statement,
                           std::span<const std::span<const std::int64_t>> rows, bool strict) {
    // The raw API: about 2,000 values per statement, where the wrapper's checks per call (reset
    // before parameter 1, the span's bounds) were a tenth of the batch's instructions.
    sqlite3_stmt* const handle = statement.handle();
    sqlite3_reset(handle);  // run() leaves it reset; this only makes sure
    int parameter = 1;
    for (const std::span<const std::int64_t> row : rows) {
        const std::int64_t* value = row.data();
        for (std::size_t c = 0; c < columns_; ++c, ++parameter) {
            const int rc = nullable_[c] != 0 && value[c] == null_value_[c]
                               ? sqlite3_bind_null(handle, parameter)
                               : sqlite3_bind_int64(handle, parameter, value[c]);
            if (rc != SQLITE_OK) {
                statement.bind_failed();
            }
        }
    }
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
