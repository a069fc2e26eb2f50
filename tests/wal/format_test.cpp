#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "wal/record_format.hpp"
#include "wal/segment_format.hpp"
#include "wal_test_util.hpp"

using namespace exchanged::wal;

TEST_CASE("records round trip and every single-bit flip is caught", "[wal][format]") {
    const std::vector<std::byte> payload = test::payload_for(12345);
    std::vector<std::byte> buffer(record_bytes_for(payload.size()));
    REQUIRE(encode_record(12345, 3, payload, buffer) == buffer.size());

    DecodedRecord record;
    REQUIRE(decode_record(buffer, 1024, &record) == DecodeStatus::Ok);
    CHECK(record.lsn == 12345);
    CHECK(record.type == 3);
    CHECK(record.record_bytes == buffer.size());
    CHECK(std::equal(payload.begin(), payload.end(), record.payload.begin(), record.payload.end()));

    for (std::size_t byte = 0; byte < buffer.size(); ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            std::vector<std::byte> damaged = buffer;
            damaged[byte] ^= static_cast<std::byte>(1u << bit);
            DecodedRecord ignored;
            REQUIRE(decode_record(damaged, 1024, &ignored) != DecodeStatus::Ok);
        }
    }
}

TEST_CASE("record decode bounds the length field", "[wal][format]") {
    std::vector<std::byte> buffer(64);
    DecodedRecord record;
    CHECK(decode_record(buffer, 1024, &record) == DecodeStatus::Zero);
    const std::vector<std::byte> payload(10);
    REQUIRE(encode_record(1, 0, payload, buffer) == 28);
    CHECK(decode_record(std::span<const std::byte>(buffer).first(20), 1024, &record) ==
          DecodeStatus::BadLength);
    CHECK(decode_record(buffer, 20, &record) == DecodeStatus::BadLength);
    const std::uint32_t tiny = 5;
    std::memcpy(buffer.data(), &tiny, 4);
    CHECK(decode_record(buffer, 1024, &record) == DecodeStatus::BadLength);
    // An empty payload is a valid record, not an end marker.
    REQUIRE(encode_record(7, 1, {}, buffer) == kRecordHeaderBytes);
    REQUIRE(decode_record(buffer, 1024, &record) == DecodeStatus::Ok);
    CHECK(record.payload.empty());
}

TEST_CASE("segment headers round trip and damage is named", "[wal][format]") {
    SegmentHeader header;
    header.max_record_bytes = 258;
    header.log_id = 0xABCDEF0123456789ull;
    header.first_lsn = 42;
    header.segment_bytes = 1 << 20;
    std::vector<std::byte> block(kSegmentHeaderBytes);
    encode_segment_header(header, block);

    SegmentHeader decoded;
    std::string problem;
    REQUIRE(decode_segment_header(block, &decoded, &problem) == HeaderStatus::Ok);
    CHECK(decoded.log_id == header.log_id);
    CHECK(decoded.first_lsn == 42);
    CHECK(decoded.segment_bytes == header.segment_bytes);
    CHECK(decoded.max_record_bytes == 258);

    std::vector<std::byte> damaged = block;
    damaged[20] ^= std::byte{1};
    CHECK(decode_segment_header(damaged, &decoded, &problem) == HeaderStatus::BadChecksum);
    damaged = block;
    damaged[0] ^= std::byte{1};
    CHECK(decode_segment_header(damaged, &decoded, &problem) == HeaderStatus::BadMagic);
    CHECK(decode_segment_header(std::vector<std::byte>(kSegmentHeaderBytes), &decoded, &problem) ==
          HeaderStatus::AllZero);
}

TEST_CASE("segment file names encode the first LSN", "[wal][format]") {
    CHECK(segment_file_name(1) == "wal-00000000000000000001.log");
    CHECK(parse_segment_file_name("wal-00000000000000000001.log") == Lsn{1});
    CHECK(parse_segment_file_name(segment_file_name(18446744073709551615ull)) ==
          Lsn{18446744073709551615ull});
    CHECK_FALSE(parse_segment_file_name("wal-spare.tmp").has_value());
    CHECK_FALSE(parse_segment_file_name("wal-0000000000000000000x.log").has_value());
    CHECK_FALSE(parse_segment_file_name("wal-1.log").has_value());
}
