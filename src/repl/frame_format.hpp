// The replication stream's frames: the leader sends Records to its followers, a follower says Hello
// when it connects and Ack as its WAL's group commits make records durable, and either side sends
// Refuse before it closes a connection it will not serve (docs/replication.md).
//
// One frame on the wire (little-endian, byte-packed):
//
//   offset 0   u32 magic          kFrameMagic ("EXRP")
//   offset 4   u16 version        kFrameVersion
//   offset 6   u16 kind           FrameKind
//   offset 8   u64 epoch          the sender's leader term
//   offset 16  u64 first_lsn      Records: LSN of the first record; 0 for the other kinds
//   offset 24  u32 record_count   Records: records in the payload; 0 for the other kinds
//   offset 28  u32 payload_bytes
//   offset 32  u32 header_crc     CRC32C of bytes [0, 32)
//   offset 36  u32 frame_crc      CRC32C of bytes [0, 32) followed by the payload
//   offset 40  payload
//
// The header has a checksum of its own so that a damaged length is refused as soon as the header
// has arrived, instead of leaving the reader waiting for bytes that will never come. A Records
// payload is WAL records exactly as wal/record_format encodes them (each with its own CRC over its
// LSN), so a follower appends what the leader logged, byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wal/wal_types.hpp"

namespace exchanged::repl {

using Epoch = std::uint64_t;
using NodeId = std::uint32_t;

inline constexpr std::uint32_t kFrameMagic = 0x50525845;  // "EXRP" read as bytes
// 2: the Commit frame (a version 1 peer would refuse its kind mid-stream; refuse it at once).
inline constexpr std::uint16_t kFrameVersion = 2;
inline constexpr std::size_t kFrameHeaderBytes = 40;
// u32 node, u64 durable LSN, u64 its epoch, u16 terms, then per term u64 epoch, u64 first LSN
inline constexpr std::size_t kHelloFixedBytes = 22;
inline constexpr std::size_t kHelloTermBytes = 16;
// The newest terms of the follower's log a Hello carries (the divergence point is found among
// them; an older departure is answered as if the logs shared nothing before the oldest sent).
inline constexpr std::size_t kMaxHelloTerms = 64;
inline constexpr std::size_t kAckPayloadBytes = 8;     // u64 durable LSN
inline constexpr std::size_t kCommitPayloadBytes = 8;  // u64 commit LSN
// u64 keep through LSN, u64 the leader's epoch at the next LSN, u64 the leader's last LSN
inline constexpr std::size_t kTruncatePayloadBytes = 24;
inline constexpr std::size_t kMaxRefuseTextBytes = 200;
// The smallest bound a decoder accepts: one header plus one record of the WAL's largest payload.
inline constexpr std::size_t kMinMaxFrameBytes =
    kFrameHeaderBytes + 18 + wal::kMaxPayloadBytesLimit;
inline constexpr std::size_t kDefaultMaxFrameBytes = 4u << 20;

enum class FrameKind : std::uint16_t {
    Hello = 1,
    Records = 2,
    Ack = 3,
    Refuse = 4,
    Truncate = 5,
    // A snapshot re-sync (snapshot_frames.hpp), leader to follower: the manifest, the files' bytes,
    // the end.
    SnapshotBegin = 6,
    SnapshotChunk = 7,
    SnapshotEnd = 8,
    // Leader to follower: the quorum's commit frontier (a standby applies only up to it). Sent
    // before a Records frame when it moved, and alone while no records flow.
    Commit = 9,
};
inline constexpr std::uint16_t kLastFrameKind = static_cast<std::uint16_t>(FrameKind::Commit);
const char* to_string(FrameKind kind);

enum class RefuseReason : std::uint16_t {
    StaleEpoch = 1,   // the frame's epoch is below one this node has promised
    DivergedLog = 2,  // the logs disagree below the sender's position: truncate or re-sync
    OutOfDate = 3,    // the leader no longer holds the records the follower needs: snapshot
    // The follower serves another leader connection; the frame's epoch is the one it follows
    // (a leader below it learns it is deposed, one at it redials later).
    Busy = 4,
};
const char* to_string(RefuseReason reason);

struct FrameHeader {
    FrameKind kind = FrameKind::Hello;
    Epoch epoch = 0;
    wal::Lsn first_lsn = 0;
    std::uint32_t record_count = 0;
    std::uint32_t payload_bytes = 0;
};

// A decoded frame; `payload` points into the decoder's buffer and is valid only until the callback
// it was handed to returns (the next frame reuses the buffer).
struct Frame {
    FrameHeader header;
    std::span<const std::byte> payload;
};

// One leader term in a log: its epoch and the LSN of its first record (its term start record).
struct TermStart {
    Epoch epoch = 0;
    wal::Lsn first_lsn = 0;
    friend bool operator==(const TermStart&, const TermStart&) = default;
};

// Hello: the follower's node id, the epoch it has promised (header), how far its WAL is durable,
// the epoch its last durable record was written under (0: no records, or none under a term) and
// the newest terms of its log (at most kMaxHelloTerms, epochs and LSNs ascending, none beyond
// durable_lsn), from which the leader finds where the logs depart.
struct Hello {
    NodeId node = 0;
    Epoch epoch = 0;
    wal::Lsn durable_lsn = 0;
    Epoch last_record_epoch = 0;
    std::vector<TermStart> terms;
};
struct Ack {
    Epoch epoch = 0;
    wal::Lsn durable_lsn = 0;
};
// Commit: every record up to `commit_lsn` is durable on a majority of the replicas (the leader's
// quorum frontier); never 0.
struct Commit {
    Epoch epoch = 0;
    wal::Lsn commit_lsn = 0;
};
struct Refuse {
    Epoch epoch = 0;
    RefuseReason reason = RefuseReason::StaleEpoch;
    std::string text;
};
// Truncate: the leader's answer to a Hello whose log departs from its own after `keep_lsn`. The
// follower cuts its log to end there and reconnects; the leader then streams from keep_lsn + 1.
struct Truncate {
    Epoch epoch = 0;
    wal::Lsn keep_lsn = 0;
    Epoch leader_epoch_after = 0;  // the epoch of the leader's record keep_lsn + 1 (for the log)
    wal::Lsn leader_last_lsn = 0;
    friend bool operator==(const Truncate&, const Truncate&) = default;
};

// Appends a frame of `kind` with this payload (first_lsn and record_count 0) to `out`.
void encode_frame(FrameKind kind, Epoch epoch, std::span<const std::byte> payload,
                  std::vector<std::byte>& out);

// Encoders append one whole frame to `out`.
void encode_hello(const Hello& hello, std::vector<std::byte>& out);
void encode_ack(const Ack& ack, std::vector<std::byte>& out);
void encode_commit(const Commit& commit, std::vector<std::byte>& out);
// `text` longer than kMaxRefuseTextBytes is cut there.
void encode_refuse(const Refuse& refuse, std::vector<std::byte>& out);
void encode_truncate(const Truncate& truncate, std::vector<std::byte>& out);

// Builds one Records frame at the end of `out`: begin, add each record in LSN order, finish. The
// records are encoded by wal::encode_record, as the WAL writes them.
class RecordsFrameBuilder {
  public:
    RecordsFrameBuilder(std::vector<std::byte>& out, Epoch epoch, wal::Lsn first_lsn);
    // The record's LSN must be first_lsn + records so far (throws std::logic_error otherwise).
    void add(wal::Lsn lsn, std::uint16_t type, std::span<const std::byte> payload);
    std::uint32_t records() const { return count_; }
    // Bytes the frame holds so far, header included (to cut a batch at the peer's frame bound).
    std::size_t frame_bytes() const { return out_.size() - start_; }
    // Writes the header and checksums. At least one record must have been added.
    void finish();

  private:
    std::vector<std::byte>& out_;
    std::size_t start_;
    Epoch epoch_;
    wal::Lsn first_lsn_;
    std::uint32_t count_ = 0;
    bool finished_ = false;
};

// One Records frame of `count` records already encoded as the WAL writes them (the leader ships
// its WAL batches' bytes as they are), LSNs first_lsn on.
void encode_records(Epoch epoch, wal::Lsn first_lsn, std::uint32_t count,
                    std::span<const std::byte> encoded, std::vector<std::byte>& out);

// Typed views of a decoded frame of the matching kind (the decoder has checked the payload).
Hello hello_of(const Frame& frame);
Ack ack_of(const Frame& frame);
Commit commit_of(const Frame& frame);
Refuse refuse_of(const Frame& frame);
Truncate truncate_of(const Frame& frame);

struct RecordOfFrame {
    wal::Lsn lsn = 0;
    std::uint16_t type = 0;
    std::span<const std::byte> payload;
    std::span<const std::byte> encoded;  // the whole WAL record, header included
};
// The records of a decoded Records frame, in LSN order.
std::vector<RecordOfFrame> records_of(const Frame& frame);

}  // namespace exchanged::repl
