#include "store/sqlite_bulk_insert.hpp"

#include <sqlite3.h>

namespace exchanged::store {
namespace {

std::string insert_sql(std::string_view head, std::size_t columns, std::size_t rows,
                       std::string (*value_sql)(std::size_t, int)) {
    std::string sql(head);
    sql += " VALUES ";
    int parameter = 1;
    for (std::size_t r = 0; r < rows; ++r) {
        sql += r == 0 ? "(" : ", (";
        for (std::size_t c = 0; c < columns; ++c) {
            sql += (c == 0 ? "" : ", ") + value_sql(c, parameter++);
        }
        sql += ')';
    }
    return sql;
}

}  // namespace

std::string plain_value(std::size_t, int parameter) {
    return "?" + std::to_string(parameter);
}

SqliteBulkInsert::SqliteBulkInsert(SqliteDb& db, std::string_view head, std::size_t columns,
                                   std::string (*value_sql)(std::size_t, int))
    : db_(&db), columns_(columns) {
    statements_.reserve(kRowsPerStatement.size());
    for (const std::size_t rows : kRowsPerStatement) {
        statements_.emplace_back(db, insert_sql(head, columns, rows, value_sql));
    }
}

void SqliteBulkInsert::flush() {
    std::span<const std::span<const std::int64_t>> rest = pending_;
    for (std::size_t size = 0; size < kRowsPerStatement.size(); ++size) {
        const std::size_t rows = kRowsPerStatement[size];
        while (rest.size() >= rows) {
            run(statements_[size], rest.first(rows));
            rest = rest.subspan(rows);
        }
    }
    pending_.clear();
}

void SqliteBulkInsert::run(SqliteStatement& statement,
                           std::span<const std::span<const std::int64_t>> rows) {
    int parameter = 1;
    for (const std::span<const std::int64_t> row : rows) {
        for (std::size_t c = 0; c < columns_; ++c) {
            statement.bind(parameter++, row[c]);
        }
    }
    try {
        statement.run();
    } catch (const StoreError&) {
        // The failed statement left nothing behind. While the transaction is still open, its
        // rows go again one by one, so that the error names the statement of one row, not many;
        // when SQLite has rolled the transaction back, one row more would commit on its own.
        if (rows.size() == 1 || sqlite3_get_autocommit(db_->handle()) != 0) {
            throw;
        }
        for (std::size_t r = 0; r < rows.size(); ++r) {
            run(statements_.back(), rows.subspan(r, 1));
        }
        throw;  // a multi-row failure that no single row repeats: report it as it was
    }
}

}  // namespace exchanged::store
