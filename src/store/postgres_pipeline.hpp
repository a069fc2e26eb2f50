// Prepared statements sent back to back in libpq's pipeline mode, so that a batch of a thousand
// events costs one round trip instead of thousands. Results are read as they arrive (the
// connection is non-blocking, so neither side can stall the other with full socket buffers) and
// checked in order; finish() sends the sync and returns the first failure: a statement PostgreSQL
// refused, or one that did not touch the number of rows expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/postgres_connection.hpp"

namespace exchanged::store {

class PgPipeline {
  public:
    struct Failure {
        std::size_t tag = 0;     // the tag given to send()
        bool row_count = false;  // true: the statement ran but touched another number of rows
        std::string message;     // PostgreSQL's message when row_count is false
    };

    // Enters pipeline mode. The connection must be idle (no statement in flight).
    explicit PgPipeline(PgConnection& connection);
    // Leaves pipeline mode; if finish() did not complete, the connection is marked broken.
    ~PgPipeline();
    PgPipeline(const PgPipeline&) = delete;
    PgPipeline& operator=(const PgPipeline&) = delete;

    // Queues one execution of a prepared statement, which must touch `expected_rows` rows (any
    // number when negative). `tag` comes back in a Failure.
    void send(const char* statement, const PgParams& params, std::size_t tag,
              std::int64_t expected_rows);
    // Sends the sync and reads every outstanding result. After a failure, PostgreSQL skipped the
    // statements that followed it; the open transaction is aborted and must be rolled back.
    // Throws StoreError when the connection fails.
    std::optional<Failure> finish();

  private:
    struct Pending {
        std::size_t tag;
        std::int64_t expected_rows;
    };

    void read_available();
    void wait_for_socket(bool writable);

    PgConnection& connection_;
    std::vector<Pending> pending_;
    std::size_t next_ = 0;     // the query whose results come next
    bool in_results_ = false;  // a result of pending_[next_] was read, its end marker not yet
    bool sync_seen_ = false;
    bool finished_ = false;
    std::size_t since_read_ = 0;
    std::optional<Failure> failure_;
};

}  // namespace exchanged::store
