// The binary client protocol (docs/protocol.md): one struct per message, a variant of them, an
// encoder that writes a frame into a caller's buffer and an incremental decoder that reads one
// frame from the front of whatever bytes have arrived. Neither allocates, throws or reads past its
// span.
//
// The decoder checks framing only (length, type, layout, string limits). Field values are decoded
// as they are, even when out of range (side 7, a negative quantity): the gateway and the matcher
// reject those with a reason code, while a framing error closes the session (docs/architecture.md:
// Bad input and limits).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "book/command.hpp"
#include "book/event.hpp"
#include "common/types.hpp"

namespace exchanged::net {

inline constexpr std::uint16_t kProtocolVersion = 1;

// A frame is a u16 body length, then the body: a u8 message type and the message's fields.
inline constexpr std::size_t kLengthFieldBytes = 2;
inline constexpr std::size_t kFrameHeaderBytes = 3;
inline constexpr std::size_t kDefaultMaxFrameBytes = 4096;
// The length field is a u16, so no frame is longer than this whatever is configured.
inline constexpr std::size_t kLongestPossibleFrameBytes = kLengthFieldBytes + 0xFFFF;

inline constexpr std::size_t kMaxAccountNameBytes = 32;  // as [accounts] names in the profile
inline constexpr std::size_t kMaxSecretBytes = 64;
inline constexpr std::size_t kMaxReasonTextBytes = 64;
// A Login with both strings at their maximum; a max_frame_bytes below it refuses such a Login.
inline constexpr std::size_t kLargestClientFrameBytes = 7 + kMaxAccountNameBytes + kMaxSecretBytes;

enum class MessageType : std::uint8_t {
    // Sent by clients (Heartbeat by both sides).
    Login = 0x01,
    Logout = 0x02,
    Heartbeat = 0x03,
    NewOrder = 0x10,
    Cancel = 0x11,
    Replace = 0x12,
    MassCancel = 0x13,
    OrderStatusRequest = 0x14,
    // Sent by the server.
    LoginAccepted = 0x81,
    LoginRejected = 0x82,
    Goodbye = 0x83,
    Accepted = 0x90,
    Rejected = 0x91,
    Fill = 0x92,
    Cancelled = 0x93,
    Replaced = 0x94,
    MassCancelled = 0x95,
    OrderStatus = 0x96,
};

enum class Sender : std::uint8_t { Client, Server };

// Rejected's reason. Values below 200 are book::RejectReason's own numbers, so the matcher's reason
// reaches the client unchanged; that includes Busy and Unavailable, which the gateway sends too
// when its own queue to the shard is full or the daemon stopped taking orders. Reasons only the
// gateway has start at 200, leaving the matcher room to grow.
enum class RejectCode : std::uint8_t {
    NotLoggedIn = 200,  // an order message before a successful Login
    Throttled = 201,    // the session exceeded its message rate
};
constexpr RejectCode reject_code(book::RejectReason reason) {
    return static_cast<RejectCode>(reason);
}

enum class LoginRejectReason : std::uint8_t {
    BadCredentials = 1,  // unknown account or wrong secret: one reason, so names cannot be probed
    UnsupportedVersion = 2,
    AlreadyLoggedIn = 3,
    TooManySessions = 4,
    Unavailable = 5,
};

enum class GoodbyeReason : std::uint8_t {
    Logout = 0,  // the reply to the client's Logout
    HeartbeatTimeout = 1,
    MalformedFrame = 2,
    ProtocolViolation = 3,  // a well-formed message out of place, e.g. a second Login
    ShuttingDown = 4,
    Unavailable = 5,   // the daemon stopped taking orders (WAL failure)
    SlowConsumer = 6,  // the client did not read its messages and the outgoing buffer filled
};

enum class Liquidity : std::uint8_t { Maker = 0, Taker = 1 };

enum class OrderState : std::uint8_t {
    NotFound = 0,   // no order with that client order id is known
    Resting = 1,    // in the book (possibly partly filled)
    Filled = 2,     // fully traded
    Cancelled = 3,  // left the book without trading all of it
    Done = 4,       // finished; the daemon remembers the id but not how the order ended
};

// A string with a fixed capacity and a one-byte length, stored inline so messages never allocate.
// It holds any bytes; the decoder does not check the contents.
template <std::size_t Capacity>
class BoundedString {
    static_assert(Capacity <= 255, "the length travels in one byte");

  public:
    static constexpr std::size_t kCapacity = Capacity;

    // False (and the string unchanged) when `text` is longer than the capacity: never truncates.
    bool assign(std::string_view text) {
        if (text.size() > Capacity) {
            return false;
        }
        for (std::size_t i = 0; i < text.size(); ++i) {
            bytes_[i] = text[i];
        }
        size_ = static_cast<std::uint8_t>(text.size());
        return true;
    }
    std::string_view view() const { return {bytes_.data(), size_}; }
    std::size_t size() const { return size_; }

    friend bool operator==(const BoundedString& a, const BoundedString& b) {
        return a.view() == b.view();
    }

  private:
    std::array<char, Capacity> bytes_{};
    std::uint8_t size_ = 0;
};

// ---- client -> server ----

struct Login {
    static constexpr MessageType kType = MessageType::Login;
    std::uint16_t protocol_version = kProtocolVersion;
    BoundedString<kMaxAccountNameBytes> account_name;
    BoundedString<kMaxSecretBytes> secret;
    friend bool operator==(const Login&, const Login&) = default;
};

struct Logout {
    static constexpr MessageType kType = MessageType::Logout;
    friend bool operator==(const Logout&, const Logout&) = default;
};

// Sent by both sides: keeps a quiet session alive.
struct Heartbeat {
    static constexpr MessageType kType = MessageType::Heartbeat;
    friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

struct NewOrder {
    static constexpr MessageType kType = MessageType::NewOrder;
    Side side = Side::Buy;
    InstrumentId instrument = 0;
    ClientOrderId client_order_id = 0;
    Price price = 0;  // ignored for market orders
    Quantity quantity = 0;
    book::OrderType order_type = book::OrderType::Limit;
    book::TimeInForce time_in_force = book::TimeInForce::GoodTillCancel;
    std::uint8_t flags = 0;  // book::order_flags
    friend bool operator==(const NewOrder&, const NewOrder&) = default;
};

struct Cancel {
    static constexpr MessageType kType = MessageType::Cancel;
    InstrumentId instrument = 0;
    std::uint64_t client_request_id = 0;
    OrderId order_id = 0;
    friend bool operator==(const Cancel&, const Cancel&) = default;
};

struct Replace {
    static constexpr MessageType kType = MessageType::Replace;
    InstrumentId instrument = 0;
    std::uint64_t client_request_id = 0;
    OrderId order_id = 0;
    Price price = 0;
    Quantity quantity = 0;  // the new open quantity
    friend bool operator==(const Replace&, const Replace&) = default;
};

struct MassCancel {
    static constexpr MessageType kType = MessageType::MassCancel;
    InstrumentId instrument = book::kAllInstruments;
    std::uint64_t client_request_id = 0;
    friend bool operator==(const MassCancel&, const MassCancel&) = default;
};

struct OrderStatusRequest {
    static constexpr MessageType kType = MessageType::OrderStatusRequest;
    InstrumentId instrument = 0;
    ClientOrderId client_order_id = 0;
    friend bool operator==(const OrderStatusRequest&, const OrderStatusRequest&) = default;
};

// ---- server -> client ----

struct LoginAccepted {
    static constexpr MessageType kType = MessageType::LoginAccepted;
    AccountId account_id = 0;
    std::uint32_t heartbeat_interval_ms = 0;
    std::uint32_t max_frame_bytes = 0;  // the largest frame this server takes from the client
    std::uint16_t protocol_version = kProtocolVersion;
    friend bool operator==(const LoginAccepted&, const LoginAccepted&) = default;
};

struct LoginRejected {
    static constexpr MessageType kType = MessageType::LoginRejected;
    LoginRejectReason reason = LoginRejectReason::BadCredentials;
    BoundedString<kMaxReasonTextBytes> text;
    friend bool operator==(const LoginRejected&, const LoginRejected&) = default;
};

// The server's last message on a session, whoever ended it.
struct Goodbye {
    static constexpr MessageType kType = MessageType::Goodbye;
    GoodbyeReason reason = GoodbyeReason::Logout;
    BoundedString<kMaxReasonTextBytes> text;
    friend bool operator==(const Goodbye&, const Goodbye&) = default;
};

struct Accepted {
    static constexpr MessageType kType = MessageType::Accepted;
    Side side = Side::Buy;
    InstrumentId instrument = 0;
    ClientOrderId client_order_id = 0;
    OrderId order_id = 0;
    Price price = 0;  // 0 for market orders
    Quantity quantity = 0;
    TimestampNs timestamp_ns = 0;
    friend bool operator==(const Accepted&, const Accepted&) = default;
};

struct Rejected {
    static constexpr MessageType kType = MessageType::Rejected;
    RejectCode reason = RejectCode::NotLoggedIn;
    InstrumentId instrument = 0;
    // The rejected message's own id: client_order_id for NewOrder and OrderStatusRequest,
    // client_request_id for Cancel, Replace and MassCancel.
    std::uint64_t client_id = 0;
    OrderId order_id = 0;          // Cancel and Replace: the target order; otherwise 0
    TimestampNs timestamp_ns = 0;  // 0 when the gateway refused it before sequencing
    MessageType request_type = MessageType::NewOrder;
    friend bool operator==(const Rejected&, const Rejected&) = default;
};

struct Fill {
    static constexpr MessageType kType = MessageType::Fill;
    Side side = Side::Buy;
    InstrumentId instrument = 0;
    OrderId order_id = 0;
    ClientOrderId client_order_id = 0;
    TradeId trade_id = 0;
    Price price = 0;
    Quantity quantity = 0;
    Quantity leaves = 0;  // the order's open quantity after this fill
    TimestampNs timestamp_ns = 0;
    Liquidity liquidity = Liquidity::Maker;
    friend bool operator==(const Fill&, const Fill&) = default;
};

struct Cancelled {
    static constexpr MessageType kType = MessageType::Cancelled;
    book::CancelReason reason = book::CancelReason::ClientRequest;
    InstrumentId instrument = 0;
    OrderId order_id = 0;
    ClientOrderId client_order_id = 0;
    std::uint64_t client_request_id = 0;  // the Cancel or MassCancel behind it; 0 if none
    Quantity quantity = 0;                // the open quantity removed
    TimestampNs timestamp_ns = 0;
    friend bool operator==(const Cancelled&, const Cancelled&) = default;
};

struct Replaced {
    static constexpr MessageType kType = MessageType::Replaced;
    InstrumentId instrument = 0;
    OrderId order_id = 0;
    ClientOrderId client_order_id = 0;
    std::uint64_t client_request_id = 0;
    Price price = 0;
    Quantity leaves = 0;  // the new open quantity
    TimestampNs timestamp_ns = 0;
    friend bool operator==(const Replaced&, const Replaced&) = default;
};

struct MassCancelled {
    static constexpr MessageType kType = MessageType::MassCancelled;
    InstrumentId instrument = book::kAllInstruments;
    std::uint64_t client_request_id = 0;
    TimestampNs timestamp_ns = 0;
    std::uint32_t cancelled_count = 0;
    friend bool operator==(const MassCancelled&, const MassCancelled&) = default;
};

struct OrderStatus {
    static constexpr MessageType kType = MessageType::OrderStatus;
    OrderState state = OrderState::NotFound;
    InstrumentId instrument = 0;
    ClientOrderId client_order_id = 0;
    OrderId order_id = 0;  // the fields below are 0 when not found
    Price price = 0;
    Quantity leaves = 0;
    Quantity executed_quantity = 0;  // traded so far, over all fills
    Side side = Side::Buy;
    friend bool operator==(const OrderStatus&, const OrderStatus&) = default;
};

// Heartbeat comes first because a variant default-constructs its first alternative and each
// DecodeResult starts from a default: an empty struct costs nothing per frame.
using Message = std::variant<Heartbeat, Login, Logout, NewOrder, Cancel, Replace, MassCancel,
                             OrderStatusRequest, LoginAccepted, LoginRejected, Goodbye, Accepted,
                             Rejected, Fill, Cancelled, Replaced, MassCancelled, OrderStatus>;

MessageType type_of(const Message& message) noexcept;
// Whether `sender` may send messages of this type; false for a byte that names no type.
bool is_sent_by(MessageType type, Sender sender) noexcept;

// The frame's size in bytes, length field included.
std::size_t encoded_size(const Message& message) noexcept;
// Writes one frame at the start of `out` and returns its size, or 0 (writing nothing) when `out`
// is too small.
std::size_t encode(const Message& message, std::span<std::byte> out) noexcept;

enum class DecodeStatus : std::uint8_t { NeedMore, Decoded, Malformed };

enum class MalformedReason : std::uint8_t {
    None,
    ZeroLength,      // the length field is 0: not even a type byte
    FrameTooLong,    // longer than max_frame_bytes
    UnknownType,     // the type byte names no message
    WrongSender,     // a message the other side sends (a server message from a client)
    LengthMismatch,  // the length does not fit the type's layout (or its string lengths)
    StringTooLong,   // a string's length byte exceeds that string's limit
};

struct DecodeResult {
    DecodeStatus status = DecodeStatus::NeedMore;
    MalformedReason malformed = MalformedReason::None;
    std::size_t consumed = 0;  // Decoded: the frame's size, to drop from the front of the buffer
    // NeedMore: the buffer must hold at least this many bytes before another call can progress.
    std::size_t needed = 0;
    Message message;  // Decoded only
};

// Decodes the frame at the start of `received`, the bytes that arrived so far. A frame's faults are
// reported as soon as the bytes showing them are there (a bad length after two bytes), so a client
// cannot make the gateway wait for a frame that will be refused anyway.
DecodeResult decode(std::span<const std::byte> received, std::size_t max_frame_bytes,
                    Sender sender) noexcept;

std::string_view to_string(MessageType type);
std::string_view to_string(MalformedReason reason);
std::string_view to_string(RejectCode code);
std::string_view to_string(LoginRejectReason reason);
std::string_view to_string(GoodbyeReason reason);
std::string_view to_string(OrderState state);
std::string_view to_string(Liquidity liquidity);

}  // namespace exchanged::net
