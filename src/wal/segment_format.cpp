#include "wal/segment_format.hpp"

#include <cassert>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "common/crc32c.hpp"
#include "wal/record_format.hpp"

namespace exchanged::wal {

void encode_segment_header(const SegmentHeader& header, std::span<std::byte> out) {
    assert(out.size() >= kSegmentHeaderBytes);
    std::memset(out.data(), 0, kSegmentHeaderBytes);
    std::byte* p = out.data();
    const std::uint64_t magic = kSegmentMagic;
    std::memcpy(p + 0, &magic, 8);
    std::memcpy(p + 8, &header.format_version, 4);
    std::memcpy(p + 12, &header.max_record_bytes, 4);
    std::memcpy(p + 16, &header.log_id, 8);
    std::memcpy(p + 24, &header.first_lsn, 8);
    std::memcpy(p + 32, &header.segment_bytes, 8);
    const std::uint32_t crc = crc32c(p, 40);
    std::memcpy(p + 40, &crc, 4);
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
    std::uint64_t magic = 0;
    std::memcpy(&magic, p, 8);
    if (magic != kSegmentMagic) {
        *problem = "bad magic (not a WAL segment)";
        return HeaderStatus::BadMagic;
    }
    std::uint32_t stored_crc = 0;
    std::memcpy(&stored_crc, p + 40, 4);
    if (stored_crc != crc32c(p, 40)) {
        *problem = "header checksum mismatch";
        return HeaderStatus::BadChecksum;
    }
    SegmentHeader header;
    std::memcpy(&header.format_version, p + 8, 4);
    std::memcpy(&header.max_record_bytes, p + 12, 4);
    std::memcpy(&header.log_id, p + 16, 8);
    std::memcpy(&header.first_lsn, p + 24, 8);
    std::memcpy(&header.segment_bytes, p + 32, 8);
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
