// The admin HTTP endpoint (docs/architecture.md: Operations): Prometheus scrapes GET /metrics, a
// load balancer or an operator asks GET /health. It runs on a thread of its own ("admin") with its
// own io_context, so a slow or hostile admin client can never take time from the gateway's io
// threads or the shards.
//
// It is meant for loopback ([server] admin_listen) and is small and bounded rather than general:
// HTTP/1.1 with keep-alive, GET (and POST on the paths given in post_handlers), a few connections,
// small requests, a read deadline. Asio and Beast stay inside admin_server.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "ops/metrics.hpp"

namespace exchanged::ops {

// {healthy, text}: GET /health answers 200 when healthy, 503 when not, with `text` as the body
// ("ok" or "unhealthy" when empty). Called on the admin thread at each request: quick, no blocking.
using HealthCheck = std::function<std::pair<bool, std::string>()>;

// The answer to a POST: its HTTP status and its body, sent as application/json. Callable from any
// thread, at most once, before the server is destroyed; after stop() it is dropped.
using AdminReply = std::function<void(unsigned status, std::string body)>;
// A POST endpoint: called on the admin thread; must not block (hand the work to another thread
// and call `reply` from there). The body of the request is ignored.
using PostHandler = std::function<void(AdminReply reply)>;
// A GET endpoint beyond /metrics and /health: given the query string (after '?'), it answers
// {status, body} (application/octet-stream) on the admin thread, so it must be quick and bounded.
using GetHandler = std::function<std::pair<unsigned, std::string>(const std::string& query)>;
// A POST endpoint that reads its (small, body_limit_bytes) request body, e.g. `epoch=3`.
using PostBodyHandler = std::function<void(const std::string& body, AdminReply reply)>;

struct AdminOptions {
    // Connections served at once; the ones accepted beyond it are closed at once, so a client
    // that opens connections and sends nothing cannot hold more than this many descriptors.
    std::size_t max_connections = 16;
    // A request must arrive whole within this time from the moment the server starts waiting for
    // it (so this is also the keep-alive idle time); a response must be taken within it too.
    std::chrono::milliseconds read_timeout{5000};
    // The request line and headers; beyond it the answer is 431 and the connection is closed.
    std::uint32_t header_limit_bytes = 8 * 1024;
    // Only post_body_handlers read a body; elsewhere a small one is read and ignored so that, say,
    // a POST gets a 405 rather than a 413. Beyond it the answer is 413 and the connection is
    // closed.
    std::uint32_t body_limit_bytes = 1024;
    // Empty: always healthy.
    HealthCheck health;
    // POST endpoints by path, e.g. "/backup" (docs/operations.md "Backups"); answered as
    // application/json. Every other path takes GET only.
    std::map<std::string, PostHandler> post_handlers;
    // POST endpoints given the request body (docs/replication.md: Promotion).
    std::map<std::string, PostBodyHandler> post_body_handlers;
    // GET endpoints by path (docs/replication.md: Promotion).
    std::map<std::string, GetHandler> get_handlers;
};

// Counts since start(), read with relaxed atomics: a snapshot, not a consistent cut.
struct AdminStats {
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_refused = 0;  // closed at accept: max_connections were open
    std::uint64_t requests = 0;             // answered, whatever the status
    std::uint64_t bad_requests = 0;         // unparseable or over a limit: 400, 413 or 431
    std::uint64_t timeouts = 0;             // closed because read_timeout passed
};

class AdminServer {
  public:
    // `host` as in [server] admin_listen (a name or an address); `port` 0 lets the OS pick one
    // (tests), see port(). `metrics` must outlive the server.
    AdminServer(std::string host, std::uint16_t port, const Metrics& metrics,
                AdminOptions options = {});
    // stop().
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // Seals `metrics` (see Metrics::seal), binds, listens and starts the "admin" thread. Throws
    // std::runtime_error naming host:port and the OS error when it cannot listen, and
    // std::logic_error when called twice or after stop().
    void start();
    // The bound port, valid after start().
    std::uint16_t port() const;
    // Closes the listening socket and every connection, and joins the thread. Returns promptly
    // whatever the clients do (it waits only for a metric or health callback already running).
    // Idempotent, callable from any thread but the admin thread itself (so not from a callback).
    void stop();

    std::size_t open_connections() const;
    AdminStats stats() const;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace exchanged::ops
