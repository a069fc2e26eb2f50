#include "net/protocol.hpp"

#include <bit>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "common/little_endian.hpp"

namespace exchanged::net {
namespace {

// A fixed-size field of message M at a byte offset from the start of the frame.
template <auto Member>
struct Field {
    static constexpr auto member = Member;
    std::size_t offset;
};

// A string: its u8 length sits at length_offset; its bytes follow the fixed part of the frame, in
// the order the layout lists the strings.
template <auto Member>
struct Text {
    static constexpr auto member = Member;
    std::size_t length_offset;
};

struct ClientMessage {
    static constexpr bool from_client = true;
    static constexpr bool from_server = false;
    static constexpr std::size_t reserved_bytes = 0;
    static constexpr auto texts = std::tuple<>{};
};
struct ServerMessage {
    static constexpr bool from_client = false;
    static constexpr bool from_server = true;
    static constexpr std::size_t reserved_bytes = 0;
    static constexpr auto texts = std::tuple<>{};
};

// Layout<M> is the single description of M on the wire: encoder, decoder and the compile-time
// checks below all read it, and docs/protocol.md's tables are written from it. fixed_bytes counts
// from the start of the frame (length field and type byte included); reserved bytes are sent as 0
// and ignored on receipt.
template <class M>
struct Layout;

template <>
struct Layout<Login> : ClientMessage {
    static constexpr std::size_t fixed_bytes = 7;
    static constexpr auto fields = std::tuple{Field<&Login::protocol_version>{4}};
    static constexpr auto texts =
        std::tuple{Text<&Login::account_name>{3}, Text<&Login::secret>{6}};
};
template <>
struct Layout<Logout> : ClientMessage {
    static constexpr std::size_t fixed_bytes = 3;
    static constexpr auto fields = std::tuple<>{};
};
template <>
struct Layout<Heartbeat> {
    static constexpr bool from_client = true;
    static constexpr bool from_server = true;
    static constexpr std::size_t reserved_bytes = 0;
    static constexpr std::size_t fixed_bytes = 3;
    static constexpr auto fields = std::tuple<>{};
    static constexpr auto texts = std::tuple<>{};
};
template <>
struct Layout<NewOrder> : ClientMessage {
    static constexpr std::size_t fixed_bytes = 35;
    static constexpr auto fields = std::tuple{
        Field<&NewOrder::side>{3},
        Field<&NewOrder::instrument>{4},
        Field<&NewOrder::client_order_id>{8},
        Field<&NewOrder::price>{16},
        Field<&NewOrder::quantity>{24},
        Field<&NewOrder::order_type>{32},
        Field<&NewOrder::time_in_force>{33},
        Field<&NewOrder::flags>{34},
    };
};
template <>
struct Layout<Cancel> : ClientMessage {
    static constexpr std::size_t fixed_bytes = 24;
    static constexpr std::size_t reserved_bytes = 1;
    static constexpr auto fields = std::tuple{
        Field<&Cancel::instrument>{4},
        Field<&Cancel::client_request_id>{8},
        Field<&Cancel::order_id>{16},
    };
};
template <>
struct Layout<Replace> : ClientMessage {
    static constexpr std::size_t fixed_bytes = 40;
    static constexpr std::size_t reserved_bytes = 1;
    static constexpr auto fields = std::tuple{
        Field<&Replace::instrument>{4}, Field<&Replace::client_request_id>{8},
        Field<&Replace::order_id>{16},  Field<&Replace::price>{24},
        Field<&Replace::quantity>{32},
    };
};
template <>
struct Layout<MassCancel> : ClientMessage {
    static constexpr std::size_t fixed_bytes = 16;
    static constexpr std::size_t reserved_bytes = 1;
    static constexpr auto fields = std::tuple{
        Field<&MassCancel::instrument>{4},
        Field<&MassCancel::client_request_id>{8},
    };
};
template <>
struct Layout<OrderStatusRequest> : ClientMessage {
    static constexpr std::size_t fixed_bytes = 16;
    static constexpr std::size_t reserved_bytes = 1;
    static constexpr auto fields = std::tuple{
        Field<&OrderStatusRequest::instrument>{4},
        Field<&OrderStatusRequest::client_order_id>{8},
    };
};

template <>
struct Layout<LoginAccepted> : ServerMessage {
    static constexpr std::size_t fixed_bytes = 18;
    static constexpr std::size_t reserved_bytes = 1;
    static constexpr auto fields = std::tuple{
        Field<&LoginAccepted::account_id>{4},
        Field<&LoginAccepted::heartbeat_interval_ms>{8},
        Field<&LoginAccepted::max_frame_bytes>{12},
        Field<&LoginAccepted::protocol_version>{16},
    };
};
template <>
struct Layout<LoginRejected> : ServerMessage {
    static constexpr std::size_t fixed_bytes = 5;
    static constexpr auto fields = std::tuple{Field<&LoginRejected::reason>{3}};
    static constexpr auto texts = std::tuple{Text<&LoginRejected::text>{4}};
};
template <>
struct Layout<Goodbye> : ServerMessage {
    static constexpr std::size_t fixed_bytes = 5;
    static constexpr auto fields = std::tuple{Field<&Goodbye::reason>{3}};
    static constexpr auto texts = std::tuple{Text<&Goodbye::text>{4}};
};
template <>
struct Layout<Accepted> : ServerMessage {
    static constexpr std::size_t fixed_bytes = 48;
    static constexpr auto fields = std::tuple{
        Field<&Accepted::side>{3},
        Field<&Accepted::instrument>{4},
        Field<&Accepted::client_order_id>{8},
        Field<&Accepted::order_id>{16},
        Field<&Accepted::price>{24},
        Field<&Accepted::quantity>{32},
        Field<&Accepted::timestamp_ns>{40},
    };
};
template <>
struct Layout<Rejected> : ServerMessage {
    static constexpr std::size_t fixed_bytes = 33;
    static constexpr auto fields = std::tuple{
        Field<&Rejected::reason>{3},        Field<&Rejected::instrument>{4},
        Field<&Rejected::client_id>{8},     Field<&Rejected::order_id>{16},
        Field<&Rejected::timestamp_ns>{24}, Field<&Rejected::request_type>{32},
    };
};
template <>
struct Layout<Fill> : ServerMessage {
    static constexpr std::size_t fixed_bytes = 65;
    static constexpr auto fields = std::tuple{
        Field<&Fill::side>{3},          Field<&Fill::instrument>{4},
        Field<&Fill::order_id>{8},      Field<&Fill::client_order_id>{16},
        Field<&Fill::trade_id>{24},     Field<&Fill::price>{32},
        Field<&Fill::quantity>{40},     Field<&Fill::leaves>{48},
        Field<&Fill::timestamp_ns>{56}, Field<&Fill::liquidity>{64},
    };
};
template <>
struct Layout<Cancelled> : ServerMessage {
    static constexpr std::size_t fixed_bytes = 48;
    static constexpr auto fields = std::tuple{
        Field<&Cancelled::reason>{3},
        Field<&Cancelled::instrument>{4},
        Field<&Cancelled::order_id>{8},
        Field<&Cancelled::client_order_id>{16},
        Field<&Cancelled::client_request_id>{24},
        Field<&Cancelled::quantity>{32},
        Field<&Cancelled::timestamp_ns>{40},
    };
};
template <>
struct Layout<Replaced> : ServerMessage {
    static constexpr std::size_t fixed_bytes = 56;
    static constexpr std::size_t reserved_bytes = 1;
    static constexpr auto fields = std::tuple{
        Field<&Replaced::instrument>{4},       Field<&Replaced::order_id>{8},
        Field<&Replaced::client_order_id>{16}, Field<&Replaced::client_request_id>{24},
        Field<&Replaced::price>{32},           Field<&Replaced::leaves>{40},
        Field<&Replaced::timestamp_ns>{48},
    };
};
template <>
struct Layout<MassCancelled> : ServerMessage {
    static constexpr std::size_t fixed_bytes = 28;
    static constexpr std::size_t reserved_bytes = 1;
    static constexpr auto fields = std::tuple{
        Field<&MassCancelled::instrument>{4},
        Field<&MassCancelled::client_request_id>{8},
        Field<&MassCancelled::timestamp_ns>{16},
        Field<&MassCancelled::cancelled_count>{24},
    };
};
template <>
struct Layout<OrderStatus> : ServerMessage {
    static constexpr std::size_t fixed_bytes = 49;
    static constexpr auto fields = std::tuple{
        Field<&OrderStatus::state>{3},
        Field<&OrderStatus::instrument>{4},
        Field<&OrderStatus::client_order_id>{8},
        Field<&OrderStatus::order_id>{16},
        Field<&OrderStatus::price>{24},
        Field<&OrderStatus::leaves>{32},
        Field<&OrderStatus::executed_quantity>{40},
        Field<&OrderStatus::side>{48},
    };
};

template <class M, class Descriptor>
using value_t = std::remove_cvref_t<decltype(std::declval<const M&>().*Descriptor::member)>;

template <class M>
constexpr std::size_t text_capacity() {
    return std::apply(
        [](auto... text) { return (std::size_t{0} + ... + value_t<M, decltype(text)>::kCapacity); },
        Layout<M>::texts);
}

// Every field inside the fixed part, past the header, naturally aligned (relative to the frame's
// start), no two overlapping, and every byte either a field, a string length or reserved: a slip in
// a table above fails the build instead of the wire.
template <class M>
consteval bool layout_is_sound() {
    using L = Layout<M>;
    std::array<bool, 128> used{};
    bool sound = L::fixed_bytes >= kFrameHeaderBytes && L::fixed_bytes <= used.size();
    const auto claim = [&](std::size_t offset, std::size_t size) {
        if (offset < kFrameHeaderBytes || offset + size > L::fixed_bytes || offset % size != 0) {
            sound = false;
            return;
        }
        for (std::size_t i = offset; i < offset + size; ++i) {
            sound = sound && !used[i];
            used[i] = true;
        }
    };
    std::apply(
        [&](auto... field) { (claim(field.offset, sizeof(value_t<M, decltype(field)>)), ...); },
        L::fields);
    std::apply([&](auto... text) { (claim(text.length_offset, 1), ...); }, L::texts);
    std::size_t claimed = 0;
    for (const bool byte_used : used) {
        claimed += byte_used ? 1 : 0;
    }
    return sound && kFrameHeaderBytes + claimed + L::reserved_bytes == L::fixed_bytes &&
           L::fixed_bytes + text_capacity<M>() <= kLongestPossibleFrameBytes;
}

template <std::size_t... I>
consteval bool all_layouts_sound(std::index_sequence<I...>) {
    return (layout_is_sound<std::variant_alternative_t<I, Message>>() && ...);
}
static_assert(all_layouts_sound(std::make_index_sequence<std::variant_size_v<Message>>{}));
static_assert(Layout<Login>::fixed_bytes + text_capacity<Login>() == kLargestClientFrameBytes);

// Only integers and enums cross the wire. Every enum here has a fixed underlying type, so it holds
// any value of that type: copying the peer's raw byte into one is defined whatever it sent.
template <class T>
void store(std::byte* at, const T& value) {
    store_le(at, value);
}
template <class T>
void load(const std::byte* at, T& value) {
    value = load_le<T>(at);
}

template <class M>
std::size_t frame_size(const M& message) {
    std::size_t size = Layout<M>::fixed_bytes;
    std::apply([&](auto... text) { ((size += (message.*text.member).size()), ...); },
               Layout<M>::texts);
    return size;
}

template <class M>
std::size_t encode_as(const M& message, std::span<std::byte> out) {
    const std::size_t size = frame_size(message);
    if (out.size() < size) {
        return 0;
    }
    std::byte* const frame = out.data();
    std::memset(frame, 0, Layout<M>::fixed_bytes);  // reserved bytes go out as 0
    store(frame, static_cast<std::uint16_t>(size - kLengthFieldBytes));
    store(frame + kLengthFieldBytes, M::kType);
    std::apply([&](auto... field) { (store(frame + field.offset, message.*field.member), ...); },
               Layout<M>::fields);
    std::size_t tail = Layout<M>::fixed_bytes;
    const auto put_text = [&](std::size_t length_offset, std::string_view text) {
        store(frame + length_offset, static_cast<std::uint8_t>(text.size()));
        std::memcpy(frame + tail, text.data(), text.size());
        tail += text.size();
    };
    std::apply(
        [&](auto... text) { (put_text(text.length_offset, (message.*text.member).view()), ...); },
        Layout<M>::texts);
    return size;
}

// `frame` is exactly one frame whose size is already within the type's bounds.
template <class M>
MalformedReason decode_as(std::span<const std::byte> frame, Message& out) {
    const std::byte* const bytes = frame.data();
    MalformedReason malformed = MalformedReason::None;
    std::size_t text_bytes = 0;
    const auto check_text = [&](std::size_t length_offset, std::size_t capacity) {
        std::uint8_t length = 0;
        load(bytes + length_offset, length);
        if (length > capacity) {
            malformed = MalformedReason::StringTooLong;
        }
        text_bytes += length;
    };
    std::apply(
        [&](auto... text) {
            (check_text(text.length_offset, value_t<M, decltype(text)>::kCapacity), ...);
        },
        Layout<M>::texts);
    if (malformed != MalformedReason::None) {
        return malformed;
    }
    if (Layout<M>::fixed_bytes + text_bytes != frame.size()) {
        return MalformedReason::LengthMismatch;
    }

    M& message = out.emplace<M>();
    std::apply([&](auto... field) { (load(bytes + field.offset, message.*field.member), ...); },
               Layout<M>::fields);
    std::size_t tail = Layout<M>::fixed_bytes;
    const auto take_text = [&](std::size_t length_offset, auto& text) {
        std::uint8_t length = 0;
        load(bytes + length_offset, length);
        // Cannot fail: the length was checked against the capacity above.
        text.assign({reinterpret_cast<const char*>(bytes + tail), length});
        tail += length;
    };
    std::apply([&](auto... text) { (take_text(text.length_offset, message.*text.member), ...); },
               Layout<M>::texts);
    return MalformedReason::None;
}

struct TypeInfo {
    bool known = false;
    bool from_client = false;
    bool from_server = false;
    std::uint8_t variant_index = 0;
    std::size_t min_frame_bytes = 0;
    std::size_t max_frame_bytes = 0;
};

template <std::size_t... I>
constexpr std::array<TypeInfo, 256> make_type_table(std::index_sequence<I...>) {
    std::array<TypeInfo, 256> table{};
    const auto add = [&]<class M>(std::uint8_t index, M*) {
        using L = Layout<M>;
        table[static_cast<std::uint8_t>(M::kType)] =
            TypeInfo{true,  L::from_client, L::from_server,
                     index, L::fixed_bytes, L::fixed_bytes + text_capacity<M>()};
    };
    (add(static_cast<std::uint8_t>(I),
         static_cast<std::variant_alternative_t<I, Message>*>(nullptr)),
     ...);
    return table;
}
constexpr auto kTypeTable =
    make_type_table(std::make_index_sequence<std::variant_size_v<Message>>{});

consteval bool type_codes_unique() {
    std::size_t known = 0;
    for (const TypeInfo& info : kTypeTable) {
        known += info.known ? 1 : 0;
    }
    return known == std::variant_size_v<Message>;
}
static_assert(type_codes_unique(), "two messages share a type code");

template <std::size_t... I>
MalformedReason decode_alternative(std::size_t variant_index, std::span<const std::byte> frame,
                                   Message& out, std::index_sequence<I...>) {
    MalformedReason malformed = MalformedReason::None;
    // Unrolled into one comparison per message type: no table of function pointers to chase.
    static_cast<void>(
        ((variant_index == I &&
          (malformed = decode_as<std::variant_alternative_t<I, Message>>(frame, out), true)) ||
         ...));
    return malformed;
}

void need_more(DecodeResult& result, std::size_t needed) {
    result.status = DecodeStatus::NeedMore;
    result.needed = needed;
}

void malformed_frame(DecodeResult& result, MalformedReason reason) {
    result.status = DecodeStatus::Malformed;
    result.malformed = reason;
}

// Fills `result` in place: the caller returns that one object, so the message is never copied.
void decode_into(std::span<const std::byte> received, std::size_t max_frame_bytes, Sender sender,
                 DecodeResult& result) {
    if (received.size() < kLengthFieldBytes) {
        return need_more(result, kLengthFieldBytes);
    }
    std::uint16_t body_bytes = 0;
    load(received.data(), body_bytes);
    if (body_bytes == 0) {
        return malformed_frame(result, MalformedReason::ZeroLength);
    }
    const std::size_t frame_bytes = kLengthFieldBytes + body_bytes;
    if (frame_bytes > max_frame_bytes) {
        return malformed_frame(result, MalformedReason::FrameTooLong);
    }
    if (received.size() < kFrameHeaderBytes) {
        return need_more(result, frame_bytes);
    }
    const TypeInfo& info = kTypeTable[std::to_integer<std::uint8_t>(received[kLengthFieldBytes])];
    if (!info.known) {
        return malformed_frame(result, MalformedReason::UnknownType);
    }
    if (!(sender == Sender::Client ? info.from_client : info.from_server)) {
        return malformed_frame(result, MalformedReason::WrongSender);
    }
    if (frame_bytes < info.min_frame_bytes || frame_bytes > info.max_frame_bytes) {
        return malformed_frame(result, MalformedReason::LengthMismatch);
    }
    if (received.size() < frame_bytes) {
        return need_more(result, frame_bytes);
    }
    const MalformedReason malformed =
        decode_alternative(info.variant_index, received.first(frame_bytes), result.message,
                           std::make_index_sequence<std::variant_size_v<Message>>{});
    if (malformed != MalformedReason::None) {
        return malformed_frame(result, malformed);
    }
    result.status = DecodeStatus::Decoded;
    result.consumed = frame_bytes;
}

}  // namespace

MessageType type_of(const Message& message) noexcept {
    return std::visit([](const auto& m) { return std::remove_cvref_t<decltype(m)>::kType; },
                      message);
}

bool is_sent_by(MessageType type, Sender sender) noexcept {
    const TypeInfo& info = kTypeTable[static_cast<std::uint8_t>(type)];
    return sender == Sender::Client ? info.from_client : info.from_server;
}

std::size_t encoded_size(const Message& message) noexcept {
    return std::visit([](const auto& m) { return frame_size(m); }, message);
}

std::size_t encode(const Message& message, std::span<std::byte> out) noexcept {
    return std::visit([&](const auto& m) { return encode_as(m, out); }, message);
}

DecodeResult decode(std::span<const std::byte> received, std::size_t max_frame_bytes,
                    Sender sender) noexcept {
    DecodeResult result;
    decode_into(received, max_frame_bytes, sender, result);
    return result;
}

std::string_view to_string(MessageType type) {
    switch (type) {
        case MessageType::Login:
            return "login";
        case MessageType::Logout:
            return "logout";
        case MessageType::Heartbeat:
            return "heartbeat";
        case MessageType::NewOrder:
            return "new_order";
        case MessageType::Cancel:
            return "cancel";
        case MessageType::Replace:
            return "replace";
        case MessageType::MassCancel:
            return "mass_cancel";
        case MessageType::OrderStatusRequest:
            return "order_status_request";
        case MessageType::LoginAccepted:
            return "login_accepted";
        case MessageType::LoginRejected:
            return "login_rejected";
        case MessageType::Goodbye:
            return "goodbye";
        case MessageType::Accepted:
            return "accepted";
        case MessageType::Rejected:
            return "rejected";
        case MessageType::Fill:
            return "fill";
        case MessageType::Cancelled:
            return "cancelled";
        case MessageType::Replaced:
            return "replaced";
        case MessageType::MassCancelled:
            return "mass_cancelled";
        case MessageType::OrderStatus:
            return "order_status";
    }
    return "unknown_type";
}

std::string_view to_string(MalformedReason reason) {
    switch (reason) {
        case MalformedReason::None:
            return "none";
        case MalformedReason::ZeroLength:
            return "zero-length frame";
        case MalformedReason::FrameTooLong:
            return "frame longer than max_frame_bytes";
        case MalformedReason::UnknownType:
            return "unknown message type";
        case MalformedReason::WrongSender:
            return "message type not sent by this side";
        case MalformedReason::LengthMismatch:
            return "length does not match the type's layout";
        case MalformedReason::StringTooLong:
            return "string longer than its limit";
    }
    return "unknown_malformed_reason";
}

std::string_view to_string(RejectCode code) {
    switch (code) {
        case RejectCode::NotLoggedIn:
            return "not_logged_in";
        case RejectCode::Throttled:
            return "throttled";
    }
    return book::to_string(static_cast<book::RejectReason>(code));
}

std::string_view to_string(LoginRejectReason reason) {
    switch (reason) {
        case LoginRejectReason::BadCredentials:
            return "bad_credentials";
        case LoginRejectReason::UnsupportedVersion:
            return "unsupported_version";
        case LoginRejectReason::AlreadyLoggedIn:
            return "already_logged_in";
        case LoginRejectReason::TooManySessions:
            return "too_many_sessions";
        case LoginRejectReason::Unavailable:
            return "unavailable";
    }
    return "unknown_reason";
}

std::string_view to_string(GoodbyeReason reason) {
    switch (reason) {
        case GoodbyeReason::Logout:
            return "logout";
        case GoodbyeReason::HeartbeatTimeout:
            return "heartbeat_timeout";
        case GoodbyeReason::MalformedFrame:
            return "malformed_frame";
        case GoodbyeReason::ProtocolViolation:
            return "protocol_violation";
        case GoodbyeReason::ShuttingDown:
            return "shutting_down";
        case GoodbyeReason::Unavailable:
            return "unavailable";
        case GoodbyeReason::SlowConsumer:
            return "slow_consumer";
    }
    return "unknown_reason";
}

std::string_view to_string(OrderState state) {
    switch (state) {
        case OrderState::NotFound:
            return "not_found";
        case OrderState::Resting:
            return "resting";
        case OrderState::Filled:
            return "filled";
        case OrderState::Cancelled:
            return "cancelled";
        case OrderState::Done:
            return "done";
    }
    return "unknown_state";
}

std::string_view to_string(Liquidity liquidity) {
    switch (liquidity) {
        case Liquidity::Maker:
            return "maker";
        case Liquidity::Taker:
            return "taker";
    }
    return "unknown_liquidity";
}

}  // namespace exchanged::net
