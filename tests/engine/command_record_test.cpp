// The WAL record formats of the sequencing stage: exact bytes, round trips, refusals.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/random.hpp"
#include "engine/command_record.hpp"

using namespace exchanged;
using namespace exchanged::engine;

namespace {

std::vector<std::byte> bytes(std::initializer_list<int> values) {
    std::vector<std::byte> out;
    for (int v : values) {
        out.push_back(static_cast<std::byte>(v));
    }
    return out;
}

template <std::size_t N>
std::vector<std::byte> as_vector(const std::array<std::byte, N>& a) {
    return {a.begin(), a.end()};
}

bool same(const book::Command& a, const book::Command& b) {
    return a.type == b.type && a.side == b.side && a.order_type == b.order_type &&
           a.time_in_force == b.time_in_force && a.self_trade == b.self_trade &&
           a.flags == b.flags && a.instrument == b.instrument && a.account == b.account &&
           a.seq == b.seq && a.timestamp_ns == b.timestamp_ns &&
           a.client_order_id == b.client_order_id && a.order_id == b.order_id &&
           a.price == b.price && a.quantity == b.quantity;
}

book::Command golden_command() {
    book::Command c;
    c.type = book::CommandType::Replace;
    c.side = Side::Sell;
    c.order_type = book::OrderType::Limit;
    c.time_in_force = book::TimeInForce::ImmediateOrCancel;
    c.self_trade = book::SelfTradePrevention::CancelBoth;
    c.flags = 3;
    c.instrument = 0x01020304;
    c.account = 0x0A0B0C0D;
    c.seq = 0x1122334455667788;
    c.timestamp_ns = -2;
    c.client_order_id = 0x0102030405060708;
    c.order_id = 42;
    c.price = -1000;
    c.quantity = 0x7fffffffffffffff;
    return c;
}

}  // namespace

TEST_CASE("a command record has its documented little-endian bytes", "[engine][record]") {
    CommandRecordBytes out{};
    encode_command(0x0203, golden_command(), out);
    const std::vector<std::byte> expected = bytes({
        0x01,                                            // version
        0x02, 0x01, 0x00, 0x01, 0x02, 0x03,              // type side order_type tif stp flags
        0x00,                                            // reserved
        0x03, 0x02, 0x00, 0x00,                          // shard
        0x04, 0x03, 0x02, 0x01,                          // instrument
        0x0D, 0x0C, 0x0B, 0x0A,                          // account
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // seq
        0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // timestamp -2
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // client order id
        0x2A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // order id
        0x18, 0xFC, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // price -1000
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F,  // quantity
    });
    REQUIRE(expected.size() == kCommandRecordBytes);
    CHECK(as_vector(out) == expected);

    const CommandRecord decoded = decode_command(9, expected);
    CHECK(decoded.shard == 0x0203);
    CHECK(same(decoded.command, golden_command()));
}

TEST_CASE("a checkpoint record has its documented little-endian bytes", "[engine][record]") {
    CheckpointRecordBytes out{};
    const CheckpointRecord checkpoint{7, 0x0102030405060708, 0xDEADBEEFCAFEF00D};
    encode_checkpoint(checkpoint, out);
    const std::vector<std::byte> expected = bytes({
        0x01, 0x00, 0x00, 0x00,                          // version, reserved
        0x07, 0x00, 0x00, 0x00,                          // shard
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // last seq
        0x0D, 0xF0, 0xFE, 0xCA, 0xEF, 0xBE, 0xAD, 0xDE,  // state hash
    });
    REQUIRE(expected.size() == kCheckpointRecordBytes);
    CHECK(as_vector(out) == expected);
    CHECK(decode_checkpoint(3, expected) == checkpoint);
}

TEST_CASE("command records round-trip every field, out-of-range enums included",
          "[engine][record]") {
    SplitMix64 rng(77);
    for (int i = 0; i < 10'000; ++i) {
        book::Command c;
        // Any byte, not just the defined values: the record carries them as they are.
        c.type = static_cast<book::CommandType>(rng.next() & 0xff);
        c.side = static_cast<Side>(rng.next() & 0xff);
        c.order_type = static_cast<book::OrderType>(rng.next() & 0xff);
        c.time_in_force = static_cast<book::TimeInForce>(rng.next() & 0xff);
        c.self_trade = static_cast<book::SelfTradePrevention>(rng.next() & 0xff);
        c.flags = static_cast<std::uint8_t>(rng.next());
        c.instrument = static_cast<InstrumentId>(rng.next());
        c.account = static_cast<AccountId>(rng.next());
        c.seq = rng.next();
        c.timestamp_ns = static_cast<TimestampNs>(rng.next());
        c.client_order_id = rng.next();
        c.order_id = rng.next();
        c.price = static_cast<Price>(rng.next());
        c.quantity = static_cast<Quantity>(rng.next());
        const auto shard = static_cast<ShardId>(rng.next());
        CommandRecordBytes out{};
        encode_command(shard, c, out);
        const CommandRecord decoded = decode_command(1, out);
        REQUIRE(decoded.shard == shard);
        REQUIRE(same(decoded.command, c));

        const CheckpointRecord checkpoint{shard, rng.next(), rng.next()};
        CheckpointRecordBytes cp{};
        encode_checkpoint(checkpoint, cp);
        REQUIRE(decode_checkpoint(1, cp) == checkpoint);
    }
}

TEST_CASE("decoding refuses a wrong size, version or reserved byte, naming the LSN",
          "[engine][record]") {
    CommandRecordBytes good{};
    encode_command(0, golden_command(), good);
    const std::vector<std::byte> whole(good.begin(), good.end());

    std::vector<std::byte> shorter(whole.begin(), whole.end() - 1);
    CHECK_THROWS_WITH(decode_command(1234, shorter),
                      "WAL record LSN 1234: command record has 67 payload bytes, expected 68");
    std::vector<std::byte> longer = whole;
    longer.push_back(std::byte{0});
    CHECK_THROWS_AS(decode_command(1, longer), RecordError);
    CHECK_THROWS_WITH(decode_command(5, std::span<const std::byte>()),
                      Catch::Contains("LSN 5") && Catch::Contains("0 payload bytes"));

    std::vector<std::byte> version = whole;
    version[0] = std::byte{2};
    CHECK_THROWS_WITH(decode_command(77, version),
                      "WAL record LSN 77: command record has format version 2, this build reads "
                      "only version 1");
    std::vector<std::byte> reserved = whole;
    reserved[7] = std::byte{1};
    CHECK_THROWS_WITH(decode_command(8, reserved),
                      Catch::Contains("LSN 8") && Catch::Contains("reserved byte 7"));
    try {
        decode_command(99, shorter);
        FAIL("decoded a short record");
    } catch (const RecordError& error) {
        CHECK(error.lsn() == 99);
    }

    CheckpointRecordBytes cp{};
    encode_checkpoint(CheckpointRecord{1, 2, 3}, cp);
    std::vector<std::byte> cp_bad(cp.begin(), cp.end());
    cp_bad[2] = std::byte{1};
    CHECK_THROWS_WITH(decode_checkpoint(12, cp_bad),
                      Catch::Contains("LSN 12") && Catch::Contains("reserved"));
    CHECK_THROWS_WITH(decode_checkpoint(13, whole),
                      "WAL record LSN 13: checkpoint record has 68 payload bytes, expected 24");
    cp_bad = std::vector<std::byte>(cp.begin(), cp.end());
    cp_bad[0] = std::byte{0};
    CHECK_THROWS_WITH(decode_checkpoint(14, cp_bad), Catch::Contains("format version 0"));
}

TEST_CASE("a term start record has its documented little-endian bytes", "[engine][record]") {
    TermStartRecordBytes out{};
    const TermStartRecord term{0x0A0B0C0D, 0x0102030405060708};
    encode_term_start(term, out);
    const std::vector<std::byte> expected = bytes({
        0x01, 0x00, 0x00, 0x00,                          // version, reserved
        0x0D, 0x0C, 0x0B, 0x0A,                          // leader node id
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // epoch
    });
    REQUIRE(expected.size() == kTermStartRecordBytes);
    CHECK(as_vector(out) == expected);
    CHECK(decode_term_start(5, expected) == term);

    std::vector<std::byte> bad = expected;
    bad[2] = std::byte{1};
    CHECK_THROWS_WITH(decode_term_start(6, bad),
                      "WAL record LSN 6: term start record has non-zero reserved bytes 1..3");
    bad = expected;
    bad[0] = std::byte{2};
    CHECK_THROWS_WITH(decode_term_start(7, bad), Catch::Contains("format version 2"));
    bad = expected;
    bad.pop_back();
    CHECK_THROWS_WITH(decode_term_start(8, bad), Catch::Contains("15 payload bytes, expected 16"));
    bad = expected;
    std::fill(bad.begin() + 8, bad.end(), std::byte{0});
    CHECK_THROWS_WITH(decode_term_start(9, bad), Catch::Contains("epoch 0"));
}

TEST_CASE("only commands and checkpoints are replayed, a term start is known but skipped",
          "[engine][record]") {
    CHECK(is_replayed_record(kCommandRecordType));
    CHECK(is_replayed_record(kCheckpointRecordType));
    CHECK_FALSE(is_replayed_record(kTermStartRecordType));
    CHECK(is_known_record(kTermStartRecordType));
    CHECK_FALSE(is_known_record(4));
    CHECK_FALSE(is_replayed_record(0));
}
