#include "store/postgres_copy.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <utility>

#include "store/postgres_connection.hpp"
#include "store/row_plan.hpp"
#include "store/store.hpp"

namespace exchanged::store {
namespace {

// "PGCOPY\n\377\r\n\0", then 32-bit flags (no OIDs) and the length of the header extension (none).
constexpr std::string_view kHeader{"PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19};
// A field count of -1 ends the data.
constexpr std::string_view kTrailer{"\377\377", 2};
// The data goes to libpq in messages of at most this size, so its output buffer stays small.
constexpr std::size_t kChunkBytes = 64 * 1024;

const PgCopyTable kOrders{
    "orders",
    "COPY orders (shard, order_id, account, instrument, client_order_id, side, price, quantity, "
    "leaves, executed, state, flags, priority, accepted_lsn, finished_lsn, finished_pos) "
    "FROM STDIN (FORMAT binary)",
    kOrderColumns, kOrderNulls};
const PgCopyTable kChanges{
    "order_changes",
    "COPY order_changes (lsn, pos, shard, order_id, kind, state, price, leaves, executed, "
    "priority) FROM STDIN (FORMAT binary)",
    kChangeColumns,
    {}};
const PgCopyTable kTrades{
    "trades",
    "COPY trades (shard, trade_id, instrument, price, quantity, taker_order_id, taker_account, "
    "taker_side, maker_order_id, maker_account, maker_side, lsn, seq, timestamp_ns) "
    "FROM STDIN (FORMAT binary)",
    kTradeColumns,
    {}};
const PgCopyTable kAudits{
    "audit_log",
    "COPY audit_log (lsn, position, shard, seq, timestamp_ns, type, reason, side, account, "
    "instrument, order_id, client_order_id, price, quantity, leaves, trade_id, maker_order_id, "
    "maker_account, maker_leaves) FROM STDIN (FORMAT binary)",
    kAuditColumns,
    {}};

void put_big_endian(std::string& out, std::uint64_t value, int bytes) {
    char buffer[8];
    for (int i = bytes - 1; i >= 0; --i) {
        buffer[i] = static_cast<char>(value & 0xff);
        value >>= 8;
    }
    out.append(buffer, static_cast<std::size_t>(bytes));
}

}  // namespace

const PgCopyTable& pg_copy_orders() {
    return kOrders;
}
const PgCopyTable& pg_copy_changes() {
    return kChanges;
}
const PgCopyTable& pg_copy_trades() {
    return kTrades;
}
const PgCopyTable& pg_copy_audits() {
    return kAudits;
}

PgCopyRows::PgCopyRows(const PgCopyTable& table) : table_(&table) {
    clear();
}

void PgCopyRows::clear() {
    bytes_.assign(kHeader);
    rows_ = 0;
    finished_ = false;
}

void PgCopyRows::add_row(std::span<const std::int64_t> values) {
    if (values.size() != table_->columns || finished_) {
        throw StoreError("internal: a row of " + std::to_string(values.size()) + " values for " +
                         std::to_string(table_->columns) + " columns of " + table_->name);
    }
    put_big_endian(bytes_, values.size(), 2);
    for (std::size_t c = 0; c < values.size(); ++c) {
        if (stands_for_null(table_->nulls, c, values[c])) {
            put_big_endian(bytes_, 0xffffffffU, 4);  // length -1: NULL
            continue;
        }
        put_big_endian(bytes_, 8, 4);
        put_big_endian(bytes_, static_cast<std::uint64_t>(values[c]), 8);
    }
    ++rows_;
}

std::string_view PgCopyRows::finish() {
    if (!finished_) {
        bytes_.append(kTrailer);
        finished_ = true;
    }
    return bytes_;
}

std::optional<std::string> pg_copy_in(PgConnection& connection, PgCopyRows& rows,
                                      std::string_view context,
                                      const std::function<void()>& midway) {
    const std::string step = std::string(context) + ": copy into " + rows.table().name;
    PGconn* conn = connection.handle();
    const std::string_view data = rows.finish();
    {
        const PgResult start(PQexec(conn, rows.table().sql));
        if (!start) {
            connection.fail(step);
        }
        if (PQresultStatus(start.get()) != PGRES_COPY_IN) {
            if (PQstatus(conn) != CONNECTION_OK) {
                connection.fail(step, start);
            }
            return one_line(PQresultErrorMessage(start.get()));
        }
    }
    for (std::size_t sent = 0; sent < data.size();) {
        const std::size_t size = std::min(kChunkBytes, data.size() - sent);
        if (PQputCopyData(conn, data.data() + sent, static_cast<int>(size)) != 1) {
            connection.mark_broken();
            connection.fail(step);
        }
        sent += size;
        if (midway && sent == size) {
            midway();
        }
    }
    if (PQputCopyEnd(conn, nullptr) != 1) {
        connection.mark_broken();
        connection.fail(step);
    }
    // The COPY's result, then none.
    std::optional<std::string> refused;
    std::string lost;
    bool ended = false;
    while (PgResult result{PQgetResult(conn)}) {
        const ExecStatusType status = PQresultStatus(result.get());
        if (status == PGRES_COMMAND_OK && !ended) {
            ended = true;
            if (std::string_view(PQcmdTuples(result.get())) != std::to_string(rows.rows())) {
                refused = "COPY took " + std::string(PQcmdTuples(result.get())) + " of " +
                          std::to_string(rows.rows()) + " rows";
            }
        } else if (!refused && lost.empty()) {
            const char* message = PQresultErrorMessage(result.get());
            std::string words = one_line(message[0] != '\0' ? message : PQerrorMessage(conn));
            if (PQstatus(conn) == CONNECTION_OK) {
                refused = std::move(words);
            } else {
                lost = std::move(words);
            }
        }
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        connection.mark_broken();
        throw StoreError(connection.name() + ": " + step + ": " +
                         (lost.empty() ? one_line(PQerrorMessage(conn)) : lost));
    }
    if (!ended && !refused) {
        refused = "COPY ended without a result";
    }
    return refused;
}

}  // namespace exchanged::store
