// The state a Gateway shares with its sessions: options, the sink, the acceptor, the table of
// live sessions (session_table.hpp) and the counters. Sessions hold it by shared_ptr, so a session
// still finishing on an io thread never outlives what it points at, whatever order the owner tears
// things down in. Internal to src/net.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/gateway.hpp"
#include "net/session_table.hpp"

namespace exchanged::net {

class Session;

struct GatewayCounters {
    std::atomic<std::uint64_t> sessions_accepted{0};
    std::atomic<std::uint64_t> sessions_over_limit{0};
    std::atomic<std::uint64_t> logins_accepted{0};
    std::atomic<std::uint64_t> logins_rejected{0};
    std::atomic<std::uint64_t> malformed_frames{0};
    std::atomic<std::uint64_t> protocol_violations{0};
    std::atomic<std::uint64_t> heartbeat_timeouts{0};
    std::atomic<std::uint64_t> slow_consumers{0};
    std::atomic<std::uint64_t> requests_submitted{0};
    std::atomic<std::uint64_t> requests_refused{0};
    std::atomic<std::uint64_t> deliveries_dropped{0};
};

inline void bump(std::atomic<std::uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
}

class GatewayCore : public std::enable_shared_from_this<GatewayCore> {
  public:
    GatewayCore(boost::asio::io_context& io, GatewayOptions options, OrderSink& sink);

    void listen();
    void stop();
    bool deliver(SessionId session, const Message& message);
    // From the session's strand when it closes: no delivery reaches `session` from now on.
    void unregister(SessionId session);
    std::size_t session_count() const;

    // The account whose name and secret both match, or null. Every configured account is compared
    // over the full length of the limits, so the time taken says nothing about which part was
    // wrong or how much of it matched.
    const GatewayAccount* authenticate(std::string_view name, std::string_view secret) const;

    void log(std::string_view line) const;

    const GatewayOptions& options() const { return options_; }
    OrderSink& sink() const { return sink_; }
    GatewayCounters& counters() { return counters_; }
    std::uint16_t port() const { return port_.load(std::memory_order_acquire); }

  private:
    void accept_next();
    void on_accept(const boost::system::error_code& error, boost::asio::ip::tcp::socket socket);
    // Under mutex_: a new session in a free slot of the table, or null when all are taken.
    std::shared_ptr<Session> open_session(boost::asio::ip::tcp::socket& socket);
    static void schedule_drain(SessionSlot& slot);

    boost::asio::io_context& io_;
    const GatewayOptions options_;
    OrderSink& sink_;
    // The acceptor and its retry timer live on one strand, so stop() from any thread is safe.
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer accept_retry_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint16_t> port_{0};

    // Serialises the acceptor's writes to the table's slots with stop()'s reads. deliver() and a
    // session's close never take it.
    std::mutex mutex_;
    SessionTable sessions_;

    GatewayCounters counters_;
};

}  // namespace exchanged::net
