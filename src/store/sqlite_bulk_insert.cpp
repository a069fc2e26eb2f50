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
    : db_(&db), columns_(columns), nulls_(nulls) {
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
    int parameter = 1;
    for (const std::span<const std::int64_t> row : rows) {
        for (std::size_t c = 0; c < columns_; ++c) {
            if (!nulls_.empty() && stands_for_null(nulls_, c, row[c])) {
                statement.bind_null(parameter++);
            } else {
                statement.bind(parameter++, row[c]);
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
