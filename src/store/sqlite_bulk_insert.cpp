#include "store/sqlite_bulk_insert.hpp"

#include <sqlite3.h>

#include <utility>

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
    : db_(&db),
      columns_(columns),
      many_(db, insert_sql(head, columns, kRowsPerStatement, value_sql)),
      one_(db, insert_sql(head, columns, 1, value_sql)) {}

void SqliteBulkInsert::add(std::span<const std::int64_t> row) {
    pending_[count_++] = row;
    if (count_ == kRowsPerStatement) {
        for (std::size_t slot = 0; slot < count_; ++slot) {
            bind_row(many_, slot, pending_[slot]);
        }
        try {
            many_.run();
        } catch (const StoreError&) {
            // The failed statement left nothing behind. While the transaction is still open, the
            // rows go again one by one, so that the error names the statement of one row, not
            // sixteen; when SQLite has rolled the transaction back, one row more would commit
            // on its own.
            if (sqlite3_get_autocommit(db_->handle()) != 0) {
                throw;
            }
            flush();
            throw;  // a multi-row failure that no single row repeats: report it as it was
        }
        count_ = 0;
    }
}

void SqliteBulkInsert::flush() {
    const std::size_t count = std::exchange(count_, 0);
    for (std::size_t slot = 0; slot < count; ++slot) {
        bind_row(one_, 0, pending_[slot]);
        one_.run();
    }
}

void SqliteBulkInsert::bind_row(SqliteStatement& statement, std::size_t slot,
                                std::span<const std::int64_t> row) {
    const int base = static_cast<int>(slot * columns_);
    for (std::size_t c = 0; c < columns_; ++c) {
        statement.bind(base + static_cast<int>(c) + 1, row[c]);
    }
}

}  // namespace exchanged::store
