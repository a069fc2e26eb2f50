// One client connection (docs/protocol.md, "Session"). All of a session's handlers run on the
// strand its socket was accepted on, so its state needs no lock; other threads reach it only by
// posting to executor().
//
// Memory is fixed when the session starts: a receive buffer and two outgoing buffers (one being
// written while the other fills), and the bounded queue the engine delivers into (its slot's, see
// session_table.hpp). A client that does not read until either bound is reached is disconnected
// rather than buffered without limit.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/gateway.hpp"
#include "net/protocol.hpp"

namespace exchanged::net {

class GatewayCore;
struct SessionSlot;

class Session : public std::enable_shared_from_this<Session> {
  public:
    using Clock = std::chrono::steady_clock;

    // `slot`: where the engine's deliveries for `id` arrive. `over_limit`: the connection came
    // when max_sessions were live (no id, no slot); it is told so and closed.
    Session(std::shared_ptr<GatewayCore> core, SessionId id, SessionSlot* slot,
            boost::asio::ip::tcp::socket socket, bool over_limit);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Starts reading and the heartbeat timer. Callable from any thread.
    void start();
    boost::asio::any_io_executor executor() { return socket_.get_executor(); }

    // On the strand only. Encodes what the engine delivered into the slot's queue and writes it.
    void drain_deliveries();
    void shut_down(GoodbyeReason reason, std::string_view text);

  private:
    void read_more();
    void on_read(const boost::system::error_code& error, std::size_t bytes);
    void handle(const Message& message);
    void handle_login(const Login& login);
    void submit(const ClientRequest& request);

    // Appends one frame to the pending buffer. A final message (LoginRejected, Goodbye) may use
    // the space kept back for it; anything else that does not fit marks a slow consumer.
    bool enqueue(const Message& message, bool final = false);
    bool has_room_for_any_reply() const;
    void flush();
    void on_written(const boost::system::error_code& error);

    // Ends the session: `last` (if any) is the final message, then the write side is shut and the
    // session lingers until the client closes or a heartbeat interval passes, so the client reads
    // the final message instead of a reset.
    void end(std::optional<Message> last, const std::string& why);
    void close_now(const std::string& why);

    void arm_timer();
    void on_tick(const boost::system::error_code& error);

    std::string describe() const;

    std::shared_ptr<GatewayCore> core_;
    const SessionId id_;
    SessionSlot* const slot_;  // touched only until the session is closed: then it may be reused
    const bool over_limit_;
    boost::asio::ip::tcp::socket socket_;
    boost::asio::steady_timer timer_;
    const std::chrono::milliseconds interval_;

    std::vector<std::byte> read_buffer_;
    std::size_t read_size_ = 0;

    std::vector<std::byte> pending_;  // replies waiting for the next write
    std::size_t pending_size_ = 0;
    std::vector<std::byte> writing_;  // the buffer the write in flight reads from
    bool write_in_flight_ = false;
    bool drain_deferred_ = false;  // deliveries wait in the queue for the write in flight

    bool logged_in_ = false;
    AccountId account_id_ = 0;
    std::string account_name_;

    bool closing_ = false;  // the final message is queued; nothing more is read or sent
    bool write_shut_ = false;
    bool closed_ = false;
    Clock::time_point last_receive_;
    Clock::time_point closing_since_;
    bool sent_since_tick_ = false;
};

}  // namespace exchanged::net
