// Inserting many rows of one table with one statement: rows are collected (as views of values
// that stay put until the batch ends, no copies) and written by `INSERT ... SELECT` from a
// virtual table that reads them in place (sqlite_row_source.hpp), prepared once. Nothing is bound
// per value, and what SQLite spends per statement (reset, opening the table's and its indexes'
// cursors, seeking each from the root) is shared by all of the batch's rows of the table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/row_plan.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_row_source.hpp"

namespace exchanged::store {

class SqliteBulkInsert {
  public:
    // `head`: "INSERT OR ROLLBACK INTO t (a, b, c)"; `source`: the name of the virtual table that
    // feeds it, unique on the connection; `nulls`: the values written as NULL. A multi-row INSERT
    // that may stop halfway (OR ABORT, the default, or any SQL function in its values) makes
    // SQLite keep a statement journal to undo its own rows: a copy of every page the statement
    // changes, which spills to a temporary file beyond 64 KiB. A batch that fails is rolled back
    // whole anyway.
    SqliteBulkInsert(SqliteDb& db, std::string_view head, std::string_view source,
                     std::size_t columns, std::span<const NullWhen> nulls = {});

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
    // Runs `statement`; false as flush(), unless `strict`: then every failure throws.
    bool run(SqliteStatement& statement, bool strict);

    SqliteDb* db_;
    std::size_t columns_;
    std::unique_ptr<SqliteRowSource> source_;  // before the statements that read it
    SqliteStatement insert_all_;               // INSERT ... SELECT from source_
    SqliteStatement insert_one_;               // INSERT ... VALUES (?1, ...)
    std::vector<std::span<const std::int64_t>> pending_;
};

}  // namespace exchanged::store
