// The WAL records of the sequencing stage. The WAL stores typed byte records and knows nothing of
// orders; this file gives types 1 and 2 their meaning. Every integer is written byte by byte in
// little-endian order (not a memcpy of the struct), so the format does not depend on the
// compiler's padding or on the host, and a golden-bytes test pins it down. Type 3 belongs to
// replication: the first record of a leader's term (docs/replication.md).
//
// Type 1, command (version 1, 68 bytes): one sequenced input, exactly as the matcher applies it.
//   off size field
//    0   1   format version (1)
//    1   1   command type        (book::CommandType, carried as is)
//    2   1   side                (Side, carried as is)
//    3   1   order type          (book::OrderType, carried as is)
//    4   1   time in force       (book::TimeInForce, carried as is)
//    5   1   self-trade mode     (book::SelfTradePrevention, carried as is)
//    6   1   flags               (book::order_flags bits, carried as is)
//    7   1   reserved, 0
//    8   4   shard id            (the shard that sequenced it)
//   12   4   instrument          (kAllInstruments for a mass cancel over all)
//   16   4   account
//   20   8   seq                 (per shard, 1, 2, 3, ... without gaps in the log)
//   28   8   timestamp_ns        (signed)
//   36   8   client order id
//   44   8   order id            (cancel and replace target)
//   52   8   price               (signed)
//   60   8   quantity            (signed)
// Enum values out of range are kept: the matcher rejects them deterministically, so replay
// reproduces the same Rejected event the live run emitted.
//
// Type 2, checkpoint (version 1, 24 bytes): a shard's state after a command, checked by replay.
//   off size field
//    0   1   format version (1)
//    1   3   reserved, 0
//    4   4   shard id
//    8   8   last seq applied    (the shard's seq of the command just before this record)
//   16   8   state hash          (book::Matcher::state_hash() after that command)
//
// Type 3, term start (version 1, 16 bytes): a replication leader's first record of its term. Its
// LSN is where the epoch begins; nodes rebuild their epoch history from these records. Matching
// and the store skip it (is_replayed_record).
//   off size field
//    0   1   format version (1)
//    1   3   reserved, 0
//    4   4   leader node id
//    8   8   epoch
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "book/command.hpp"
#include "common/types.hpp"
#include "engine/shard_layout.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::engine {

inline constexpr std::uint16_t kCommandRecordType = 1;
inline constexpr std::uint16_t kCheckpointRecordType = 2;
inline constexpr std::uint16_t kTermStartRecordType = 3;
inline constexpr std::uint8_t kRecordFormatVersion = 1;
inline constexpr std::size_t kCommandRecordBytes = 68;
inline constexpr std::size_t kCheckpointRecordBytes = 24;
inline constexpr std::size_t kTermStartRecordBytes = 16;

using CommandRecordBytes = std::array<std::byte, kCommandRecordBytes>;
using CheckpointRecordBytes = std::array<std::byte, kCheckpointRecordBytes>;
using TermStartRecordBytes = std::array<std::byte, kTermStartRecordBytes>;

struct CommandRecord {
    ShardId shard = 0;
    book::Command command;
};

struct CheckpointRecord {
    ShardId shard = 0;
    SequenceNumber last_seq = 0;
    std::uint64_t state_hash = 0;
    friend bool operator==(const CheckpointRecord&, const CheckpointRecord&) = default;
};

struct TermStartRecord {
    std::uint32_t leader_node = 0;
    std::uint64_t epoch = 0;
    friend bool operator==(const TermStartRecord&, const TermStartRecord&) = default;
};

// True for the types replay applies to the matchers (commands) or checks against them
// (checkpoints); false for a term start, which every reader that replays records skips. Unknown
// types are not this function's business: replay refuses them.
constexpr bool is_replayed_record(std::uint16_t type) {
    return type == kCommandRecordType || type == kCheckpointRecordType;
}
constexpr bool is_known_record(std::uint16_t type) {
    return is_replayed_record(type) || type == kTermStartRecordType;
}

// A record that cannot be decoded: its message names the LSN and what is wrong. The WAL's CRC
// already vouched for the bytes, so this means a writer of another format (or a bug), never a
// torn write; replay stops rather than guess.
class RecordError : public std::runtime_error {
  public:
    RecordError(wal::Lsn lsn, const std::string& problem);
    wal::Lsn lsn() const { return lsn_; }

  private:
    wal::Lsn lsn_;
};

// Encoding writes into a fixed array so the shard's hot path allocates nothing.
void encode_command(ShardId shard, const book::Command& command, CommandRecordBytes& out);
void encode_checkpoint(const CheckpointRecord& checkpoint, CheckpointRecordBytes& out);
void encode_term_start(const TermStartRecord& term, TermStartRecordBytes& out);

// Throw RecordError (naming `lsn`) on a wrong payload size, an unknown version or non-zero
// reserved bytes.
CommandRecord decode_command(wal::Lsn lsn, std::span<const std::byte> payload);
CheckpointRecord decode_checkpoint(wal::Lsn lsn, std::span<const std::byte> payload);
TermStartRecord decode_term_start(wal::Lsn lsn, std::span<const std::byte> payload);

}  // namespace exchanged::engine
