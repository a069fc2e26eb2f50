#include "net/gateway.hpp"

#include <algorithm>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "net/gateway_core.hpp"
#include "net/session.hpp"

namespace exchanged::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Compares over `span` bytes whatever the inputs hold, reading past a shorter string as zeros, so
// the time depends only on the configured lengths, never on where the first difference is.
bool equal_in_constant_time(std::string_view given, std::string_view expected, std::size_t span) {
    unsigned difference = given.size() == expected.size() ? 0u : 1u;
    for (std::size_t i = 0; i < span; ++i) {
        const auto a = static_cast<unsigned char>(i < given.size() ? given[i] : 0);
        const auto b = static_cast<unsigned char>(i < expected.size() ? expected[i] : 0);
        difference |= static_cast<unsigned>(a ^ b);
    }
    return difference == 0;
}

// Retrying accept at once after, say, EMFILE would spin an io thread.
constexpr std::chrono::milliseconds kAcceptRetryDelay{10};

}  // namespace

GatewayCore::GatewayCore(asio::io_context& io, GatewayOptions options, OrderSink& sink)
    : io_(io),
      options_(std::move(options)),
      sink_(sink),
      acceptor_(asio::make_strand(io)),
      accept_retry_(acceptor_.get_executor()),
      sessions_(options_.max_sessions) {}

void GatewayCore::listen() {
    tcp::resolver resolver(io_);
    const auto results = resolver.resolve(
        options_.listen_host, std::to_string(options_.listen_port), tcp::resolver::numeric_service);
    const tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_.store(acceptor_.local_endpoint().port(), std::memory_order_release);
    log("listening on " + options_.listen_host + ":" + std::to_string(port()));
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] { self->accept_next(); });
}

void GatewayCore::accept_next() {
    if (stopping_.load(std::memory_order_acquire)) {
        return;
    }
    // Each connection gets its own strand: its handlers never run concurrently, while different
    // sessions use every io thread.
    acceptor_.async_accept(
        asio::make_strand(io_),
        [self = shared_from_this()](const boost::system::error_code& error, tcp::socket socket) {
            self->on_accept(error, std::move(socket));
        });
}

void GatewayCore::on_accept(const boost::system::error_code& error, tcp::socket socket) {
    if (error == asio::error::operation_aborted || stopping_.load(std::memory_order_acquire)) {
        return;
    }
    if (error) {
        log("accept failed: " + error.message());
        accept_retry_.expires_after(kAcceptRetryDelay);
        accept_retry_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
            if (!e) {
                self->accept_next();
            }
        });
        return;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (options_.socket_send_buffer_bytes > 0) {
        socket.set_option(asio::socket_base::send_buffer_size(options_.socket_send_buffer_bytes),
                          ignored);
    }
    std::shared_ptr<Session> session;
    {
        const std::lock_guard lock(mutex_);
        session = open_session(socket);
    }
    if (session) {
        bump(counters_.sessions_accepted);
    } else {
        bump(counters_.sessions_over_limit);
        session =
            std::make_shared<Session>(shared_from_this(), 0, nullptr, std::move(socket), true);
    }
    session->start();
    accept_next();
}

std::shared_ptr<Session> GatewayCore::open_session(tcp::socket& socket) {
    const std::optional<std::uint32_t> index = sessions_.find_free();
    if (!index) {
        return nullptr;
    }
    const SessionId id = sessions_.next_id(*index);
    SessionSlot& slot = sessions_.slot(*index);
    if (!slot.queue) {
        slot.queue = std::make_unique<MessageQueue>(options_.delivery_queue_messages);
    } else {
        // Deliveries pinned before the previous session closed may have landed after it emptied
        // the queue: they were never sent.
        Message stale;
        while (slot.queue->try_pop(stale)) {
            bump(counters_.deliveries_dropped);
        }
    }
    slot.drain_scheduled.store(false, std::memory_order_relaxed);
    slot.overflowed.store(false, std::memory_order_relaxed);
    auto session =
        std::make_shared<Session>(shared_from_this(), id, &slot, std::move(socket), false);
    slot.executor = session->executor();
    slot.session = session;
    sessions_.publish(*index, id);
    return session;
}

void GatewayCore::stop() {
    if (stopping_.exchange(true, std::memory_order_acq_rel)) {
        return;
    }
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
        self->accept_retry_.cancel();
    });
    std::vector<std::shared_ptr<Session>> live;
    {
        // The slots' session pointers change only under the mutex; a closed session's pointer is
        // harmless (shut_down on a closed session does nothing).
        const std::lock_guard lock(mutex_);
        for (std::uint32_t index = 0; index < sessions_.size(); ++index) {
            if (auto session = sessions_.slot(index).session.lock()) {
                live.push_back(std::move(session));
            }
        }
    }
    for (auto& session : live) {
        asio::post(session->executor(), [session] {
            session->shut_down(GoodbyeReason::ShuttingDown, "the daemon is shutting down");
        });
    }
}

bool GatewayCore::deliver(SessionId id, const Message& message) {
    // The pin keeps the slot from being reused for another session while we use it (see
    // session_table.hpp); it costs two atomic operations on the slot and nothing else.
    const SessionTable::Pin slot = sessions_.pin(id);
    if (!slot) {
        bump(counters_.deliveries_dropped);
        return false;
    }
    if (!slot->queue->try_push(message)) {
        // The session reads its replies slower than the engine makes them. The shard thread must
        // not wait for it: the strand disconnects it as a slow consumer.
        slot->overflowed.store(true, std::memory_order_release);
        schedule_drain(*slot);
        bump(counters_.deliveries_dropped);
        return false;
    }
    schedule_drain(*slot);
    return true;
}

void GatewayCore::schedule_drain(SessionSlot& slot) {
    // The drain clears the flag (acq_rel) before it pops: a push it may miss was published before
    // this exchange, which then sees the cleared flag and posts again. Otherwise the drain already
    // pending reads this exchange's write, so it sees the push.
    if (slot.drain_scheduled.exchange(true, std::memory_order_acq_rel)) {
        return;
    }
    if (auto session = slot.session.lock()) {
        asio::post(slot.executor, [session = std::move(session)] { session->drain_deliveries(); });
    }
}

void GatewayCore::unregister(SessionId id) {
    sessions_.close(id);
}

std::size_t GatewayCore::session_count() const {
    return sessions_.open_count();
}

const GatewayAccount* GatewayCore::authenticate(std::string_view name,
                                                std::string_view secret) const {
    const GatewayAccount* found = nullptr;
    for (const GatewayAccount& account : options_.accounts) {
        const bool name_matches = equal_in_constant_time(
            name, account.name, std::max(kMaxAccountNameBytes, account.name.size()));
        const bool secret_matches = equal_in_constant_time(
            secret, account.secret, std::max(kMaxSecretBytes, account.secret.size()));
        // Both are always computed: no early exit on the name.
        if (name_matches & secret_matches) {
            found = &account;
        }
    }
    return found;
}

void GatewayCore::log(std::string_view line) const {
    if (options_.log) {
        options_.log(line);
    } else {
        std::cerr << "exchanged gateway: " << line << '\n';
    }
}

Gateway::Gateway(asio::io_context& io, GatewayOptions options, OrderSink& sink)
    : core_(std::make_shared<GatewayCore>(io, std::move(options), sink)) {}

Gateway::~Gateway() {
    core_->stop();
}

void Gateway::start() {
    core_->listen();
}

std::uint16_t Gateway::port() const {
    return core_->port();
}

void Gateway::stop() {
    core_->stop();
}

bool Gateway::deliver(SessionId session, const Message& message) {
    return core_->deliver(session, message);
}

std::size_t Gateway::session_count() const {
    return core_->session_count();
}

GatewayStats Gateway::stats() const {
    GatewayCounters& c = core_->counters();
    const auto get = [](const std::atomic<std::uint64_t>& counter) {
        return counter.load(std::memory_order_relaxed);
    };
    GatewayStats out;
    out.sessions_accepted = get(c.sessions_accepted);
    out.sessions_over_limit = get(c.sessions_over_limit);
    out.logins_accepted = get(c.logins_accepted);
    out.logins_rejected = get(c.logins_rejected);
    out.malformed_frames = get(c.malformed_frames);
    out.protocol_violations = get(c.protocol_violations);
    out.heartbeat_timeouts = get(c.heartbeat_timeouts);
    out.slow_consumers = get(c.slow_consumers);
    out.requests_submitted = get(c.requests_submitted);
    out.requests_refused = get(c.requests_refused);
    out.deliveries_dropped = get(c.deliveries_dropped);
    return out;
}

}  // namespace exchanged::net
