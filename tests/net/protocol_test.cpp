#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "common/random.hpp"
#include "net/protocol.hpp"

using namespace exchanged;
using namespace exchanged::net;

namespace {

using Bytes = std::vector<std::byte>;

template <std::size_t N>
BoundedString<N> text(std::string_view value) {
    BoundedString<N> result;
    REQUIRE(result.assign(value));
    return result;
}

Bytes bytes_of(std::initializer_list<int> values) {
    Bytes out;
    for (const int value : values) {
        out.push_back(static_cast<std::byte>(value));
    }
    return out;
}

Bytes encode_frame(const Message& message) {
    Bytes out(encoded_size(message));
    REQUIRE(encode(message, out) == out.size());
    return out;
}

Sender sender_of(const Message& message) {
    return is_sent_by(type_of(message), Sender::Client) ? Sender::Client : Sender::Server;
}

// Every byte value, so strings prove they carry arbitrary bytes, NUL and 0xff included.
std::string all_bytes(std::size_t length, int first) {
    std::string out;
    for (std::size_t i = 0; i < length; ++i) {
        out.push_back(static_cast<char>((first + static_cast<int>(i) * 37) & 0xff));
    }
    return out;
}

template <std::size_t... I>
std::vector<Message> defaults_of_every_type(std::index_sequence<I...>) {
    return {Message{std::variant_alternative_t<I, Message>{}}...};
}

// Every message type at its defaults and again with every field at an extreme, including values
// no field accepts (side 255): the codec carries them; rejecting them is the gateway's job.
std::vector<Message> edge_messages() {
    constexpr auto u64_max = std::numeric_limits<std::uint64_t>::max();
    constexpr auto u32_max = std::numeric_limits<std::uint32_t>::max();
    constexpr auto i64_min = std::numeric_limits<std::int64_t>::min();
    constexpr auto i64_max = std::numeric_limits<std::int64_t>::max();
    const auto side = static_cast<Side>(0xff);
    std::vector<Message> messages =
        defaults_of_every_type(std::make_index_sequence<std::variant_size_v<Message>>{});
    messages.push_back(Login{.protocol_version = 0xffff,
                             .account_name = text<kMaxAccountNameBytes>(all_bytes(32, 0)),
                             .secret = text<kMaxSecretBytes>(all_bytes(64, 200))});
    messages.push_back(Login{.protocol_version = 1,
                             .account_name = text<kMaxAccountNameBytes>("alice"),
                             .secret = text<kMaxSecretBytes>("")});
    messages.push_back(NewOrder{.side = side,
                                .instrument = u32_max,
                                .client_order_id = u64_max,
                                .price = i64_min,
                                .quantity = i64_max,
                                .order_type = static_cast<book::OrderType>(0xff),
                                .time_in_force = static_cast<book::TimeInForce>(0xff),
                                .flags = 0xff});
    messages.push_back(
        Cancel{.instrument = u32_max, .client_request_id = u64_max, .order_id = u64_max});
    messages.push_back(Replace{.instrument = u32_max,
                               .client_request_id = u64_max,
                               .order_id = u64_max,
                               .price = i64_max,
                               .quantity = i64_min});
    messages.push_back(MassCancel{.instrument = 0, .client_request_id = u64_max});
    messages.push_back(OrderStatusRequest{.instrument = u32_max, .client_order_id = u64_max});
    messages.push_back(LoginAccepted{.account_id = u32_max,
                                     .heartbeat_interval_ms = u32_max,
                                     .max_frame_bytes = u32_max,
                                     .protocol_version = 0xffff});
    messages.push_back(
        LoginRejected{.reason = static_cast<LoginRejectReason>(0xff),
                      .text = text<kMaxReasonTextBytes>(all_bytes(kMaxReasonTextBytes, 7))});
    messages.push_back(Goodbye{.reason = static_cast<GoodbyeReason>(0xff),
                               .text = text<kMaxReasonTextBytes>("heartbeat missed")});
    messages.push_back(Accepted{.side = side,
                                .instrument = u32_max,
                                .client_order_id = u64_max,
                                .order_id = u64_max,
                                .price = i64_min,
                                .quantity = i64_max,
                                .timestamp_ns = i64_min});
    messages.push_back(Rejected{.reason = static_cast<RejectCode>(0xff),
                                .instrument = u32_max,
                                .client_id = u64_max,
                                .order_id = u64_max,
                                .timestamp_ns = i64_max,
                                .request_type = static_cast<MessageType>(0xff)});
    messages.push_back(Fill{.side = side,
                            .instrument = u32_max,
                            .order_id = u64_max,
                            .client_order_id = u64_max,
                            .trade_id = u64_max,
                            .price = i64_max,
                            .quantity = i64_min,
                            .leaves = i64_max,
                            .timestamp_ns = i64_min,
                            .liquidity = static_cast<Liquidity>(0xff)});
    messages.push_back(Cancelled{.reason = static_cast<book::CancelReason>(0xff),
                                 .instrument = u32_max,
                                 .order_id = u64_max,
                                 .client_order_id = u64_max,
                                 .client_request_id = u64_max,
                                 .quantity = i64_min,
                                 .timestamp_ns = i64_max});
    messages.push_back(Replaced{.instrument = u32_max,
                                .order_id = u64_max,
                                .client_order_id = u64_max,
                                .client_request_id = u64_max,
                                .price = i64_min,
                                .leaves = i64_max,
                                .timestamp_ns = i64_min});
    messages.push_back(MassCancelled{.instrument = book::kAllInstruments,
                                     .client_request_id = u64_max,
                                     .timestamp_ns = i64_max,
                                     .cancelled_count = u32_max});
    messages.push_back(OrderStatus{.state = static_cast<OrderState>(0xff),
                                   .instrument = u32_max,
                                   .client_order_id = u64_max,
                                   .order_id = u64_max,
                                   .price = i64_min,
                                   .leaves = i64_max,
                                   .executed_quantity = i64_min,
                                   .side = side});
    return messages;
}

// Decodes every whole frame at the front of `buffer`, appending the messages to `out` and dropping
// the frames; stops at NeedMore. A Malformed frame fails the test.
void drain(Bytes& buffer, Sender sender, std::vector<Message>& out) {
    std::size_t offset = 0;
    for (;;) {
        const DecodeResult result =
            decode(std::span(buffer).subspan(offset), kDefaultMaxFrameBytes, sender);
        REQUIRE(result.status != DecodeStatus::Malformed);
        if (result.status == DecodeStatus::NeedMore) {
            REQUIRE(result.needed > buffer.size() - offset);
            break;
        }
        out.push_back(result.message);
        offset += result.consumed;
    }
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(offset));
}

void set_length(Bytes& frame, std::size_t body_bytes) {
    const auto value = static_cast<std::uint16_t>(body_bytes);
    std::memcpy(frame.data(), &value, 2);
}

MalformedReason malformed_reason(const Bytes& bytes, Sender sender,
                                 std::size_t max_frame_bytes = kDefaultMaxFrameBytes) {
    const DecodeResult result = decode(bytes, max_frame_bytes, sender);
    if (result.status != DecodeStatus::Malformed) {
        return MalformedReason::None;
    }
    return result.malformed;
}

}  // namespace

TEST_CASE("every message type round trips with edge values", "[net][protocol]") {
    const std::vector<Message> messages = edge_messages();
    std::vector<bool> covered(std::variant_size_v<Message>, false);
    for (const Message& message : messages) {
        INFO("type " << to_string(type_of(message)));
        covered[message.index()] = true;
        const Bytes frame = encode_frame(message);
        std::uint16_t body_bytes = 0;
        std::memcpy(&body_bytes, frame.data(), 2);
        CHECK(body_bytes + kLengthFieldBytes == frame.size());
        CHECK(std::to_integer<std::uint8_t>(frame[2]) ==
              static_cast<std::uint8_t>(type_of(message)));

        const DecodeResult result = decode(frame, kDefaultMaxFrameBytes, sender_of(message));
        REQUIRE(result.status == DecodeStatus::Decoded);
        CHECK(result.consumed == frame.size());
        CHECK(result.message == message);
    }
    for (std::size_t index = 0; index < covered.size(); ++index) {
        INFO("variant index " << index);
        CHECK(covered[index]);
    }
}

TEST_CASE("encode writes nothing into a buffer one byte too small", "[net][protocol]") {
    for (const Message& message : edge_messages()) {
        const std::size_t size = encoded_size(message);
        Bytes out(size - 1, std::byte{0xab});
        CHECK(encode(message, out) == 0);
        CHECK(
            std::all_of(out.begin(), out.end(), [](std::byte b) { return b == std::byte{0xab}; }));
    }
}

TEST_CASE("frame sizes are those docs/protocol.md states", "[net][protocol]") {
    const auto size_of = [](const Message& message) { return encoded_size(message); };
    CHECK(size_of(Login{}) == 7);
    CHECK(size_of(Logout{}) == 3);
    CHECK(size_of(Heartbeat{}) == 3);
    CHECK(size_of(NewOrder{}) == 35);
    CHECK(size_of(Cancel{}) == 24);
    CHECK(size_of(Replace{}) == 40);
    CHECK(size_of(MassCancel{}) == 16);
    CHECK(size_of(OrderStatusRequest{}) == 16);
    CHECK(size_of(LoginAccepted{}) == 18);
    CHECK(size_of(LoginRejected{}) == 5);
    CHECK(size_of(Goodbye{}) == 5);
    CHECK(size_of(Accepted{}) == 48);
    CHECK(size_of(Rejected{}) == 33);
    CHECK(size_of(Fill{}) == 65);
    CHECK(size_of(Cancelled{}) == 48);
    CHECK(size_of(Replaced{}) == 56);
    CHECK(size_of(MassCancelled{}) == 28);
    CHECK(size_of(OrderStatus{}) == 49);
    CHECK(kLargestClientFrameBytes == 103);
}

// If one of these changes, every client in the field breaks: change kProtocolVersion and the doc.
TEST_CASE("golden encodings pin the wire format", "[net][protocol]") {
    SECTION("NewOrder") {
        const NewOrder order{.side = Side::Sell,
                             .instrument = 0x01020304,
                             .client_order_id = 0x1122334455667788,
                             .price = 1'000'000,
                             .quantity = 25,
                             .order_type = book::OrderType::Limit,
                             .time_in_force = book::TimeInForce::ImmediateOrCancel,
                             .flags = book::order_flags::kPostOnly};
        CHECK(encode_frame(order) ==
              bytes_of({
                  0x21, 0x00,                                      // length 33
                  0x10,                                            // NewOrder
                  0x01,                                            // sell
                  0x04, 0x03, 0x02, 0x01,                          // instrument
                  0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // client id
                  0x40, 0x42, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00,  // price
                  0x19, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // quantity
                  0x00,                                            // limit
                  0x01,                                            // IOC
                  0x01,                                            // post-only
              }));
    }
    SECTION("Login") {
        const Login login{.protocol_version = 1,
                          .account_name = text<kMaxAccountNameBytes>("alice"),
                          .secret = text<kMaxSecretBytes>("pw")};
        CHECK(encode_frame(login) == bytes_of({
                                         0x0c, 0x00,               // length 12
                                         0x01,                     // Login
                                         0x05,                     // account name length
                                         0x01, 0x00,               // protocol version
                                         0x02,                     // secret length
                                         'a', 'l', 'i', 'c', 'e',  // account name
                                         'p', 'w',                 // secret
                                     }));
    }
    SECTION("Fill") {
        const Fill fill{.side = Side::Buy,
                        .instrument = 7,
                        .order_id = 0x0102,
                        .client_order_id = 0x0304,
                        .trade_id = 0x0506,
                        .price = -2,
                        .quantity = 0x0708,
                        .leaves = 0x090a,
                        .timestamp_ns = 0x0b0c,
                        .liquidity = Liquidity::Taker};
        CHECK(encode_frame(fill) ==
              bytes_of({
                  0x3f, 0x00,                                      // length 63
                  0x92,                                            // Fill
                  0x00,                                            // buy
                  0x07, 0x00, 0x00, 0x00,                          // instrument
                  0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // order id
                  0x04, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // client id
                  0x06, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // trade id
                  0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // price -2
                  0x08, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // quantity
                  0x0a, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // leaves
                  0x0c, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // time
                  0x01,                                            // taker
              }));
    }
}

// Clients hard-code these numbers from docs/protocol.md: the matcher's enums must not be reordered.
TEST_CASE("reason codes keep the numbers docs/protocol.md states", "[net][protocol]") {
    CHECK(static_cast<int>(reject_code(book::RejectReason::UnknownInstrument)) == 1);
    CHECK(static_cast<int>(reject_code(book::RejectReason::DuplicateClientOrderId)) == 14);
    CHECK(static_cast<int>(reject_code(book::RejectReason::BookFull)) == 19);
    CHECK(static_cast<int>(reject_code(book::RejectReason::InvalidCommand)) == 20);
    CHECK(to_string(static_cast<RejectCode>(21)) == "busy");
    CHECK(to_string(static_cast<RejectCode>(22)) == "unavailable");
    CHECK(to_string(RejectCode::NotLoggedIn) == "not_logged_in");
    CHECK(static_cast<int>(RejectCode::NotLoggedIn) == 200);
    CHECK(static_cast<int>(RejectCode::Throttled) == 201);
    CHECK(static_cast<int>(book::CancelReason::ClientRequest) == 1);
    CHECK(static_cast<int>(book::CancelReason::FillOrKill) == 5);
}

TEST_CASE("reserved bytes are sent as zero and ignored on receipt", "[net][protocol]") {
    const Cancel cancel{.instrument = 3, .client_request_id = 9, .order_id = 12};
    Bytes frame = encode_frame(cancel);
    CHECK(frame[3] == std::byte{0});
    frame[3] = std::byte{0x5a};
    const DecodeResult result = decode(frame, kDefaultMaxFrameBytes, Sender::Client);
    REQUIRE(result.status == DecodeStatus::Decoded);
    CHECK(result.message == Message{cancel});
}

TEST_CASE("every class of malformed frame is named", "[net][protocol]") {
    SECTION("zero-length frame, seen from the length field alone") {
        CHECK(malformed_reason(bytes_of({0x00, 0x00}), Sender::Client) ==
              MalformedReason::ZeroLength);
    }
    SECTION("longer than max_frame_bytes, seen from the length field alone") {
        CHECK(malformed_reason(bytes_of({0xff, 0x0f}), Sender::Client, 4096) ==
              MalformedReason::FrameTooLong);  // 2 + 4095
        CHECK(malformed_reason(bytes_of({0xfe, 0x0f}), Sender::Client, 4096) ==
              MalformedReason::None);  // exactly 4096: waits for its type byte
        const Bytes login = encode_frame(Login{.protocol_version = 1,
                                               .account_name = text<kMaxAccountNameBytes>("bob"),
                                               .secret = text<kMaxSecretBytes>("pw")});
        CHECK(decode(login, login.size(), Sender::Client).status == DecodeStatus::Decoded);
        CHECK(malformed_reason(login, Sender::Client, login.size() - 1) ==
              MalformedReason::FrameTooLong);
    }
    SECTION("unknown type byte, seen from the header alone") {
        int unknown = 0;
        for (int type = 0; type < 256; ++type) {
            const auto message_type = static_cast<MessageType>(type);
            if (is_sent_by(message_type, Sender::Client) ||
                is_sent_by(message_type, Sender::Server)) {
                continue;
            }
            ++unknown;
            INFO("type " << type);
            CHECK(malformed_reason(bytes_of({0x01, 0x00, type}), Sender::Client) ==
                  MalformedReason::UnknownType);
            CHECK(malformed_reason(bytes_of({0x01, 0x00, type}), Sender::Server) ==
                  MalformedReason::UnknownType);
        }
        CHECK(unknown == 256 - 18);  // one type code per message struct
    }
    SECTION("a message of the other side") {
        CHECK(malformed_reason(encode_frame(Fill{}), Sender::Client) ==
              MalformedReason::WrongSender);
        CHECK(malformed_reason(encode_frame(NewOrder{}), Sender::Server) ==
              MalformedReason::WrongSender);
        for (const Sender sender : {Sender::Client, Sender::Server}) {
            CHECK(decode(encode_frame(Heartbeat{}), kDefaultMaxFrameBytes, sender).status ==
                  DecodeStatus::Decoded);
        }
    }
    SECTION("a length that does not fit the type, seen from the header alone") {
        for (const Message& message : edge_messages()) {
            const Bytes frame = encode_frame(message);
            const bool has_text = std::holds_alternative<Login>(message) ||
                                  std::holds_alternative<LoginRejected>(message) ||
                                  std::holds_alternative<Goodbye>(message);
            INFO("type " << to_string(type_of(message)) << ", " << frame.size() << " bytes");
            Bytes header(frame.begin(), frame.begin() + 3);
            if (!has_text) {
                set_length(header, frame.size() - 2 + 1);
                CHECK(malformed_reason(header, sender_of(message)) ==
                      MalformedReason::LengthMismatch);
                if (frame.size() > 3) {
                    set_length(header, frame.size() - 2 - 1);
                    CHECK(malformed_reason(header, sender_of(message)) ==
                          MalformedReason::LengthMismatch);
                }
            }
        }
        // Below a Login's fixed part, or above its fixed part with both strings full.
        CHECK(malformed_reason(bytes_of({0x04, 0x00, 0x01}), Sender::Client) ==
              MalformedReason::LengthMismatch);
        CHECK(malformed_reason(bytes_of({102, 0x00, 0x01}), Sender::Client) ==
              MalformedReason::LengthMismatch);
        CHECK(malformed_reason(bytes_of({101, 0x00, 0x01}), Sender::Client) ==
              MalformedReason::None);
        CHECK(malformed_reason(bytes_of({0x01, 0x00, 0x10}), Sender::Client) ==
              MalformedReason::LengthMismatch);  // a NewOrder of only a type byte
    }
    SECTION("string lengths that disagree with the frame length") {
        Bytes login = encode_frame(Login{.account_name = text<kMaxAccountNameBytes>("alice"),
                                         .secret = text<kMaxSecretBytes>("pw")});
        login[3] = std::byte{4};  // name claims 4 bytes of the 7 that follow
        CHECK(malformed_reason(login, Sender::Client) == MalformedReason::LengthMismatch);
        login[3] = std::byte{6};
        CHECK(malformed_reason(login, Sender::Client) == MalformedReason::LengthMismatch);
        Bytes goodbye = encode_frame(Goodbye{.text = text<kMaxReasonTextBytes>("bye")});
        goodbye[4] = std::byte{2};
        CHECK(malformed_reason(goodbye, Sender::Server) == MalformedReason::LengthMismatch);
    }
    SECTION("a string longer than its limit") {
        // A Login whose frame length is legal but whose name claims 33 bytes.
        Bytes login =
            encode_frame(Login{.account_name = text<kMaxAccountNameBytes>(all_bytes(32, 1)),
                               .secret = text<kMaxSecretBytes>("s")});
        login[3] = std::byte{33};
        login[6] = std::byte{0};
        CHECK(malformed_reason(login, Sender::Client) == MalformedReason::StringTooLong);

        Bytes secret = encode_frame(Login{.protocol_version = 1,
                                          .account_name = text<kMaxAccountNameBytes>(""),
                                          .secret = text<kMaxSecretBytes>(all_bytes(64, 1))});
        secret.push_back(std::byte{'x'});
        set_length(secret, secret.size() - 2);
        secret[6] = std::byte{65};
        CHECK(malformed_reason(secret, Sender::Client) == MalformedReason::StringTooLong);

        Bytes rejected = encode_frame(
            LoginRejected{.text = text<kMaxReasonTextBytes>(all_bytes(kMaxReasonTextBytes, 3))});
        rejected[4] = std::byte{65};
        CHECK(malformed_reason(rejected, Sender::Server) == MalformedReason::StringTooLong);
    }
    SECTION("every reason has a name") {
        for (int reason = 0; reason <= static_cast<int>(MalformedReason::StringTooLong); ++reason) {
            CHECK(to_string(static_cast<MalformedReason>(reason)).find("unknown_malformed") ==
                  std::string_view::npos);
        }
    }
}

TEST_CASE("every prefix of a frame needs more and says how much", "[net][protocol]") {
    for (const Message& message : edge_messages()) {
        const Bytes frame = encode_frame(message);
        INFO("type " << to_string(type_of(message)));
        for (std::size_t prefix = 0; prefix < frame.size(); ++prefix) {
            INFO("prefix " << prefix);
            const DecodeResult result =
                decode(std::span(frame).first(prefix), kDefaultMaxFrameBytes, sender_of(message));
            REQUIRE(result.status == DecodeStatus::NeedMore);
            CHECK(result.needed > prefix);
            CHECK(result.needed <= frame.size());
        }
    }
}

TEST_CASE("a stream split at every byte boundary decodes the same as whole", "[net][protocol]") {
    for (const Sender sender : {Sender::Client, Sender::Server}) {
        std::vector<Message> expected;
        Bytes stream;
        for (const Message& message : edge_messages()) {
            if (is_sent_by(type_of(message), sender)) {
                expected.push_back(message);
                const Bytes frame = encode_frame(message);
                stream.insert(stream.end(), frame.begin(), frame.end());
            }
        }

        {  // in one buffer
            Bytes buffer = stream;
            std::vector<Message> decoded;
            drain(buffer, sender, decoded);
            CHECK(buffer.empty());
            CHECK(decoded == expected);
        }
        for (std::size_t split = 0; split <= stream.size(); ++split) {  // in two parts
            INFO("split at " << split);
            Bytes buffer(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(split));
            std::vector<Message> decoded;
            drain(buffer, sender, decoded);
            buffer.insert(buffer.end(), stream.begin() + static_cast<std::ptrdiff_t>(split),
                          stream.end());
            drain(buffer, sender, decoded);
            CHECK(buffer.empty());
            REQUIRE(decoded == expected);
        }
        {  // byte by byte
            Bytes buffer;
            std::vector<Message> decoded;
            for (const std::byte b : stream) {
                buffer.push_back(b);
                drain(buffer, sender, decoded);
            }
            CHECK(buffer.empty());
            CHECK(decoded == expected);
        }
    }
}

// Random inputs of three kinds: pure noise, noise behind a plausible header, and valid frames with
// damage (bit flips, truncation, a rewritten length). Whatever comes, the decoder answers one of
// its three ways with consistent sizes, and anything it decodes re-encodes to itself.
TEST_CASE("random byte soup never crashes and always gets an answer", "[net][protocol]") {
    SplitMix64 random(20240607);
    const std::vector<Message> valid = edge_messages();
    std::array<std::size_t, 3> statuses{};
    std::array<std::size_t, 7> reasons{};
    Bytes scratch(kLongestPossibleFrameBytes);

    for (int round = 0; round < 200000; ++round) {
        Bytes input;
        switch (random.below(3)) {
            case 0: {
                input.resize(random.below(200));
                for (std::byte& b : input) {
                    b = static_cast<std::byte>(random.next());
                }
                break;
            }
            case 1: {
                const std::size_t length = random.below(120);
                input.resize(2 + random.below(length + 2));
                set_length(input, length);
                if (input.size() > 2) {
                    input[2] = static_cast<std::byte>(random.percent(70) ? 0x10 + random.below(8)
                                                                         : random.next());
                }
                for (std::size_t i = 3; i < input.size(); ++i) {
                    input[i] = static_cast<std::byte>(random.next());
                }
                break;
            }
            default: {
                for (std::uint64_t frames = 1 + random.below(4); frames > 0; --frames) {
                    const Bytes frame = encode_frame(valid[random.below(valid.size())]);
                    input.insert(input.end(), frame.begin(), frame.end());
                }
                for (std::uint64_t flips = random.below(4); flips > 0 && !input.empty(); --flips) {
                    input[random.below(input.size())] ^=
                        static_cast<std::byte>(1u << random.below(8));
                }
                if (random.percent(30)) {
                    input.resize(random.below(input.size() + 1));
                }
                if (random.percent(20) && input.size() >= 2) {
                    set_length(input, random.below(0x10000));
                }
                break;
            }
        }

        const Sender sender = random.percent(50) ? Sender::Client : Sender::Server;
        const std::size_t max_frame_bytes = std::array<std::size_t, 3>{
            64, kDefaultMaxFrameBytes, kLongestPossibleFrameBytes}[random.below(3)];
        std::span<const std::byte> rest(input);
        for (;;) {
            const DecodeResult result = decode(rest, max_frame_bytes, sender);
            ++statuses[static_cast<std::size_t>(result.status)];
            if (result.status == DecodeStatus::NeedMore) {
                REQUIRE(result.needed > rest.size());
                REQUIRE(result.needed <= std::min(max_frame_bytes, kLongestPossibleFrameBytes));
                break;
            }
            if (result.status == DecodeStatus::Malformed) {
                REQUIRE(result.malformed != MalformedReason::None);
                ++reasons[static_cast<std::size_t>(result.malformed)];
                break;
            }
            REQUIRE(result.consumed >= kFrameHeaderBytes);
            REQUIRE(result.consumed <= rest.size());
            REQUIRE(result.consumed <= max_frame_bytes);
            REQUIRE(is_sent_by(type_of(result.message), sender));
            REQUIRE(encode(result.message, scratch) == result.consumed);
            const DecodeResult again =
                decode(std::span(scratch).first(result.consumed), max_frame_bytes, sender);
            REQUIRE(again.status == DecodeStatus::Decoded);
            REQUIRE(again.message == result.message);
            rest = rest.subspan(result.consumed);
        }
    }
    // The soup must reach every outcome, or it tests less than it claims.
    CHECK(statuses[static_cast<std::size_t>(DecodeStatus::Decoded)] > 1000);
    CHECK(statuses[static_cast<std::size_t>(DecodeStatus::NeedMore)] > 1000);
    for (std::size_t reason = 1; reason < reasons.size(); ++reason) {
        INFO("reason " << to_string(static_cast<MalformedReason>(reason)));
        CHECK(reasons[reason] > 0);
    }
}
