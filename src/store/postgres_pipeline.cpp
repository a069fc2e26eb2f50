#include "store/postgres_pipeline.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

namespace exchanged::store {
namespace {

// Every so many statements, the pipeline sends what libpq buffered and reads what the server has
// answered, instead of a system call per statement.
constexpr std::size_t kReadEvery = 64;

}  // namespace

PgPipeline::PgPipeline(PgConnection& connection) : connection_(connection) {
    PGconn* conn = connection_.handle();
    if (PQenterPipelineMode(conn) != 1) {
        connection_.fail("enter pipeline mode");
    }
    if (PQsetnonblocking(conn, 1) != 0) {
        connection_.mark_broken();
        connection_.fail("set non-blocking");
    }
}

PgPipeline::~PgPipeline() {
    PGconn* conn = connection_.handle();
    if (!finished_ || PQexitPipelineMode(conn) != 1 || PQsetnonblocking(conn, 0) != 0) {
        connection_.mark_broken();
    }
}

void PgPipeline::send(const char* statement, const PgParams& p, std::size_t tag,
                      std::int64_t expected_rows) {
    if (PQsendQueryPrepared(connection_.handle(), statement, p.count(), p.values(), p.lengths(),
                            p.formats(), 0) != 1) {
        connection_.fail(std::string("send \"") + statement + "\"");
    }
    pending_.push_back(Pending{tag, expected_rows});
    if (++since_read_ < kReadEvery) {
        return;
    }
    since_read_ = 0;
    // Wait until the server has taken what was sent so far: libpq's output buffer stays small
    // (it moves its unsent bytes to the front after every partial send, which is quadratic in a
    // large buffer), and reading the answers meanwhile keeps the server from blocking on them.
    PGconn* conn = connection_.handle();
    while (true) {
        const int flushed = PQflush(conn);
        if (flushed < 0 || PQconsumeInput(conn) != 1) {
            connection_.fail("pipeline");
        }
        read_available();
        if (flushed == 0) {
            return;
        }
        wait_for_socket(true);
    }
}

std::optional<PgPipeline::Failure> PgPipeline::finish() {
    PGconn* conn = connection_.handle();
    if (PQpipelineSync(conn) != 1) {
        connection_.fail("pipeline sync");
    }
    while (true) {
        const int flushed = PQflush(conn);  // 0: all sent, 1: more to send
        if (flushed < 0 || PQconsumeInput(conn) != 1) {
            connection_.fail("pipeline");
        }
        read_available();
        if (sync_seen_) {
            break;
        }
        wait_for_socket(flushed == 1);
    }
    if (next_ != pending_.size()) {
        connection_.mark_broken();
        throw StoreError(connection_.name() + ": pipeline: " + std::to_string(next_) +
                         " results for " + std::to_string(pending_.size()) + " statements");
    }
    finished_ = true;
    return failure_;
}

void PgPipeline::read_available() {
    PGconn* conn = connection_.handle();
    // Each statement yields its result then a null that ends it; the sync yields one result.
    while (!sync_seen_ && PQisBusy(conn) == 0) {
        PgResult result(PQgetResult(conn));
        if (!result) {
            if (in_results_) {
                in_results_ = false;
                ++next_;
                continue;
            }
            break;
        }
        const ExecStatusType status = PQresultStatus(result.get());
        if (status == PGRES_PIPELINE_SYNC) {
            sync_seen_ = true;
            break;
        }
        if (next_ >= pending_.size()) {
            connection_.mark_broken();
            throw StoreError(connection_.name() + ": pipeline: more results than statements");
        }
        in_results_ = true;
        if (failure_) {
            continue;  // PGRES_PIPELINE_ABORTED: skipped after the first failure
        }
        const Pending& query = pending_[next_];
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            if (query.expected_rows >= 0 && std::string_view(PQcmdTuples(result.get())) !=
                                                std::to_string(query.expected_rows)) {
                failure_ = Failure{query.tag, true, {}};
            }
        } else {
            const char* message = PQresultErrorMessage(result.get());
            failure_ = Failure{query.tag, false,
                               one_line(message[0] != '\0' ? message : PQerrorMessage(conn))};
        }
    }
}

void PgPipeline::wait_for_socket(bool writable) {
    pollfd fd{};
    fd.fd = PQsocket(connection_.handle());
    if (fd.fd < 0) {
        connection_.fail("pipeline");
    }
    // Always readable too: the server may need its answers read before it takes more input.
    fd.events = static_cast<short>(POLLIN | (writable ? POLLOUT : 0));
    while (::poll(&fd, 1, -1) < 0) {
        if (errno != EINTR) {
            connection_.mark_broken();
            throw StoreError(connection_.name() + ": pipeline: poll: " + std::strerror(errno));
        }
    }
}

}  // namespace exchanged::store
