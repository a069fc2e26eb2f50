// A thin RAII layer over one libpq connection for the PostgreSQL store: results freed by their
// owner, 64-bit integer parameters sent in binary, every failure a StoreError naming the database
// (its DSN without the password), the step and PostgreSQL's own message. A lost connection is
// noticed by the call that hits it and re-established by the next one (ensure_connected()).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "store/store.hpp"

struct pg_conn;
struct pg_result;

namespace exchanged::store {

// At most this many parameters per statement (the audit log insert has 19).
inline constexpr std::size_t kPgMaxParams = 24;

// Parameters as libpq wants them: 8-byte big-endian int8 values in binary format.
class PgParams {
  public:
    explicit PgParams(std::span<const std::int64_t> values);
    int count() const { return count_; }
    const char* const* values() const { return pointers_; }
    const int* lengths() const { return lengths_; }
    const int* formats() const { return formats_; }

  private:
    int count_ = 0;
    char bytes_[kPgMaxParams][8] = {};
    const char* pointers_[kPgMaxParams] = {};
    int lengths_[kPgMaxParams] = {};
    int formats_[kPgMaxParams] = {};
};

class PgResult {
  public:
    PgResult() = default;
    explicit PgResult(pg_result* result) : result_(result) {}
    pg_result* get() const { return result_.get(); }
    explicit operator bool() const { return result_ != nullptr; }

    int rows() const;
    int columns() const;
    bool is_null(int row, int column) const;
    std::string text(int row, int column) const;
    // Text-format columns of int8 (or smaller) type; unsigned ids are stored as the same 64 bits.
    std::int64_t i64(int row, int column) const;
    std::uint64_t u64(int row, int column) const {
        return static_cast<std::uint64_t>(i64(row, column));
    }

  private:
    struct Clear {
        void operator()(pg_result* result) const;
    };
    std::unique_ptr<pg_result, Clear> result_;
};

// libpq's words, on one line.
std::string one_line(std::string_view message);

class PgConnection {
  public:
    // Connects. `name` is what messages call the database. Throws StoreError.
    PgConnection(const std::string& dsn, std::string name);
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    // Re-establishes a connection that was lost or left in an unknown state (mark_broken()).
    // Returns true when it did: the session's prepared statements are gone. Throws StoreError when
    // the server cannot be reached.
    bool ensure_connected();
    // The connection's state is unknown (a failure left a pipeline or a result stream half read):
    // the next ensure_connected() reconnects instead of reusing it.
    void mark_broken() { broken_ = true; }
    // The server process's id, for tests that terminate it.
    int backend_pid() const;

    // Runs one or more statements that return no rows, or whose rows are not needed.
    void exec(std::string_view sql, std::string_view step);
    // Runs one or more statements; returns the last one's result (rows or command).
    PgResult query(std::string_view sql, std::string_view step);
    // Every parameter is int8.
    void prepare(const char* statement, std::string_view sql, int param_count,
                 std::string_view step);
    PgResult exec_prepared(const char* statement, std::span<const std::int64_t> params,
                           std::string_view step);
    // Runs one query and hands over its rows one at a time, without holding them all.
    void stream(std::string_view sql, std::string_view step,
                const std::function<void(const PgResult& row)>& visit);

    // Throws "<name>: <step>: <libpq's connection message>".
    [[noreturn]] void fail(std::string_view step) const;
    // Throws "<name>: <step>: <the result's error message>".
    [[noreturn]] void fail(std::string_view step, const PgResult& result) const;
    // The result has one of the statuses a successful statement gives, else throws.
    void check(const PgResult& result, std::string_view step) const;

    pg_conn* handle() const { return conn_; }
    const std::string& name() const { return name_; }

  private:
    void connect(std::string_view step);

    std::string dsn_;
    std::string name_;
    pg_conn* conn_ = nullptr;
    bool broken_ = false;
};

// BEGIN (or the given statement) on construction; ROLLBACK on destruction unless commit() ran.
// A rollback that fails leaves the connection to be re-established.
class PgTransaction {
  public:
    PgTransaction(PgConnection& connection, std::string_view begin, std::string_view step);
    ~PgTransaction();
    PgTransaction(const PgTransaction&) = delete;
    PgTransaction& operator=(const PgTransaction&) = delete;

    // The result of the begin statement (its last statement, when it holds several).
    const PgResult& begin_result() const { return begin_result_; }
    void commit();

  private:
    PgConnection& connection_;
    std::string step_;
    PgResult begin_result_;
    bool done_ = false;
};

}  // namespace exchanged::store
