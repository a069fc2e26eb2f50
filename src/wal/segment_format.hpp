// A segment file: a header block of kSegmentHeaderBytes, then records, then zeros up to its fixed
// size. Its name is "wal-" + the first LSN as 20 decimal digits + ".log", so names sort by LSN.
//
// Header (little-endian) at offset 0; the rest of the header block is zero:
//   offset 0   u64 magic              "EWAL_SEG"
//   offset 8   u32 format_version
//   offset 12  u32 max_record_bytes   bound the reader applies to length fields
//   offset 16  u64 log_id             random, made when the log was created; same in every segment
//   offset 24  u64 first_lsn          LSN of the segment's first record (must match the name)
//   offset 32  u64 segment_bytes      the file's size
//   offset 40  u32 header_crc         CRC32C of bytes [0, 40)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "wal/wal_types.hpp"

namespace exchanged::wal {

inline constexpr std::size_t kSegmentHeaderBytes = 4096;  // one page: records start page-aligned
inline constexpr std::size_t kSegmentHeaderUsedBytes = 44;
inline constexpr std::uint64_t kSegmentMagic = 0x4745535F4C415745ull;  // "EWAL_SEG" little-endian
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::string_view kSpareSegmentName = "wal-spare.tmp";

struct SegmentHeader {
    std::uint32_t format_version = kFormatVersion;
    std::uint32_t max_record_bytes = 0;
    std::uint64_t log_id = 0;
    Lsn first_lsn = 0;
    std::uint64_t segment_bytes = 0;
};

// Writes the header block (kSegmentHeaderBytes, zero padded) into `out`.
void encode_segment_header(const SegmentHeader& header, std::span<std::byte> out);

enum class HeaderStatus : std::uint8_t { Ok, AllZero, BadMagic, BadChecksum, BadVersion, BadField };

// Decodes and checks the header at the start of `in` (at least kSegmentHeaderBytes). On failure
// `problem` says what is wrong, for error messages.
HeaderStatus decode_segment_header(std::span<const std::byte> in, SegmentHeader* out,
                                   std::string* problem);

std::string segment_file_name(Lsn first_lsn);
// The first LSN encoded in a segment's file name, or nullopt if `name` is not a segment name.
std::optional<Lsn> parse_segment_file_name(std::string_view name);

}  // namespace exchanged::wal
