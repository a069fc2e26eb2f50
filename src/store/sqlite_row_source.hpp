// Rows that sit in memory, read by SQL as a table: an eponymous virtual table of 64-bit integer
// columns c0, c1, ... over the rows last handed to set(). `INSERT INTO t (...) SELECT c0, ...
// FROM <name>` then writes any number of rows with one statement step and no bound parameter:
// binding costs SQLite about 90 instructions per value (a value of a multi-row VALUES is a
// parameter, reset, bound and copied), where reading a column from here costs a fraction of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "store/row_plan.hpp"
#include "store/sqlite_db.hpp"

namespace exchanged::store {

class SqliteRowSource {
  public:
    // Registers the table `name` on `db`'s connection (nothing is written to the file). `nulls`:
    // the values read as NULL. The object must outlive every statement that reads the table.
    SqliteRowSource(SqliteDb& db, std::string name, std::size_t columns,
                    std::span<const NullWhen> nulls);
    SqliteRowSource(const SqliteRowSource&) = delete;
    SqliteRowSource& operator=(const SqliteRowSource&) = delete;

    // What the table holds until the next set(); each row has `columns` values, which must stay
    // put while a statement reads them.
    void set(std::span<const std::span<const std::int64_t>> rows) { rows_ = rows; }
    // "c0, c1, ... FROM <name>"
    std::string select_list() const;

    // For the virtual table's callbacks.
    const std::string& schema() const { return schema_; }
    std::span<const std::span<const std::int64_t>> rows() const { return rows_; }
    bool reads_null(std::size_t column, std::int64_t value) const {
        return nullable_[column] != 0 && value == null_value_[column];
    }

  private:
    std::string name_;
    std::size_t columns_;
    std::string schema_;  // CREATE TABLE x(c0 INTEGER, ...)
    std::vector<std::uint8_t> nullable_;
    std::vector<std::int64_t> null_value_;
    std::span<const std::span<const std::int64_t>> rows_;
};

}  // namespace exchanged::store
