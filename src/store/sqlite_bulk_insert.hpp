// Inserting many rows of one table with few statements: rows are collected (as views of values
// that stay put until the batch ends, no copies) and written kRowsPerStatement at a time by one
// multi-row INSERT prepared once; the remainder goes row by row through a one-row INSERT.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "store/sqlite_db.hpp"

namespace exchanged::store {

class SqliteBulkInsert {
  public:
    static constexpr std::size_t kRowsPerStatement = 16;

    // `head`: "INSERT INTO t (a, b, c)". `value_sql(column, parameter)` says what a column's
    // value is made of, e.g. "?7" or "nullif(?7, 0)".
    SqliteBulkInsert(SqliteDb& db, std::string_view head, std::size_t columns,
                     std::string (*value_sql)(std::size_t column, int parameter));

    // The row must stay valid until flush().
    void add(std::span<const std::int64_t> row);
    // Writes the rows still collected.
    void flush();
    // Drops the rows still collected (of a batch that failed before flush()).
    void discard() { count_ = 0; }

  private:
    void bind_row(SqliteStatement& statement, std::size_t slot, std::span<const std::int64_t> row);

    SqliteDb* db_;
    std::size_t columns_;
    SqliteStatement many_;
    SqliteStatement one_;
    std::array<std::span<const std::int64_t>, kRowsPerStatement> pending_;
    std::size_t count_ = 0;
};

// A plain parameter: "?<parameter>".
std::string plain_value(std::size_t column, int parameter);

}  // namespace exchanged::store
