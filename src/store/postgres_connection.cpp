#include "store/postgres_connection.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <utility>

#include "store/postgres_dsn.hpp"

namespace exchanged::store {
namespace {

constexpr Oid kInt8Oid = 20;  // pg_type.oid of int8 (bigint)

// A store has no logger of its own; notices such as "relation already exists, skipping" carry
// nothing the caller could act on.
void ignore_notice(void*, const char*) {}

}  // namespace

namespace {

int checked_count(std::size_t count) {
    if (count > kPgMaxParams) {
        throw StoreError("internal: a statement with " + std::to_string(count) +
                         " parameters (at most " + std::to_string(kPgMaxParams) + ")");
    }
    return static_cast<int>(count);
}

}  // namespace

PgParams::PgParams(std::span<const std::int64_t> values) : count_(checked_count(values.size())) {
    for (std::size_t i = 0; i < values.size(); ++i) {
        auto bits = static_cast<std::uint64_t>(values[i]);
        for (int byte = 7; byte >= 0; --byte) {
            bytes_[i][byte] = static_cast<char>(bits & 0xff);
            bits >>= 8;
        }
        pointers_[i] = bytes_[i];
        lengths_[i] = 8;
        formats_[i] = 1;
    }
}

void PgResult::Clear::operator()(pg_result* result) const {
    PQclear(result);
}

int PgResult::rows() const {
    return PQntuples(result_.get());
}

int PgResult::columns() const {
    return PQnfields(result_.get());
}

bool PgResult::is_null(int row, int column) const {
    return PQgetisnull(result_.get(), row, column) != 0;
}

std::string PgResult::text(int row, int column) const {
    return std::string(PQgetvalue(result_.get(), row, column),
                       static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::int64_t PgResult::i64(int row, int column) const {
    const char* text = PQgetvalue(result_.get(), row, column);
    const int length = PQgetlength(result_.get(), row, column);
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text, text + length, value);
    if (error != std::errc() || end != text + length) {
        throw StoreError("internal: column " + std::to_string(column) + " holds '" +
                         std::string(text, static_cast<std::size_t>(length)) +
                         "', not a 64-bit integer");
    }
    return value;
}

std::string one_line(std::string_view message) {
    std::string out;
    bool space = false;
    for (const char c : message) {
        if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) {
            out += ' ';
            space = false;
        }
        out += c;
    }
    return out.empty() ? "no message from libpq" : out;
}

PgConnection::PgConnection(const std::string& dsn, std::string name)
    : dsn_(dsn), name_(std::move(name)) {
    connect("connect");
}

PgConnection::~PgConnection() {
    PQfinish(conn_);
}

void PgConnection::connect(std::string_view step) {
    PQfinish(conn_);
    conn_ = nullptr;
    // expand_dbname: the DSN may be key=value pairs or a URI; later keywords fill what it omits.
    const char* const keywords[] = {"dbname", "fallback_application_name", nullptr};
    const char* const values[] = {dsn_.c_str(), "exchanged", nullptr};
    conn_ = PQconnectdbParams(keywords, values, 1);
    if (conn_ == nullptr) {
        throw StoreError(name_ + ": " + std::string(step) + ": out of memory");
    }
    if (PQstatus(conn_) != CONNECTION_OK) {
        // Freed here: a constructor that throws runs no destructor. A null connection reads as
        // lost, so the next ensure_connected() tries again.
        const std::string message = without_secrets(one_line(PQerrorMessage(conn_)));
        PQfinish(conn_);
        conn_ = nullptr;
        throw StoreError(name_ + ": " + std::string(step) + ": " + message);
    }
    PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
    broken_ = false;
}

bool PgConnection::ensure_connected() {
    if (!broken_ && PQstatus(conn_) == CONNECTION_OK) {
        return false;
    }
    // A fresh connection rather than PQreset(): no pipeline or nonblocking state can survive.
    connect("reconnect");
    return true;
}

int PgConnection::backend_pid() const {
    return PQbackendPID(conn_);
}

void PgConnection::fail(std::string_view step) const {
    throw StoreError(name_ + ": " + std::string(step) + ": " +
                     without_secrets(one_line(PQerrorMessage(conn_))));
}

void PgConnection::fail(std::string_view step, const PgResult& result) const {
    const char* message = result ? PQresultErrorMessage(result.get()) : "";
    if (message[0] == '\0') {
        message = PQerrorMessage(conn_);
    }
    throw StoreError(name_ + ": " + std::string(step) + ": " + one_line(message));
}

void PgConnection::check(const PgResult& result, std::string_view step) const {
    if (!result) {
        fail(step);
    }
    const ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        fail(step, result);
    }
}

void PgConnection::exec(std::string_view sql, std::string_view step) {
    query(sql, step);
}

PgResult PgConnection::query(std::string_view sql, std::string_view step) {
    PgResult result(PQexec(conn_, std::string(sql).c_str()));
    check(result, step);
    return result;
}

void PgConnection::prepare(const char* statement, std::string_view sql, int param_count,
                           std::string_view step) {
    Oid types[kPgMaxParams];
    for (int i = 0; i < param_count; ++i) {
        types[i] = kInt8Oid;
    }
    PgResult result(PQprepare(conn_, statement, std::string(sql).c_str(), param_count, types));
    check(result, step);
}

PgResult PgConnection::exec_prepared(const char* statement, std::span<const std::int64_t> params,
                                     std::string_view step) {
    const PgParams p(params);
    PgResult result(
        PQexecPrepared(conn_, statement, p.count(), p.values(), p.lengths(), p.formats(), 0));
    check(result, step);
    return result;
}

void PgConnection::stream(std::string_view sql, std::string_view step,
                          const std::function<void(const PgResult& row)>& visit) {
    if (PQsendQueryParams(conn_, std::string(sql).c_str(), 0, nullptr, nullptr, nullptr, nullptr,
                          0) != 1) {
        fail(step);
    }
    if (PQsetSingleRowMode(conn_) != 1) {
        mark_broken();
        fail(step);
    }
    std::string error;
    try {
        // One result per row, then a final one without rows, then none.
        while (PgResult result{PQgetResult(conn_)}) {
            const ExecStatusType status = PQresultStatus(result.get());
            if (status == PGRES_SINGLE_TUPLE) {
                if (error.empty()) {
                    visit(result);
                }
            } else if (status != PGRES_TUPLES_OK && error.empty()) {
                error = one_line(PQresultErrorMessage(result.get()));
            }
        }
    } catch (...) {
        // The rest of the rows are still on their way: drop the connection instead of reading
        // them.
        mark_broken();
        throw;
    }
    if (!error.empty()) {
        throw StoreError(name_ + ": " + std::string(step) + ": " + error);
    }
}

PgTransaction::PgTransaction(PgConnection& connection, std::string_view begin,
                             std::string_view step)
    : connection_(connection), step_(step) {
    try {
        begin_result_ = connection.query(begin, step);
    } catch (const StoreError&) {
        // BEGIN may have opened the transaction that a later statement of `begin` then failed.
        done_ = true;
        if (PQtransactionStatus(connection_.handle()) != PQTRANS_IDLE) {
            try {
                connection_.exec("ROLLBACK", step_ + ": rollback");
            } catch (const StoreError&) {
                connection_.mark_broken();
            }
        }
        throw;
    }
}

PgTransaction::~PgTransaction() {
    if (done_) {
        return;
    }
    const PGTransactionStatusType status = PQtransactionStatus(connection_.handle());
    if (status == PQTRANS_IDLE) {
        return;  // the server already ended it (a failed COMMIT)
    }
    if (status != PQTRANS_INTRANS && status != PQTRANS_INERROR) {
        connection_.mark_broken();  // mid-statement or gone: closing the session rolls back
        return;
    }
    try {
        connection_.exec("ROLLBACK", step_ + ": rollback");
    } catch (const StoreError&) {
        // The failure that got us here is the one worth reporting.
        connection_.mark_broken();
    }
}

void PgTransaction::commit() {
    const PgResult result = connection_.query("COMMIT", step_ + ": commit");
    done_ = true;
    // COMMIT of a transaction that failed on the server answers ROLLBACK, not an error.
    if (std::string_view(PQcmdStatus(result.get())) != "COMMIT") {
        throw StoreError(connection_.name() + ": " + step_ +
                         ": commit: the server rolled the transaction back");
    }
}

}  // namespace exchanged::store
