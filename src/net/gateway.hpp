// The client gateway's session layer (docs/architecture.md: The path of one order; Bad input and
// limits): a Boost.Asio TCP acceptor and one Session per connection. Sessions log clients in,
// decode their frames, hand order messages to an OrderSink and write back whatever the engine
// delivers. The io_context belongs to the caller, who runs it on as many threads as it likes: every
// session's handlers run on its own strand.
//
// The layer knows the wire format only through the codec (net/protocol.hpp: decode, encode and the
// message structs), so a FIX gateway can feed the same OrderSink later.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/types.hpp"
#include "net/protocol.hpp"

namespace exchanged::net {

using SessionId = std::uint64_t;

// Sessions of one account the engine serves at once (each gets its account's maker fills). The
// gateway names it when it refuses a login beyond it; the engine's registry is sized by it.
inline constexpr std::uint32_t kMaxSessionsPerAccount = 32;

// An order message from a logged-in session, as decoded. The session's account travels beside it.
using ClientRequest = std::variant<NewOrder, Cancel, Replace, MassCancel, OrderStatusRequest>;

enum class SubmitResult : std::uint8_t {
    Queued,       // the engine took it; its replies come back through Gateway::deliver
    Busy,         // the queue toward the shard is full: the gateway answers Rejected(busy)
    Unavailable,  // the engine is not taking orders: the gateway answers Rejected(unavailable)
};

// What the engine implements. submit() runs on an io thread inside the session's strand, so it
// must not block; it may call Gateway::deliver for an immediate answer.
class OrderSink {
  public:
    virtual ~OrderSink() = default;
    virtual SubmitResult submit(SessionId session, AccountId account,
                                const ClientRequest& request) = 0;
    // A session logged in as `account`, and later that logged-in session ended (any reason). The
    // engine needs them to send a resting order's fills to every live session of its account.
    // Called on the session's strand; must not block. on_login returns false when the engine
    // cannot serve another session of this account (more than kMaxSessionsPerAccount): the
    // gateway then answers LoginRejected(too_many_sessions) and on_logout is not called. The
    // defaults accept and ignore.
    virtual bool on_login(SessionId /*session*/, AccountId /*account*/) { return true; }
    virtual void on_logout(SessionId /*session*/, AccountId /*account*/) {}
};

struct GatewayAccount {
    std::string name;
    AccountId id = 0;
    std::string secret;
};

using GatewayLog = std::function<void(std::string_view line)>;

struct GatewayOptions {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 0;  // 0: the OS picks one; Gateway::port() tells which
    std::uint32_t max_sessions = 1024;
    std::uint32_t heartbeat_interval_ms = 1000;
    std::uint32_t max_frame_bytes = static_cast<std::uint32_t>(kDefaultMaxFrameBytes);
    // Per session, allocated once when it starts: the receive buffer, and twice the outgoing
    // bound (one half being written while the other fills). A session whose unsent replies would
    // exceed outgoing_buffer_bytes is a slow consumer and is disconnected.
    std::size_t read_buffer_bytes = 64 * 1024;
    std::size_t outgoing_buffer_bytes = 1024 * 1024;
    // Per session: replies the engine's threads delivered that the session's strand has not yet
    // encoded (rounded up to a power of two; about 128 bytes each). Made when a session first
    // uses its slot and kept for the slot's later sessions. A session whose queue is full is a
    // slow consumer and is disconnected, as above. Large enough for a burst a reading client
    // causes itself (a sweep, a self-trade cancel of many resting orders, a pipelined window of a
    // few thousand orders) while the io thread is briefly off its core: 4 MiB per slot in use.
    std::size_t delivery_queue_messages = 32768;
    // SO_SNDBUF for accepted sockets; 0 keeps the OS default. Bounds what the kernel holds for a
    // client that does not read, on top of outgoing_buffer_bytes.
    int socket_send_buffer_bytes = 0;
    std::vector<GatewayAccount> accounts;
    // Non-empty: every Login is answered LoginRejected(unavailable) with this text (at most
    // kMaxReasonTextBytes), e.g. a replication follower naming its leader's address.
    std::string refuse_logins;
    // With refuse_logins: called at each refused Login (io threads, concurrently) for the text
    // instead, e.g. after a promotion named a new leader. Empty: refuse_logins as it is.
    std::function<std::string()> refuse_logins_text;
    // Checked on the io thread right before each write to a client (io threads, concurrently):
    // false closes the session with nothing more written. A leader whose lease lapsed while its
    // replies waited for a write (a process paused between their release and the write) must not
    // send them after another leader took over. Empty: always true.
    std::function<bool()> may_write;
    // Where the gateway writes why a session ended and other events worth an operator's eye. It is
    // called from io threads, concurrently. Empty: stderr.
    GatewayLog log;
};

// Counters since start, read with relaxed atomics: a snapshot, not a consistent cut.
struct GatewayStats {
    std::uint64_t sessions_accepted = 0;
    std::uint64_t sessions_over_limit = 0;  // connections refused because max_sessions was reached
    std::uint64_t logins_accepted = 0;
    std::uint64_t logins_rejected = 0;
    std::uint64_t malformed_frames = 0;
    std::uint64_t protocol_violations = 0;
    std::uint64_t heartbeat_timeouts = 0;
    std::uint64_t slow_consumers = 0;
    std::uint64_t requests_submitted = 0;  // handed to the OrderSink
    std::uint64_t requests_refused = 0;    // answered by the gateway itself (not logged in, busy)
    std::uint64_t deliveries_dropped = 0;  // deliver() to a session that is gone or full
};

class GatewayCore;

class Gateway {
  public:
    // `sink` must outlive every handler this gateway leaves in `io` (stop() and run the context
    // until it has no work, or destroy the context, before destroying the sink).
    Gateway(boost::asio::io_context& io, GatewayOptions options, OrderSink& sink);
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    // Binds and starts accepting. Throws boost::system::system_error when it cannot listen.
    void start();
    // The bound port, valid after start().
    std::uint16_t port() const;
    // Stops accepting and ends every session with Goodbye(shutting_down). Thread-safe.
    void stop();

    // Sends `message` to the session. Thread-safe, lock-free and allocation-free: the engine's
    // threads call it. The message goes into the session's bounded delivery queue and the session's
    // strand is woken once per burst, encoding everything queued into one write; replies to one
    // session keep the order of the calls made by any one thread. False, counted in
    // deliveries_dropped, when the session is gone or its queue is full (the session is then
    // disconnected as a slow consumer; the caller never waits). A message that reaches a session
    // after its Goodbye is dropped and counted too.
    bool deliver(SessionId session, const Message& message);

    std::size_t session_count() const;
    GatewayStats stats() const;

  private:
    std::shared_ptr<GatewayCore> core_;
};

}  // namespace exchanged::net
