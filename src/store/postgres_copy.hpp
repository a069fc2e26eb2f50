// A batch's rows of one table sent with PostgreSQL's COPY protocol in its binary format
// (postgresql.org/docs/15/sql-copy.html, "Binary Format"): every value an 8-byte big-endian int8,
// so nothing is parsed or escaped on either side, and the server inserts the rows without planning
// or executing a statement per row. One COPY per table and batch, inside the batch's transaction:
// a COPY that fails aborts that transaction, so none of its rows, nor anything else of the batch,
// is committed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "store/row_plan.hpp"

namespace exchanged::store {

class PgConnection;

// One table as COPY writes it: the statement, its column count, and its NULL stand-ins.
struct PgCopyTable {
    const char* name;  // the table, for messages
    const char* sql;   // "COPY t (a, b) FROM STDIN (FORMAT binary)"
    std::size_t columns;
    std::span<const NullWhen> nulls;  // row_plan.hpp
};

// The tables a batch writes by COPY, with the columns of row_plan.hpp in their order.
const PgCopyTable& pg_copy_orders();
const PgCopyTable& pg_copy_changes();
const PgCopyTable& pg_copy_trades();
const PgCopyTable& pg_copy_audits();

// Rows of one table in COPY's binary format, kept between batches so that a batch allocates
// nothing once the buffer has grown to its size.
class PgCopyRows {
  public:
    explicit PgCopyRows(const PgCopyTable& table);

    const PgCopyTable& table() const { return *table_; }
    // Empties the rows, keeping the memory.
    void clear();
    void add_row(std::span<const std::int64_t> values);
    std::size_t rows() const { return rows_; }
    // The whole COPY data: header, rows, trailer. add_row() is not allowed after it until clear().
    std::string_view finish();

  private:
    const PgCopyTable* table_;
    std::string bytes_;
    std::size_t rows_ = 0;
    bool finished_ = false;
};

// Runs the COPY of `rows` on the connection, which must be in a transaction and not in pipeline
// mode, and checks that the server took every row. Returns PostgreSQL's message when it refused the
// rows (a duplicate key, ...): the transaction is then aborted and must be rolled back. Throws
// StoreError when the connection fails, naming `context` (e.g. "apply batch 5..9"). `midway`, when
// set, is called after the first rows are sent and before the COPY ends (a test fault: it can end
// the session there).
std::optional<std::string> pg_copy_in(PgConnection& connection, PgCopyRows& rows,
                                      std::string_view context,
                                      const std::function<void()>& midway);

}  // namespace exchanged::store
