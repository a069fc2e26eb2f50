#include "ops/admin_server.hpp"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <spdlog/spdlog.h>

namespace exchanged::ops {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kTextContentType = "text/plain; charset=utf-8";
constexpr std::string_view kJsonContentType = "application/json";
// Retrying accept at once after, say, EMFILE would spin the admin thread.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

void bump(std::atomic<std::uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
}

// What the acceptor and the connections share; owned by AdminServer::Impl, which outlives them.
struct Shared {
    const Metrics& metrics;
    AdminOptions options;
    std::atomic<std::size_t> open_connections{0};
    std::atomic<std::uint64_t> connections_accepted{0};
    std::atomic<std::uint64_t> connections_refused{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> bad_requests{0};
    std::atomic<std::uint64_t> timeouts{0};
};

std::string host_port(const std::string& host, std::uint16_t port) {
    const bool ipv6 = host.find(':') != std::string::npos;
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Response make_response(http::status status, unsigned version, std::string_view content_type,
                       std::string body) {
    Response response{status, version};
    // Beast 1.74 takes boost::string_view, not std::string_view.
    response.set(http::field::content_type,
                 beast::string_view(content_type.data(), content_type.size()));
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

Response health_response(const Shared& shared, unsigned version) {
    bool healthy = true;
    std::string text;
    if (shared.options.health) {
        std::tie(healthy, text) = shared.options.health();
    }
    if (text.empty()) {
        text = healthy ? "ok" : "unhealthy";
    }
    if (text.back() != '\n') {
        text += '\n';
    }
    return make_response(healthy ? http::status::ok : http::status::service_unavailable, version,
                         kTextContentType, std::move(text));
}

std::string_view request_path(const Request& request) {
    const beast::string_view target = request.target();
    std::string_view path(target.data(), target.size());
    return path.substr(0, path.find('?'));
}

// The POST handler for this request, or null when it is not a POST to one of them.
const PostHandler* post_handler(const Shared& shared, const Request& request) {
    if (request.method() != http::verb::post) {
        return nullptr;
    }
    const auto found = shared.options.post_handlers.find(std::string(request_path(request)));
    return found == shared.options.post_handlers.end() ? nullptr : &found->second;
}

const PostBodyHandler* post_body_handler(const Shared& shared, const Request& request) {
    if (request.method() != http::verb::post) {
        return nullptr;
    }
    const auto found = shared.options.post_body_handlers.find(std::string(request_path(request)));
    return found == shared.options.post_body_handlers.end() ? nullptr : &found->second;
}

Response route(const Shared& shared, const Request& request) {
    const unsigned version = request.version();
    const std::string_view path = request_path(request);
    const bool post_path = shared.options.post_handlers.count(std::string(path)) != 0 ||
                           shared.options.post_body_handlers.count(std::string(path)) != 0;
    if (request.method() != http::verb::get || post_path) {
        const char* allowed = post_path ? "POST" : "GET";
        Response response =
            make_response(http::status::method_not_allowed, version, kTextContentType,
                          std::string("only ") + allowed + " is served on this path\n");
        response.set(http::field::allow, allowed);
        return response;
    }
    try {
        if (path == "/metrics") {
            return make_response(http::status::ok, version, kMetricsContentType,
                                 shared.metrics.render());
        }
        if (path == "/health") {
            return health_response(shared, version);
        }
        if (const auto found = shared.options.get_handlers.find(std::string(path));
            found != shared.options.get_handlers.end()) {
            const beast::string_view target = request.target();
            const std::string_view whole(target.data(), target.size());
            const std::size_t mark = whole.find('?');
            auto [status, body] = found->second(
                mark == std::string_view::npos ? "" : std::string(whole.substr(mark + 1)));
            return make_response(static_cast<http::status>(status), version,
                                 "application/octet-stream", std::move(body));
        }
    } catch (const std::exception& error) {
        // A callback's bug: this request fails, the server and the next scrape carry on.
        spdlog::warn("admin: GET {} failed: {}", path, error.what());
        return make_response(http::status::internal_server_error, version, kTextContentType,
                             "internal error\n");
    }
    return make_response(http::status::not_found, version, kTextContentType,
                         "not found; try /metrics or /health\n");
}

// The answer to a request the parser refused, or nothing when there is no one to answer (the peer
// closed, the deadline passed, the server is stopping).
std::optional<Response> refusal(const beast::error_code& error) {
    if (error.category() != beast::http::make_error_code(http::error::bad_target).category() ||
        error == http::error::end_of_stream || error == http::error::partial_message) {
        return std::nullopt;
    }
    if (error == http::error::header_limit) {
        return make_response(http::status::request_header_fields_too_large, 11, kTextContentType,
                             "request headers too large\n");
    }
    if (error == http::error::body_limit) {
        return make_response(http::status::payload_too_large, 11, kTextContentType,
                             "request body too large\n");
    }
    return make_response(http::status::bad_request, 11, kTextContentType,
                         "bad request: " + error.message() + "\n");
}

// One admin client's connection: requests are read and answered one at a time, on the admin
// thread only, so it needs no strand and no locks.
class Connection : public std::enable_shared_from_this<Connection> {
  public:
    Connection(Shared& shared, tcp::socket socket)
        : shared_(shared),
          stream_(std::move(socket)),
          // Bounded, so a client cannot grow it: room for one request at the limits and the start
          // of a pipelined next one. The parser's limits trip first.
          buffer_(2 * (static_cast<std::size_t>(shared.options.header_limit_bytes) +
                       shared.options.body_limit_bytes)) {
        shared_.open_connections.fetch_add(1, std::memory_order_relaxed);
    }
    ~Connection() { shared_.open_connections.fetch_sub(1, std::memory_order_relaxed); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void start() { read_request(); }

    // Ends whatever is pending; its handler then sees closed_ and lets the connection go.
    void close() {
        closed_ = true;
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

  private:
    void read_request() {
        parser_.emplace();
        parser_->header_limit(shared_.options.header_limit_bytes);
        parser_->body_limit(shared_.options.body_limit_bytes);
        stream_.expires_after(shared_.options.read_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code error, std::size_t) {
                             self->on_read(error);
                         });
    }

    void on_read(const beast::error_code& error) {
        if (closed_) {
            return;
        }
        if (error == beast::error::timeout) {
            bump(shared_.timeouts);
            return;
        }
        if (error) {
            if (std::optional<Response> response = refusal(error)) {
                bump(shared_.bad_requests);
                write(std::move(*response), true);
            }
            return;
        }
        const Request& request = parser_->get();
        if (const PostHandler* handler = post_handler(shared_, request)) {
            call_post(*handler, request);
            return;
        }
        if (const PostBodyHandler* handler = post_body_handler(shared_, request)) {
            call_post([handler, &request](
                          AdminReply reply) { (*handler)(request.body(), std::move(reply)); },
                      request);
            return;
        }
        Response response = route(shared_, request);
        response.keep_alive(request.keep_alive());
        const bool close_after = !response.keep_alive();
        write(std::move(response), close_after);
    }

    // The handler answers later, from any thread: the reply comes back to the admin thread,
    // which writes it unless the connection was closed meanwhile. No read is pending until then.
    void call_post(const PostHandler& handler, const Request& request) {
        const unsigned version = request.version();
        const bool keep_alive = request.keep_alive();
        // The reply moves its reference to the connection into the posted handler, so that the
        // connection is only ever released on the admin thread; a second call does nothing.
        auto self = std::make_shared<std::shared_ptr<Connection>>(shared_from_this());
        AdminReply reply = [self, version, keep_alive](unsigned status, std::string body) {
            std::shared_ptr<Connection> connection = std::exchange(*self, nullptr);
            if (!connection) {
                return;
            }
            auto executor = connection->stream_.get_executor();
            asio::post(executor, [connection = std::move(connection), version, keep_alive, status,
                                  body = std::move(body)]() mutable {
                if (connection->closed_) {
                    return;
                }
                Response response = make_response(static_cast<http::status>(status), version,
                                                  kJsonContentType, std::move(body));
                response.keep_alive(keep_alive);
                connection->write(std::move(response), !keep_alive);
            });
        };
        try {
            handler(std::move(reply));
        } catch (const std::exception& error) {
            spdlog::warn("admin: POST {} failed: {}", request_path(request), error.what());
            write(make_response(http::status::internal_server_error, version, kTextContentType,
                                "internal error\n"),
                  true);
        }
    }

    void write(Response response, bool close_after) {
        bump(shared_.requests);
        response_ = std::move(response);
        if (close_after) {
            response_.keep_alive(false);
        }
        stream_.expires_after(shared_.options.read_timeout);
        http::async_write(
            stream_, response_,
            [self = shared_from_this(), close_after](beast::error_code error, std::size_t) {
                self->on_write(error, close_after);
            });
    }

    void on_write(const beast::error_code& error, bool close_after) {
        if (closed_) {
            return;
        }
        if (error == beast::error::timeout) {
            bump(shared_.timeouts);
            return;
        }
        if (error || close_after) {
            // Our FIN after the response; the socket itself closes with the last reference.
            beast::error_code ignored;
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            return;
        }
        read_request();
    }

    Shared& shared_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    Response response_;
    bool closed_ = false;
};

}  // namespace

class AdminServer::Impl {
  public:
    Impl(std::string host, std::uint16_t port, const Metrics& metrics, AdminOptions options)
        : shared_{metrics, std::move(options)}, host_(std::move(host)), requested_port_(port) {}

    ~Impl() { stop(); }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    void start() {
        const std::lock_guard lock(lifecycle_);
        if (state_ != State::Idle) {
            throw std::logic_error("admin server: start() called twice or after stop()");
        }
        shared_.metrics.seal();
        listen();
        accept_next();
        thread_ = std::thread([this] {
            pthread_setname_np(pthread_self(), "admin");
            run();
        });
        state_ = State::Running;
    }

    void stop() {
        const std::lock_guard lock(lifecycle_);
        const bool running = state_ == State::Running;
        state_ = State::Stopped;
        if (!running) {
            return;
        }
        asio::post(io_, [this] {
            stopping_ = true;
            beast::error_code ignored;
            acceptor_.close(ignored);
            accept_retry_.cancel();
            for (const std::weak_ptr<Connection>& weak : connections_) {
                if (const std::shared_ptr<Connection> connection = weak.lock()) {
                    connection->close();
                }
            }
            connections_.clear();
        });
        // With the acceptor and every socket closed the io_context runs out of work and run()
        // returns.
        thread_.join();
    }

    std::uint16_t port() const { return port_.load(std::memory_order_acquire); }

    const Shared& shared() const { return shared_; }

  private:
    enum class State { Idle, Running, Stopped };

    void listen() {
        const std::string where = host_port(host_, requested_port_);
        const auto fail = [&](const beast::error_code& error) {
            return std::runtime_error("admin: cannot listen on " + where + ": " + error.message());
        };
        beast::error_code error;
        tcp::resolver resolver(io_);
        const auto results =
            resolver.resolve(host_, std::to_string(requested_port_),
                             tcp::resolver::passive | tcp::resolver::numeric_service, error);
        if (error) {
            throw fail(error);
        }
        const tcp::endpoint endpoint = results.begin()->endpoint();
        acceptor_.open(endpoint.protocol(), error);
        if (!error) {
            // A restart must not wait for the previous run's TIME_WAIT connections; Linux still
            // refuses a second listener on the port.
            acceptor_.set_option(tcp::acceptor::reuse_address(true), error);
        }
        if (!error) {
            acceptor_.bind(endpoint, error);
        }
        if (!error) {
            acceptor_.listen(asio::socket_base::max_listen_connections, error);
        }
        if (error) {
            beast::error_code ignored;
            acceptor_.close(ignored);
            throw fail(error);
        }
        port_.store(acceptor_.local_endpoint().port(), std::memory_order_release);
    }

    void accept_next() {
        acceptor_.async_accept(io_, [this](const beast::error_code& error, tcp::socket socket) {
            on_accept(error, std::move(socket));
        });
    }

    void on_accept(const beast::error_code& error, tcp::socket socket) {
        if (stopping_ || error == asio::error::operation_aborted) {
            return;
        }
        if (error) {
            spdlog::warn("admin: accept failed: {}", error.message());
            accept_retry_.expires_after(kAcceptRetryDelay);
            accept_retry_.async_wait([this](const beast::error_code& e) {
                if (!e && !stopping_) {
                    accept_next();
                }
            });
            return;
        }
        if (shared_.open_connections.load(std::memory_order_relaxed) >=
            shared_.options.max_connections) {
            bump(shared_.connections_refused);
            beast::error_code ignored;
            socket.close(ignored);
        } else {
            bump(shared_.connections_accepted);
            std::erase_if(connections_,
                          [](const std::weak_ptr<Connection>& weak) { return weak.expired(); });
            auto connection = std::make_shared<Connection>(shared_, std::move(socket));
            connections_.push_back(connection);
            connection->start();
        }
        accept_next();
    }

    void run() {
        // A handler that throws (only an allocation failure can) must not end the process, which
        // std::thread would; the handler's connection is lost and the rest carry on.
        for (;;) {
            try {
                io_.run();
                return;
            } catch (const std::exception& error) {
                spdlog::error("admin: {}", error.what());
            }
        }
    }

    // Declared first so that it is destroyed last: connections that die with the io_context's
    // handlers still count themselves out of it.
    Shared shared_;
    const std::string host_;
    const std::uint16_t requested_port_;
    std::atomic<std::uint16_t> port_{0};
    asio::io_context io_{1};
    tcp::acceptor acceptor_{io_};
    asio::steady_timer accept_retry_{io_};
    // Admin thread only: the connections stop() must close.
    std::vector<std::weak_ptr<Connection>> connections_;
    bool stopping_ = false;  // admin thread only
    std::mutex lifecycle_;
    State state_ = State::Idle;
    std::thread thread_;
};

AdminServer::AdminServer(std::string host, std::uint16_t port, const Metrics& metrics,
                         AdminOptions options)
    : impl_(std::make_unique<Impl>(std::move(host), port, metrics, std::move(options))) {}

AdminServer::~AdminServer() = default;

void AdminServer::start() {
    impl_->start();
}

std::uint16_t AdminServer::port() const {
    return impl_->port();
}

void AdminServer::stop() {
    impl_->stop();
}

std::size_t AdminServer::open_connections() const {
    return impl_->shared().open_connections.load(std::memory_order_relaxed);
}

AdminStats AdminServer::stats() const {
    const Shared& s = impl_->shared();
    AdminStats stats;
    stats.connections_accepted = s.connections_accepted.load(std::memory_order_relaxed);
    stats.connections_refused = s.connections_refused.load(std::memory_order_relaxed);
    stats.requests = s.requests.load(std::memory_order_relaxed);
    stats.bad_requests = s.bad_requests.load(std::memory_order_relaxed);
    stats.timeouts = s.timeouts.load(std::memory_order_relaxed);
    return stats;
}

}  // namespace exchanged::ops
