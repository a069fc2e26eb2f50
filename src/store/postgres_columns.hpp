// Many rows' columns as int8[] literals ("{1,2,3}"), so that one INSERT ... SELECT FROM
// unnest($1, $2, ...) writes a whole batch's rows of a table instead of one statement per row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace exchanged::store {

class PgArrayColumns {
  public:
    explicit PgArrayColumns(std::size_t columns);

    // Empties every column, keeping the memory for the next batch.
    void clear();
    void add_row(std::span<const std::int64_t> values);
    std::size_t rows() const { return rows_; }
    // The closed literals, one per column; add_row() is not allowed after it until clear().
    std::span<const std::string> finish();

  private:
    std::vector<std::string> columns_;
    std::size_t rows_ = 0;
    bool finished_ = false;
};

}  // namespace exchanged::store
