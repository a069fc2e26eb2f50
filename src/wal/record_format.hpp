// One WAL record on disk (little-endian, byte-packed, never spanning segments):
//
//   offset 0   u32 record_bytes   whole record incl. this header; 0 marks "no record here"
//   offset 4   u32 crc            CRC32C of bytes [8, record_bytes), then extended over bytes [0,
//   4) offset 8   u64 lsn offset 16  u16 type           chosen by the owner; the WAL gives it no
//   meaning offset 18  payload            record_bytes - 18 bytes
//
// record_bytes is never 0 for a real record (the header alone is 18 bytes), so the zero fill of a
// preallocated segment reads as a clean end. The CRC covers the LSN, so a record copied to the
// wrong place fails its check, and the length too, so a damaged length cannot pass as another
// record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "wal/wal_types.hpp"

namespace exchanged::wal {

inline constexpr std::size_t kRecordHeaderBytes = 18;
// Zero bytes the writer puts after every batch, in the same write. A recycled segment still holds
// its earlier life's records (valid CRCs, older LSNs) after the live ones; the marker ends the live
// records explicitly. The next batch starts on it and overwrites it.
inline constexpr std::size_t kEndMarkerBytes = 8;

constexpr std::size_t record_bytes_for(std::size_t payload_bytes) {
    return kRecordHeaderBytes + payload_bytes;
}

// Writes the record into `out` (which must hold record_bytes_for(payload.size()) bytes) and returns
// the bytes written.
std::size_t encode_record(Lsn lsn, std::uint16_t type, std::span<const std::byte> payload,
                          std::span<std::byte> out);

struct DecodedRecord {
    Lsn lsn = 0;
    std::uint16_t type = 0;
    std::span<const std::byte> payload;
    std::size_t record_bytes = 0;
};

enum class DecodeStatus : std::uint8_t {
    Ok,
    Zero,         // record_bytes is 0: no record starts here
    BadLength,    // shorter than a header, longer than max_record_bytes, or past the end of `in`
    BadChecksum,  // the CRC does not match the bytes
};

// Decodes the record at the start of `in`. `max_record_bytes` bounds the length field so garbage
// cannot make the reader look past a sane record size.
DecodeStatus decode_record(std::span<const std::byte> in, std::size_t max_record_bytes,
                           DecodedRecord* out);

}  // namespace exchanged::wal
