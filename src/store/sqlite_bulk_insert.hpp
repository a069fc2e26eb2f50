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

#include "store/row_plan.hpp"
#include "store/sqlite_db.hpp"

namespace exchanged::store {

class SqliteBulkInsert {
  public:
    // Rows per statement, largest first; the last must be 1. 128 rows of the widest table (the
    // audit log, 19 columns) bind 2,432 parameters, far below SQLite's limit of 32,766.
    static constexpr std::array<std::size_t, 4> kRowsPerStatement = {128, 32, 8, 1};

    // `head`: "INSERT OR ROLLBACK INTO t (a, b, c)"; `nulls`: the values bound as NULL. A
    // multi-row INSERT that may stop halfway (OR ABORT, the default, or any SQL function in its
    // values) makes SQLite keep a statement journal to undo its own rows: a copy of every page the
    // statement changes, which spills to a temporary file beyond 64 KiB. A batch that fails is
    // rolled back whole anyway.
    SqliteBulkInsert(SqliteDb& db, std::string_view head, std::size_t columns,
                     std::span<const NullWhen> nulls = {});

    // The row must stay valid until flush().
    void add(std::span<const std::int64_t> row) { pending_.push_back(row); }
    // Writes the rows collected. False when a row broke a constraint (a key already taken): the
    // statements are INSERT OR ROLLBACK, so SQLite has rolled the whole transaction back.
    [[nodiscard]] bool flush();
    // Drops the rows collected (of a batch that failed before flush()).
    void discard() { pending_.clear(); }
    // Writes one row by itself, now (the strict retry of a refused batch, in event order).
    void insert_one(std::span<const std::int64_t> row);

  private:
    // Writes `rows` with `statement`, which takes exactly that many; false as flush(), unless
    // `strict`: then every failure throws.
    bool run(SqliteStatement& statement, std::span<const std::span<const std::int64_t>> rows,
             bool strict);

    SqliteDb* db_;
    std::size_t columns_;
    // Per column: whether some value stands for NULL in it, and which (from `nulls`), so that the
    // bind loop tests one flag per value.
    std::vector<std::uint8_t> nullable_;
    std::vector<std::int64_t> null_value_;
    std::vector<SqliteStatement> statements_;  // in kRowsPerStatement's order
    std::vector<std::span<const std::int64_t>> pending_;
};

}  // namespace exchanged::store
