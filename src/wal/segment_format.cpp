#include "wal/segment_format.hpp"

#include <cassert>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "common/crc32c.hpp"
#include "common/little_endian.hpp"
#include "wal/record_format.hpp"

namespace exchanged::wal {

void encode_segment_header(const SegmentHeader& header, std::span<std::byte> out) {
    assert(out.size() >= kSegmentHeaderBytes);
    std::memset(out.data(), 0, kSegmentHeaderBytes);
    std::byte* p = out.data();
    store_le(p + 0, kSegmentMagic);
    store_le(p + 8, header.format_version);
    store_le(p + 12, header.max_record_bytes);
    store_le(p + 16, header.log_id);
    store_le(p + 24, header.first_lsn);
    store_le(p + 32, header.segment_bytes);
    const std::uint32_t crc = crc32c(p, 40);
    store_le(p + 40, crc);
}

HeaderStatus decode_segment_header(std::span<const std::byte> in, SegmentHeader* out,
                                   std::string* problem) {
    assert(in.size() >= kSegmentHeaderBytes);
    const std::byte* p = in.data();
    bool all_zero = true;
    for (std::size_t i = 0; i < kSegmentHeaderUsedBytes; ++i) {
        all_zero = all_zero && p[i] == std::byte{0};
    }
    if (all_zero) {
        *problem = "header is all zeros (never written)";
        return HeaderStatus::AllZero;
    }
    if (load_le<std::uint64_t>(p) != kSegmentMagic) {
        *problem = "bad magic (not a WAL segment)";
        return HeaderStatus::BadMagic;
    }
    if (load_le<std::uint32_t>(p + 40) != crc32c(p, 40)) {
        *problem = "header checksum mismatch";
        return HeaderStatus::BadChecksum;
    }
    SegmentHeader header;
    header.format_version = load_le<std::uint32_t>(p + 8);
    header.max_record_bytes = load_le<std::uint32_t>(p + 12);
    header.log_id = load_le<std::uint64_t>(p + 16);
    header.first_lsn = load_le<Lsn>(p + 24);
    header.segment_bytes = load_le<std::uint64_t>(p + 32);
    if (header.format_version != kFormatVersion) {
        *problem = "unsupported format version " + std::to_string(header.format_version);
        return HeaderStatus::BadVersion;
    }
    if (header.max_record_bytes < kRecordHeaderBytes ||
        header.max_record_bytes > record_bytes_for(kMaxPayloadBytesLimit) ||
        header.segment_bytes < kMinSegmentBytes || header.segment_bytes > kMaxSegmentBytes ||
        header.first_lsn == 0) {
        *problem = "header field out of range";
        return HeaderStatus::BadField;
    }
    *out = header;
    return HeaderStatus::Ok;
}

std::string segment_file_name(Lsn first_lsn) {
    char name[64];
    std::snprintf(name, sizeof(name), "wal-%020llu.log",
                  static_cast<unsigned long long>(first_lsn));
    return name;
}

std::optional<Lsn> parse_segment_file_name(std::string_view name) {
    constexpr std::string_view kPrefix = "wal-";
    constexpr std::string_view kSuffix = ".log";
    if (name.size() != kPrefix.size() + 20 + kSuffix.size() || !name.starts_with(kPrefix) ||
        !name.ends_with(kSuffix)) {
        return std::nullopt;
    }
    const std::string_view digits = name.substr(kPrefix.size(), 20);
    Lsn value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
        return std::nullopt;
    }
    return value;
}

}  // namespace exchanged::wal
