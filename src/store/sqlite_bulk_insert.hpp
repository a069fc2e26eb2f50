// Inserting many rows of one table with few statements: rows are collected (as views of values
// that stay put until the batch ends, no copies) and written by multi-row INSERTs prepared once,
// the largest first: a batch's 500 orders take 3 statements of 128 rows, 3 of 32, 2 of 8 and 4
// of one. Most of what SQLite spends per statement (reset, opening the table's and its indexes'
// cursors, seeking each from the root) is then shared by many rows.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite_db.hpp"

namespace exchanged::store {

class SqliteBulkInsert {
  public:
    // Rows per statement, largest first; the last must be 1. 128 rows of the widest table (the
    // audit log, 19 columns) bind 2,432 parameters, far below SQLite's limit of 32,766.
    static constexpr std::array<std::size_t, 4> kRowsPerStatement = {128, 32, 8, 1};

    // `head`: "INSERT INTO t (a, b, c)". `value_sql(column, parameter)` says what a column's
    // value is made of, e.g. "?7" or "nullif(?7, 0)".
    SqliteBulkInsert(SqliteDb& db, std::string_view head, std::size_t columns,
                     std::string (*value_sql)(std::size_t column, int parameter));

    // The row must stay valid until flush().
    void add(std::span<const std::int64_t> row) { pending_.push_back(row); }
    // Writes the rows collected.
    void flush();
    // Drops the rows collected (of a batch that failed before flush()).
    void discard() { pending_.clear(); }

  private:
    // Writes `rows` with `statement`, which takes exactly that many.
    void run(SqliteStatement& statement, std::span<const std::span<const std::int64_t>> rows);

    SqliteDb* db_;
    std::size_t columns_;
    std::vector<SqliteStatement> statements_;  // in kRowsPerStatement's order
    std::vector<std::span<const std::int64_t>> pending_;
};

// A plain parameter: "?<parameter>".
std::string plain_value(std::size_t column, int parameter);

}  // namespace exchanged::store
