#include "store/postgres_columns.hpp"

#include <charconv>

#include "store/store.hpp"

namespace exchanged::store {

PgArrayColumns::PgArrayColumns(std::size_t columns) : columns_(columns) {
    clear();
}

void PgArrayColumns::clear() {
    for (std::string& column : columns_) {
        column.assign(1, '{');
    }
    rows_ = 0;
    finished_ = false;
}

void PgArrayColumns::add_row(std::span<const std::int64_t> values) {
    if (values.size() != columns_.size() || finished_) {
        throw StoreError("internal: a row of " + std::to_string(values.size()) + " values for " +
                         std::to_string(columns_.size()) + " array columns");
    }
    char digits[24];
    for (std::size_t c = 0; c < values.size(); ++c) {
        if (rows_ != 0) {
            columns_[c] += ',';
        }
        const auto end = std::to_chars(digits, digits + sizeof(digits), values[c]).ptr;
        columns_[c].append(digits, end);
    }
    ++rows_;
}

std::span<const std::string> PgArrayColumns::finish() {
    if (!finished_) {
        for (std::string& column : columns_) {
            column += '}';
        }
        finished_ = true;
    }
    return columns_;
}

}  // namespace exchanged::store
