#include "net/session.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "net/gateway_core.hpp"
#include "net/session_table.hpp"

namespace exchanged::net {

namespace asio = boost::asio;

namespace {

// Room always kept free at the end of the pending buffer, so that a Goodbye or LoginRejected with
// the longest text fits even when ordinary replies filled the rest.
constexpr std::size_t kFinalMessageReserveBytes = kFrameHeaderBytes + 2 + kMaxReasonTextBytes;

// A missed heartbeat or two is jitter; three means the peer is gone (docs/protocol.md).
constexpr int kMissedIntervalsBeforeTimeout = 3;

template <std::size_t N>
BoundedString<N> reason_text(std::string_view text) {
    BoundedString<N> out;
    out.assign(text.substr(0, N));
    return out;
}

Goodbye goodbye(GoodbyeReason reason, std::string_view text) {
    return Goodbye{reason, reason_text<kMaxReasonTextBytes>(text)};
}

// A client's account name goes into log lines: keep them one line of printable text.
std::string printable(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (const char c : bytes) {
        out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return out;
}

// The gateway's own refusal of a request, echoing the ids the client needs to match it up.
Rejected refusal(const ClientRequest& request, RejectCode code) {
    return std::visit(
        [code](const auto& message) {
            using T = std::decay_t<decltype(message)>;
            Rejected out;
            out.reason = code;
            out.instrument = message.instrument;
            out.request_type = T::kType;
            if constexpr (std::is_same_v<T, NewOrder> || std::is_same_v<T, OrderStatusRequest>) {
                out.client_id = message.client_order_id;
            } else {
                out.client_id = message.client_request_id;
            }
            if constexpr (std::is_same_v<T, Cancel> || std::is_same_v<T, Replace>) {
                out.order_id = message.order_id;
            }
            return out;
        },
        request);
}

std::size_t read_capacity(const GatewayOptions& options) {
    const std::size_t frame =
        std::min<std::size_t>(options.max_frame_bytes, kLongestPossibleFrameBytes);
    return std::max(options.read_buffer_bytes, frame);
}

std::size_t outgoing_capacity(const GatewayOptions& options) {
    // At least one largest reply besides the reserve, or no session could ever send anything.
    return std::max(options.outgoing_buffer_bytes, 2 * kFinalMessageReserveBytes + 256);
}

}  // namespace

Session::Session(std::shared_ptr<GatewayCore> core, SessionId id, SessionSlot* slot,
                 asio::ip::tcp::socket socket, bool over_limit)
    : core_(std::move(core)),
      id_(id),
      slot_(slot),
      over_limit_(over_limit),
      socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      interval_(std::max<std::uint32_t>(1, core_->options().heartbeat_interval_ms)),
      read_buffer_(read_capacity(core_->options())),
      pending_(outgoing_capacity(core_->options())),
      writing_(pending_.size()),
      last_receive_(Clock::now()) {}

Session::~Session() {
    // Closed sessions left their slot already. One still open here was dropped with its
    // io_context: no delivery may reach its slot from now on.
    if (slot_ != nullptr && !closed_) {
        core_->unregister(id_);
    }
}

void Session::start() {
    asio::post(executor(), [self = shared_from_this()] {
        self->last_receive_ = Clock::now();
        self->arm_timer();
        self->read_more();
        if (self->over_limit_) {
            self->end(goodbye(GoodbyeReason::Unavailable, "too many sessions"),
                      "max_sessions (" + std::to_string(self->core_->options().max_sessions) +
                          ") reached, connection refused");
        }
    });
}

void Session::drain_deliveries() {
    if (closed_) {
        return;  // the slot may already serve another session
    }
    // Cleared before popping: a delivery published after this schedules the next drain.
    slot_->drain_scheduled.exchange(false, std::memory_order_acq_rel);
    if (slot_->overflowed.load(std::memory_order_acquire)) {
        bump(core_->counters().slow_consumers);
        close_now("slow consumer: " + std::to_string(slot_->queue->capacity()) +
                  " replies waiting for delivery, disconnected");
        return;
    }
    // Everything queued goes into as few writes as the buffers allow. While the outgoing buffers
    // are both in use the rest waits in the queue, which bounds it, until on_written resumes here:
    // only when both are full is the client a slow consumer.
    drain_deferred_ = false;
    Message message;
    while (!closed_) {
        if (!closing_ && !has_room_for_any_reply()) {
            if (write_in_flight_) {
                drain_deferred_ = true;
                break;
            }
            flush();
        }
        if (!slot_->queue->try_pop(message)) {
            break;
        }
        if (closing_) {
            bump(core_->counters().deliveries_dropped);  // after the Goodbye nothing is sent
        } else {
            enqueue(message);
        }
    }
    flush();
}

bool Session::has_room_for_any_reply() const {
    // The final-message reserve is at least as long as any reply (the longest carries a text).
    return pending_size_ + 2 * kFinalMessageReserveBytes <= pending_.size();
}

void Session::shut_down(GoodbyeReason reason, std::string_view text) {
    end(goodbye(reason, text), std::string(to_string(reason)));
}

void Session::read_more() {
    if (closed_) {
        return;
    }
    auto free = asio::buffer(read_buffer_.data() + read_size_, read_buffer_.size() - read_size_);
    socket_.async_read_some(
        free, [self = shared_from_this()](const boost::system::error_code& error,
                                          std::size_t bytes) { self->on_read(error, bytes); });
}

void Session::on_read(const boost::system::error_code& error, std::size_t bytes) {
    if (closed_) {
        return;
    }
    if (error) {
        // After the final message an EOF is the expected ending, not news.
        if (closing_) {
            close_now({});
        } else if (error == asio::error::eof) {
            close_now("the client closed the connection");
        } else {
            close_now("read failed: " + error.message());
        }
        return;
    }
    last_receive_ = Clock::now();
    if (closing_) {
        // Lingering: whatever still arrives is dropped while we wait for the client's EOF.
        read_size_ = 0;
        read_more();
        return;
    }

    // Every complete frame of this wake-up, then one write for all the replies they caused.
    read_size_ += bytes;
    std::size_t offset = 0;
    const std::size_t max_frame = core_->options().max_frame_bytes;
    while (!closing_ && !closed_) {
        const std::span<const std::byte> rest(read_buffer_.data() + offset, read_size_ - offset);
        DecodeResult result = decode(rest, max_frame, Sender::Client);
        if (result.status == DecodeStatus::NeedMore) {
            break;
        }
        if (result.status == DecodeStatus::Malformed) {
            bump(core_->counters().malformed_frames);
            const std::string_view what = to_string(result.malformed);
            end(goodbye(GoodbyeReason::MalformedFrame, what),
                "malformed frame at byte " + std::to_string(offset) +
                    " of a read: " + std::string(what));
            break;
        }
        offset += result.consumed;
        handle(result.message);
    }
    if (closed_) {
        return;
    }
    if (closing_) {
        read_size_ = 0;
    } else {
        // Keep the partial frame at the front. It is shorter than max_frame_bytes, which fits
        // the buffer, so the next read always has room.
        std::memmove(read_buffer_.data(), read_buffer_.data() + offset, read_size_ - offset);
        read_size_ -= offset;
        assert(read_size_ < read_buffer_.size());
    }
    flush();
    read_more();
}

void Session::handle(const Message& message) {
    std::visit(
        [this](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, Login>) {
                handle_login(m);
            } else if constexpr (std::is_same_v<T, Logout>) {
                end(goodbye(GoodbyeReason::Logout, "logout"), "logout");
            } else if constexpr (std::is_same_v<T, Heartbeat>) {
                // Arrival alone keeps the session alive; last_receive_ is already updated.
            } else if constexpr (std::is_same_v<T, NewOrder> || std::is_same_v<T, Cancel> ||
                                 std::is_same_v<T, Replace> || std::is_same_v<T, MassCancel> ||
                                 std::is_same_v<T, OrderStatusRequest>) {
                submit(ClientRequest{m});
            } else {
                // The decoder refuses server messages from a client; this is a second line.
                bump(core_->counters().protocol_violations);
                end(goodbye(GoodbyeReason::ProtocolViolation, "server message from a client"),
                    "server message type from a client");
            }
        },
        message);
}

void Session::handle_login(const Login& login) {
    if (logged_in_) {
        bump(core_->counters().protocol_violations);
        end(goodbye(GoodbyeReason::ProtocolViolation, "already logged in"),
            "second Login on a logged-in session");
        return;
    }
    const std::string name = printable(login.account_name.view());
    if (login.protocol_version != kProtocolVersion) {
        bump(core_->counters().logins_rejected);
        end(LoginRejected{LoginRejectReason::UnsupportedVersion,
                          reason_text<kMaxReasonTextBytes>("protocol version not supported")},
            "login for '" + name + "' refused: protocol version " +
                std::to_string(login.protocol_version));
        return;
    }
    if (!core_->options().refuse_logins.empty()) {
        bump(core_->counters().logins_rejected);
        const std::string text = core_->options().refuse_logins_text
                                     ? core_->options().refuse_logins_text()
                                     : core_->options().refuse_logins;
        end(LoginRejected{LoginRejectReason::Unavailable, reason_text<kMaxReasonTextBytes>(text)},
            "login for '" + name + "' refused: " + text);
        return;
    }
    const GatewayAccount* account =
        core_->authenticate(login.account_name.view(), login.secret.view());
    if (account == nullptr) {
        bump(core_->counters().logins_rejected);
        // One answer for an unknown name and a wrong secret: names cannot be probed.
        end(LoginRejected{LoginRejectReason::BadCredentials,
                          reason_text<kMaxReasonTextBytes>("unknown account or wrong secret")},
            "login for '" + name + "' refused: bad credentials");
        return;
    }
    if (!core_->sink().on_login(id_, account->id)) {
        bump(core_->counters().logins_rejected);
        end(LoginRejected{LoginRejectReason::TooManySessions,
                          reason_text<kMaxReasonTextBytes>("more than " +
                                                           std::to_string(kMaxSessionsPerAccount) +
                                                           " sessions of this account")},
            "login for '" + name + "' refused: the account already has " +
                std::to_string(kMaxSessionsPerAccount) + " sessions (the engine's limit)");
        return;
    }
    bump(core_->counters().logins_accepted);
    logged_in_ = true;
    account_id_ = account->id;
    account_name_ = account->name;
    enqueue(LoginAccepted{account_id_, core_->options().heartbeat_interval_ms,
                          core_->options().max_frame_bytes, kProtocolVersion});
}

void Session::submit(const ClientRequest& request) {
    if (!logged_in_) {
        bump(core_->counters().requests_refused);
        enqueue(refusal(request, RejectCode::NotLoggedIn));
        return;
    }
    bump(core_->counters().requests_submitted);
    switch (core_->sink().submit(id_, account_id_, request)) {
        case SubmitResult::Queued:
            return;
        case SubmitResult::Busy:
            bump(core_->counters().requests_refused);
            enqueue(refusal(request, reject_code(book::RejectReason::Busy)));
            return;
        case SubmitResult::Unavailable:
            bump(core_->counters().requests_refused);
            enqueue(refusal(request, reject_code(book::RejectReason::Unavailable)));
            return;
    }
}

bool Session::enqueue(const Message& message, bool final) {
    if (closed_) {
        return false;
    }
    const std::size_t limit = final ? pending_.size() : pending_.size() - kFinalMessageReserveBytes;
    const std::size_t room = limit > pending_size_ ? limit - pending_size_ : 0;
    const std::size_t written = encode(message, std::span(pending_.data() + pending_size_, room));
    if (written == 0) {
        // The client is not reading its replies. Waiting would hold the engine's replies without
        // bound, and a Goodbye could not reach a client that does not read, so close at once.
        bump(core_->counters().slow_consumers);
        close_now("slow consumer: " + std::to_string(pending_.size()) +
                  " bytes of replies unsent, disconnected");
        return false;
    }
    pending_size_ += written;
    sent_since_tick_ = true;
    return true;
}

void Session::flush() {
    if (closed_ || write_in_flight_) {
        return;
    }
    if (pending_size_ == 0) {
        if (closing_ && !write_shut_) {
            // The final message is out: half-close and linger for the client's EOF.
            write_shut_ = true;
            boost::system::error_code ignored;
            socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        }
        return;
    }
    if (core_->options().may_write && !core_->options().may_write()) {
        close_now("not written: this leader's lease has lapsed (another leader may be serving)");
        return;
    }
    std::swap(pending_, writing_);
    const std::size_t size = pending_size_;
    pending_size_ = 0;
    write_in_flight_ = true;
    asio::async_write(socket_, asio::buffer(writing_.data(), size),
                      [self = shared_from_this()](const boost::system::error_code& error,
                                                  std::size_t) { self->on_written(error); });
}

void Session::on_written(const boost::system::error_code& error) {
    write_in_flight_ = false;
    if (closed_) {
        return;
    }
    if (error) {
        close_now(closing_ ? std::string() : "write failed: " + error.message());
        return;
    }
    flush();
    if (drain_deferred_) {
        drain_deliveries();
    }
}

void Session::end(std::optional<Message> last, const std::string& why) {
    if (closing_ || closed_) {
        return;
    }
    core_->log(describe() + ": ending: " + why);
    closing_ = true;
    closing_since_ = Clock::now();
    if (last) {
        enqueue(*last, true);
    }
    flush();
}

void Session::close_now(const std::string& why) {
    if (closed_) {
        return;
    }
    closed_ = true;
    if (!why.empty()) {
        core_->log(describe() + ": closed: " + why);
    }
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    timer_.cancel();
    if (slot_ != nullptr) {
        // Emptied before the slot closes, while this strand is still its only consumer; what a
        // pinned producer adds after that is counted when the slot is reused.
        Message unsent;
        while (slot_->queue->try_pop(unsent)) {
            bump(core_->counters().deliveries_dropped);
        }
        core_->unregister(id_);
    }
    if (logged_in_) {
        core_->sink().on_logout(id_, account_id_);
    }
}

void Session::arm_timer() {
    timer_.expires_after(interval_);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
        self->on_tick(error);
    });
}

void Session::on_tick(const boost::system::error_code& error) {
    if (closed_ || error == asio::error::operation_aborted) {
        return;
    }
    const Clock::time_point now = Clock::now();
    if (closing_) {
        // Lingering is bounded: a client that neither reads nor closes is cut off.
        if (now - closing_since_ >= interval_) {
            close_now(write_shut_ ? std::string() : "final message not taken by the client");
        } else {
            arm_timer();
        }
        return;
    }
    if (now - last_receive_ >= kMissedIntervalsBeforeTimeout * interval_) {
        bump(core_->counters().heartbeat_timeouts);
        end(goodbye(GoodbyeReason::HeartbeatTimeout, "nothing received for 3 heartbeat intervals"),
            "heartbeat timeout");
        arm_timer();
        return;
    }
    // Heartbeats start with the login, which is where the client learns the interval.
    if (logged_in_ && !sent_since_tick_) {
        if (enqueue(Heartbeat{})) {
            flush();
        }
    }
    sent_since_tick_ = false;
    if (!closed_) {
        arm_timer();
    }
}

std::string Session::describe() const {
    std::string out = "session " + std::to_string(id_);
    if (logged_in_) {
        out += " (" + account_name_ + ")";
    }
    if (over_limit_) {
        out += " (over max_sessions)";
    }
    return out;
}

}  // namespace exchanged::net
