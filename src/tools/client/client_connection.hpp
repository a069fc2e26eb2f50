// A client session with the daemon over plain TCP (docs/protocol.md), for exchangectl's order, load
// and verify commands. One object per thread: it owns a non-blocking socket, an outgoing buffer
// that collects many frames for one write (pipelining, batching) and an incoming buffer decoded
// with net::decode. Every failure is a ClientError that says what went wrong in words an operator
// can act on; bytes from the server are never trusted, so a malformed frame is an error, not a
// crash.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "net/protocol.hpp"
#include "tools/cli/exit_codes.hpp"

namespace exchanged::tools {

enum class ClientErrorKind : std::uint8_t {
    Connect,        // could not resolve or connect (refused, unreachable)
    LoginRejected,  // the server answered the Login with LoginRejected
    Goodbye,        // the server ended the session with Goodbye
    Closed,         // the server closed or reset the connection
    Timeout,        // no reply in time
    Malformed,      // the server sent bytes that do not decode
};

class ClientError : public std::runtime_error {
  public:
    ClientError(ClientErrorKind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    ClientErrorKind kind() const { return kind_; }
    // An established session went away: the daemon closed it, reset it or said Goodbye.
    bool connection_lost() const {
        return kind_ == ClientErrorKind::Goodbye || kind_ == ClientErrorKind::Closed;
    }

  private:
    ClientErrorKind kind_;
};

using Clock = std::chrono::steady_clock;

// The leader's client address a replication follower names when it refuses a login
// (`replication follower; leader at HOST:PORT`, docs/replication.md), or empty: the login is
// then to be retried there, once.
std::string refusal_leader(const ClientError& error);

class ClientConnection {
  public:
    // Connects to HOST:PORT ([::1]:9100 for IPv6) with TCP_NODELAY; throws ClientError(Connect).
    ClientConnection(const std::string& host_port, std::chrono::milliseconds timeout);
    ~ClientConnection();
    ClientConnection(const ClientConnection&) = delete;
    ClientConnection& operator=(const ClientConnection&) = delete;

    // Sends Login and waits for the answer; throws LoginRejected (with the reason), Goodbye,
    // Closed or Timeout. Orders may be queued only after it returns.
    net::LoginAccepted login(std::string_view account, std::string_view secret,
                             std::chrono::milliseconds timeout);

    // Appends one frame to the outgoing buffer; nothing is written until flush() or receive().
    void queue(const net::Message& message);
    std::size_t queued_bytes() const { return out_.size() - out_sent_; }
    // Writes as much of the outgoing buffer as the socket takes now, without waiting.
    void flush();

    // The next message other than a Heartbeat. Waits until `deadline` while writing queued frames
    // as the socket drains; returns nothing at the deadline. Throws on Goodbye, close, reset or a
    // malformed frame. A deadline in the past only looks at what already arrived.
    std::optional<net::Message> receive(Clock::time_point deadline);
    // Like receive, but a timeout is a ClientError(Timeout) naming `waiting_for`.
    net::Message expect_reply(Clock::time_point deadline, std::string_view waiting_for);

    // Sends Logout and reads (discarding) until the server's Goodbye or close, at most `timeout`.
    // Replies still in flight before the Goodbye are handed to `on_message` if given.
    template <typename OnMessage>
    void logout(std::chrono::milliseconds timeout, OnMessage&& on_message);
    void logout(std::chrono::milliseconds timeout) {
        logout(timeout, [](const net::Message&) {});
    }

    std::uint32_t heartbeat_interval_ms() const { return heartbeat_interval_ms_; }

    // When the kernel received the bytes that completed the message receive() returned last: the
    // arrival (SO_TIMESTAMPNS, nanoseconds since the epoch) of the newest TCP segment of the read
    // that brought them in, so never before any byte of it arrived and never delayed by this
    // process being descheduled before it read. The read's own time when the kernel gave no stamp;
    // 0 before any read.
    std::int64_t received_at_ns() const { return received_at_ns_; }

  private:
    // Decodes one frame from the incoming buffer if a whole one is there.
    std::optional<net::Message> decode_buffered();
    // Waits for the socket up to `deadline`, then reads and writes what it can. False on timeout.
    bool pump(Clock::time_point deadline);
    void send_heartbeat_if_quiet();

    int fd_ = -1;
    std::string peer_;  // HOST:PORT as given, for messages
    std::vector<std::byte> out_;
    std::size_t out_sent_ = 0;
    std::vector<std::byte> in_;
    std::size_t in_read_ = 0;
    std::uint32_t heartbeat_interval_ms_ = 1000;
    Clock::time_point last_send_ = Clock::now();
    std::int64_t received_at_ns_ = 0;
    bool logging_out_ = false;
};

template <typename OnMessage>
void ClientConnection::logout(std::chrono::milliseconds timeout, OnMessage&& on_message) {
    const Clock::time_point deadline = Clock::now() + timeout;
    logging_out_ = true;
    try {
        queue(net::Logout{});
        while (const std::optional<net::Message> message = receive(deadline)) {
            on_message(*message);
        }
    } catch (const ClientError&) {
        // The Goodbye (or the close after it) is the expected end of a logout.
    }
}

// exchangectl's exit code for a client command that failed this way.
inline int exit_code_for(const ClientError& error) {
    if (error.connection_lost()) {
        return kExitConnectionLost;
    }
    return error.kind() == ClientErrorKind::Timeout ? kExitTimeout : kExitRefused;
}

}  // namespace exchanged::tools
