#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "frame_test_util.hpp"
#include "repl/frame_decoder.hpp"
#include "repl/frame_format.hpp"
#include "wal/record_format.hpp"

using namespace exchanged;
using namespace exchanged::repl;
using exchanged::repl::test::OwnedFrame;

namespace {

std::vector<std::byte> payload_of(std::size_t size, int seed) {
    std::vector<std::byte> out(size);
    for (std::size_t i = 0; i < size; ++i) {
        out[i] = static_cast<std::byte>((seed * 31 + static_cast<int>(i) * 7) & 0xff);
    }
    return out;
}

// One frame of each kind, back to back.
std::vector<std::byte> sample_stream() {
    std::vector<std::byte> out;
    encode_hello({7, 3, 1000, 2, {{1, 1}, {2, 500}}}, out);
    RecordsFrameBuilder records(out, 3, 1001);
    records.add(1001, 5, payload_of(40, 1));
    records.add(1002, 6, {});
    records.add(1003, 7, payload_of(100, 2));
    records.finish();
    encode_ack({3, 1003}, out);
    encode_refuse({4, RefuseReason::DivergedLog, "logs differ at LSN 998"}, out);
    encode_truncate({5, 100, 2, 150}, out);
    return out;
}

std::vector<OwnedFrame> decode_all(std::span<const std::byte> bytes) {
    FrameDecoder decoder;
    std::vector<OwnedFrame> frames;
    REQUIRE(test::decode_split(decoder, bytes, {}, frames));
    REQUIRE(decoder.buffered() == 0);
    return frames;
}

std::string refusal_of(std::span<const std::byte> bytes, FrameError expected,
                       std::size_t max_frame_bytes = kDefaultMaxFrameBytes) {
    FrameDecoder decoder({max_frame_bytes});
    std::vector<OwnedFrame> frames;
    CHECK_FALSE(test::decode_split(decoder, bytes, {}, frames));
    CHECK(frames.empty());
    CHECK(decoder.error() == expected);
    return decoder.message();
}

}  // namespace

TEST_CASE("every frame kind round-trips", "[repl][frame]") {
    const std::vector<std::byte> stream = sample_stream();
    const std::vector<OwnedFrame> frames = decode_all(stream);
    REQUIRE(frames.size() == 5);

    const auto view = [](const OwnedFrame& owned) { return Frame{owned.header, owned.payload}; };
    const Hello hello = hello_of(view(frames[0]));
    CHECK(frames[0].header.kind == FrameKind::Hello);
    CHECK(hello.node == 7);
    CHECK(hello.epoch == 3);
    CHECK(hello.durable_lsn == 1000);
    CHECK(hello.last_record_epoch == 2);
    CHECK(hello.terms == std::vector<TermStart>{{1, 1}, {2, 500}});

    CHECK(frames[1].header.kind == FrameKind::Records);
    CHECK(frames[1].header.epoch == 3);
    CHECK(frames[1].header.first_lsn == 1001);
    CHECK(frames[1].header.record_count == 3);
    const std::vector<RecordOfFrame> records = records_of(view(frames[1]));
    REQUIRE(records.size() == 3);
    CHECK(records[0].lsn == 1001);
    CHECK(records[0].type == 5);
    CHECK(std::vector<std::byte>(records[0].payload.begin(), records[0].payload.end()) ==
          payload_of(40, 1));
    CHECK(records[1].payload.empty());
    CHECK(records[2].type == 7);
    // The payload holds the records exactly as the WAL encodes them.
    std::vector<std::byte> wal_bytes(wal::record_bytes_for(100));
    wal::encode_record(1003, 7, payload_of(100, 2), wal_bytes);
    CHECK(std::vector<std::byte>(records[2].encoded.begin(), records[2].encoded.end()) ==
          wal_bytes);

    const Ack ack = ack_of(view(frames[2]));
    CHECK(ack.epoch == 3);
    CHECK(ack.durable_lsn == 1003);

    const Refuse refuse = refuse_of(view(frames[3]));
    CHECK(refuse.epoch == 4);
    CHECK(refuse.reason == RefuseReason::DivergedLog);
    CHECK(refuse.text == "logs differ at LSN 998");

    CHECK(frames[4].header.kind == FrameKind::Truncate);
    CHECK(truncate_of(view(frames[4])) == Truncate{5, 100, 2, 150});
}

TEST_CASE("a Hello carries the newest terms only, up to its bound", "[repl][frame]") {
    Hello hello{2, 100, 5000, 100, {}};
    for (Epoch e = 1; e <= 100; ++e) {
        hello.terms.push_back({e, e * 10});
    }
    std::vector<std::byte> out;
    encode_hello(hello, out);
    CHECK(out.size() == kFrameHeaderBytes + kHelloFixedBytes + kMaxHelloTerms * kHelloTermBytes);
    const std::vector<OwnedFrame> frames = decode_all(out);
    REQUIRE(frames.size() == 1);
    const Hello decoded = hello_of({frames[0].header, frames[0].payload});
    REQUIRE(decoded.terms.size() == kMaxHelloTerms);
    CHECK(decoded.terms.front() == TermStart{37, 370});
    CHECK(decoded.terms.back() == TermStart{100, 1000});
}

TEST_CASE("a refusal's text is cut at its bound", "[repl][frame]") {
    std::vector<std::byte> out;
    encode_refuse({1, RefuseReason::OutOfDate, std::string(500, 'x')}, out);
    const std::vector<OwnedFrame> frames = decode_all(out);
    REQUIRE(frames.size() == 1);
    CHECK(refuse_of({frames[0].header, frames[0].payload}).text ==
          std::string(kMaxRefuseTextBytes, 'x'));
}

TEST_CASE("the builder refuses a record out of LSN order and an empty frame", "[repl][frame]") {
    std::vector<std::byte> out;
    RecordsFrameBuilder builder(out, 1, 10);
    CHECK_THROWS_WITH(builder.finish(), Catch::Contains("needs one record"));
    builder.add(10, 1, {});
    CHECK_THROWS_WITH(builder.add(12, 1, {}), Catch::Contains("LSN 12 where LSN 11"));
    CHECK_THROWS_WITH(builder.add(10, 1, {}), Catch::Contains("LSN 10 where LSN 11"));
}

TEST_CASE("the stream decodes the same at every byte split point", "[repl][frame]") {
    const std::vector<std::byte> stream = sample_stream();
    const std::vector<OwnedFrame> whole = decode_all(stream);
    for (std::size_t split = 0; split <= stream.size(); ++split) {
        FrameDecoder decoder;
        std::vector<OwnedFrame> frames;
        REQUIRE(test::decode_split(decoder, stream, {split}, frames));
        REQUIRE(frames == whole);
    }
    // And one byte at a time.
    std::vector<std::size_t> every;
    for (std::size_t at = 1; at < stream.size(); ++at) {
        every.push_back(at);
    }
    FrameDecoder decoder;
    std::vector<OwnedFrame> frames;
    REQUIRE(test::decode_split(decoder, stream, every, frames));
    CHECK(frames == whole);
}

TEST_CASE("a truncated frame waits for the rest, holding what it has", "[repl][frame]") {
    std::vector<std::byte> stream;
    encode_hello({1, 1, 5, 1, {{1, 1}}}, stream);
    RecordsFrameBuilder records(stream, 1, 6);
    records.add(6, 2, payload_of(30, 9));
    records.finish();
    for (std::size_t cut = 0; cut < stream.size(); ++cut) {
        FrameDecoder decoder;
        std::vector<OwnedFrame> frames;
        REQUIRE(test::decode_split(decoder, std::span(stream).first(cut), {}, frames));
        const std::size_t hello_bytes = kFrameHeaderBytes + kHelloFixedBytes + kHelloTermBytes;
        CHECK(frames.size() == (cut >= hello_bytes ? 1u : 0u));
        CHECK(decoder.buffered() == (cut >= hello_bytes ? cut - hello_bytes : cut));
        CHECK(decoder.error() == FrameError::None);
        // The rest completes it.
        REQUIRE(test::decode_split(decoder, std::span(stream).subspan(cut), {}, frames));
        CHECK(frames.size() == 2);
    }
}

TEST_CASE("every single-bit flip of every frame kind is refused", "[repl][frame]") {
    const std::vector<std::byte> stream = sample_stream();
    for (std::size_t byte = 0; byte < stream.size(); ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            std::vector<std::byte> damaged = stream;
            damaged[byte] ^= static_cast<std::byte>(1u << bit);
            FrameDecoder decoder;
            std::vector<OwnedFrame> frames;
            INFO("byte " << byte << " bit " << bit);
            REQUIRE_FALSE(test::decode_split(decoder, damaged, {}, frames));
            CHECK(decoder.error() != FrameError::None);
            CHECK_FALSE(decoder.message().empty());
            // A refusal is final.
            CHECK_FALSE(decoder.feed(stream, [](const Frame&) {}));
        }
    }
}

TEST_CASE("the decoder names the field it refuses", "[repl][frame]") {
    const std::vector<std::byte> ack_payload = payload_of(kAckPayloadBytes, 3);

    SECTION("magic, at the first four bytes") {
        const std::vector<std::byte> http = test::bytes_of({'G', 'E', 'T', ' '});
        FrameDecoder decoder;
        CHECK_FALSE(decoder.feed(http, [](const Frame&) {}));
        CHECK(decoder.error() == FrameError::BadMagic);
        CHECK_THAT(decoder.message(), Catch::Contains("magic 0x20544547"));
    }
    SECTION("version") {
        CHECK_THAT(refusal_of(test::raw_frame(3, 1, 0, 0, ack_payload, 2), FrameError::BadVersion),
                   Catch::Contains("version 2 is not supported"));
    }
    SECTION("kind") {
        CHECK_THAT(refusal_of(test::raw_frame(9, 1, 0, 0, ack_payload), FrameError::BadKind),
                   Catch::Contains("kind 9"));
    }
    SECTION("a kind's fixed payload length") {
        CHECK_THAT(refusal_of(test::raw_frame(1, 1, 0, 0, ack_payload), FrameError::BadLength),
                   Catch::Contains("Hello frame: payload_bytes 8 is not 22 + 16 x terms"));
        CHECK_THAT(refusal_of(test::raw_frame(5, 1, 0, 0, ack_payload), FrameError::BadLength),
                   Catch::Contains("Truncate frame: payload_bytes 8 is not 24"));
    }
    SECTION("fields a kind leaves zero") {
        CHECK_THAT(refusal_of(test::raw_frame(3, 1, 5, 0, ack_payload), FrameError::BadField),
                   Catch::Contains("first_lsn 5"));
    }
    SECTION("Hello: its terms count, their order and bounds, its last record's epoch") {
        // node 2, durable LSN 100, last record epoch 3, then the terms.
        const auto hello = [](Epoch promised, std::uint16_t count, Epoch last_epoch,
                              std::vector<TermStart> terms) {
            std::vector<std::byte> payload(kHelloFixedBytes + terms.size() * kHelloTermBytes);
            store_le(payload.data(), NodeId{2});
            store_le(payload.data() + 4, wal::Lsn{100});
            store_le(payload.data() + 12, last_epoch);
            store_le(payload.data() + 20, count);
            for (std::size_t i = 0; i < terms.size(); ++i) {
                store_le(payload.data() + kHelloFixedBytes + i * kHelloTermBytes, terms[i].epoch);
                store_le(payload.data() + kHelloFixedBytes + i * kHelloTermBytes + 8,
                         terms[i].first_lsn);
            }
            return test::raw_frame(1, promised, 0, 0, payload);
        };
        // The valid one first, so that each refusal below is the one field's.
        FrameDecoder decoder;
        std::vector<OwnedFrame> frames;
        REQUIRE(test::decode_split(decoder, hello(3, 2, 3, {{1, 1}, {3, 50}}), {}, frames));
        CHECK_THAT(refusal_of(hello(3, 3, 3, {{1, 1}, {3, 50}}), FrameError::BadField),
                   Catch::Contains("Hello frame: terms 3 but the payload carries 2"));
        CHECK_THAT(refusal_of(hello(3, 2, 3, {{3, 1}, {1, 50}}), FrameError::BadPayload),
                   Catch::Contains("term 1 (epoch 1 from LSN 50) does not follow epoch 3"));
        CHECK_THAT(refusal_of(hello(3, 2, 3, {{1, 60}, {3, 50}}), FrameError::BadPayload),
                   Catch::Contains("does not follow epoch 1 from LSN 60"));
        CHECK_THAT(refusal_of(hello(3, 2, 3, {{1, 1}, {3, 101}}), FrameError::BadPayload),
                   Catch::Contains("starts beyond durable_lsn 100"));
        CHECK_THAT(refusal_of(hello(2, 2, 3, {{1, 1}, {3, 50}}), FrameError::BadPayload),
                   Catch::Contains("is above the promised epoch 2"));
        CHECK_THAT(refusal_of(hello(3, 2, 1, {{1, 1}, {3, 50}}), FrameError::BadPayload),
                   Catch::Contains("last_record_epoch 1 is not the epoch of its newest term (3)"));
        CHECK_THAT(refusal_of(hello(3, 1, 3, {{0, 1}}), FrameError::BadPayload),
                   Catch::Contains("has a zero epoch or LSN"));
    }
    SECTION("a refusal reason") {
        CHECK_THAT(
            refusal_of(test::raw_frame(4, 1, 0, 0, test::bytes_of({9, 0})), FrameError::BadPayload),
            Catch::Contains("reason 9"));
    }
    SECTION("Records: an empty frame, LSN 0, a record with another LSN, bytes after the records") {
        std::vector<std::byte> record(wal::record_bytes_for(4));
        wal::encode_record(8, 1, payload_of(4, 1), record);
        CHECK_THAT(refusal_of(test::raw_frame(2, 1, 8, 0, record), FrameError::BadField),
                   Catch::Contains("record_count is 0"));
        CHECK_THAT(refusal_of(test::raw_frame(2, 1, 0, 1, record), FrameError::BadField),
                   Catch::Contains("first_lsn is 0"));
        CHECK_THAT(refusal_of(test::raw_frame(2, 1, 7, 1, record), FrameError::BadPayload),
                   Catch::Contains("record 0 (LSN 7) carries LSN 8"));
        CHECK_THAT(refusal_of(test::raw_frame(2, 1, 8, 2, record), FrameError::BadLength),
                   Catch::Contains("cannot hold record_count 2"));
        std::vector<std::byte> two = record;
        two.insert(two.end(), record.begin(), record.end());
        CHECK_THAT(refusal_of(test::raw_frame(2, 1, 8, 2, two), FrameError::BadPayload),
                   Catch::Contains("record 1 (LSN 9) carries LSN 8"));
        CHECK_THAT(refusal_of(test::raw_frame(2, 1, 8, 1, two), FrameError::BadPayload),
                   Catch::Contains("payload bytes follow record_count 1"));
        std::vector<std::byte> damaged = record;
        damaged.back() ^= std::byte{1};
        CHECK_THAT(refusal_of(test::raw_frame(2, 1, 8, 1, damaged), FrameError::BadPayload),
                   Catch::Contains("fails its record CRC"));
    }
}

TEST_CASE("a frame above the bound is refused at its header, never allocated", "[repl][frame]") {
    // A header that claims 4 GiB with valid checksums: refused once the header is in, before any
    // payload, without waiting for it.
    const std::vector<std::byte> claim =
        test::raw_frame(2, 1, 1, 1, {}, kFrameVersion, 0xffffffffu);
    FrameDecoder decoder;
    CHECK_FALSE(decoder.feed(claim, [](const Frame&) {}));
    CHECK(decoder.error() == FrameError::BadLength);
    CHECK_THAT(decoder.message(), Catch::Contains("payload_bytes 4294967295 exceeds the frame "
                                                  "bound 4194304"));

    // A real frame one byte over a small bound.
    std::vector<std::byte> big;
    RecordsFrameBuilder builder(big, 1, 1);
    const std::size_t payload = kMinMaxFrameBytes - kFrameHeaderBytes - wal::kRecordHeaderBytes + 1;
    builder.add(1, 1, payload_of(payload, 4));
    builder.finish();
    REQUIRE(big.size() == kMinMaxFrameBytes + 1);
    refusal_of(big, FrameError::BadLength, kMinMaxFrameBytes);
    // One byte less fits.
    std::vector<std::byte> fits;
    RecordsFrameBuilder exact(fits, 1, 1);
    exact.add(1, 1, payload_of(payload - 1, 4));
    exact.finish();
    FrameDecoder small({kMinMaxFrameBytes});
    std::vector<OwnedFrame> frames;
    CHECK(test::decode_split(small, fits, {}, frames));
    CHECK(frames.size() == 1);

    CHECK_THROWS_WITH(FrameDecoder({kMinMaxFrameBytes - 1}), Catch::Contains("max_frame_bytes"));
}
