// Vocabulary shared by the WAL's pieces: LSNs, the error type, and the limits every part checks.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace exchanged::wal {

// Log sequence number: 1 for the first record ever written, +1 per record, never reused.
using Lsn = std::uint64_t;

// On-disk integers are little-endian: common/little_endian.hpp copies and checks them.

// Every refusal of the WAL (I/O failure, corrupt log, bad configuration) carries a message that
// names the file, the offset or the setting concerned.
class WalError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Hard limits; configuration inside them is checked at open.
inline constexpr std::uint32_t kMaxPayloadBytesLimit = 64 * 1024;
inline constexpr std::uint64_t kMinSegmentBytes = 16 * 1024;
inline constexpr std::uint64_t kMaxSegmentBytes = 1ull << 34;  // 16 GiB
inline constexpr std::uint32_t kMaxRecycledSegments = 64;

// One segment a log holds: its first LSN and its size on disk (preallocated in full).
struct HeldSegment {
    Lsn first_lsn = 0;
    std::uint64_t bytes = 0;
};

// Formats "<what>: <strerror(errno_value)>".
std::string errno_message(const std::string& what, int errno_value);

}  // namespace exchanged::wal
