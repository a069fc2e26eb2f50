// Recovery by replay (docs/architecture.md: Recovery; from LSN 1, or from a state loaded from the
// store): scan the log with the WAL's reader, decode each record, hand each command to the shard
// that sequenced it and apply it through the same Matcher code the live shard ran, and check every
// checkpoint record against the replayed state. The result says how the log ends (clean, torn tail,
// corrupt), what was replayed, and carries the rebuilt matchers with the next seq per shard and the
// next LSN, so the daemon continues exactly where the log ends.
//
// Recovery only reads: a torn tail is reported here and truncated when the WalWriter next opens
// the log.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "book/matcher.hpp"
#include "common/types.hpp"
#include "engine/shard_layout.hpp"
#include "wal/storage.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::engine {

struct RecoveryProgress {
    std::uint64_t records = 0;  // replayed so far
    wal::Lsn lsn = 0;           // the last one
    std::chrono::nanoseconds elapsed{0};
};

struct RecoveryOptions {
    // Skip corrupt regions instead of stopping (the operator's explicit choice; records in them
    // are lost).
    bool salvage = false;
    // Called about every progress_interval of work (not at all on short replays).
    std::function<void(const RecoveryProgress&)> on_progress;
    std::chrono::milliseconds progress_interval{1000};
    // Records above this LSN are read (the log's end is still classified) but not replayed; 0:
    // replay to the end. The flush worker's catch-up reads a live WAL only up to what is durable.
    wal::Lsn stop_after_lsn = 0;
    // Records per store transaction when the tail goes into the store (recover_from_store); 0:
    // the default there.
    std::uint64_t store_batch_lsns = 0;
    // Map the segments instead of reading them into buffers (wal::ScanOptions::map_files): only
    // where no writer has the log open (--recover, start-up), not for a live log's catch-up.
    bool map_segments = false;
    // Read only from the segment holding the first record to replay
    // (wal::ScanOptions::skip_segments_below_from): the catch-up's steps, whose earlier records
    // the store already has.
    bool skip_replayed_segments = false;
};

enum class RecoveryStatus : std::uint8_t {
    Ok,                  // the log was replayed to its end (clean, torn tail, or salvaged)
    Corrupt,             // the log is damaged in the middle; replay stopped before the damage
    BadRecord,           // a record the WAL vouched for could not be applied (see error)
    CheckpointMismatch,  // a checkpoint disagreed with the replayed state
};
const char* to_string(RecoveryStatus status);

struct ShardReplay {
    std::uint64_t commands = 0;
    std::uint64_t checkpoints_verified = 0;
    // Checkpoints not checked because salvage lost one of this shard's commands before them.
    std::uint64_t checkpoints_unchecked = 0;
    SequenceNumber next_seq = 1;
    // Salvage only: the first seq found missing (0: none was).
    SequenceNumber first_missing_seq = 0;
};

struct RecoveryResult {
    RecoveryStatus status = RecoveryStatus::Ok;
    std::string error;  // what stopped replay, naming the LSN (and shard, hashes), if not Ok

    wal::ScanResult log;        // how the log ends, segments, torn bytes, corruption place, skipped
    std::uint64_t records = 0;  // replayed (commands and checkpoints)
    std::uint64_t commands = 0;
    std::uint64_t checkpoints_verified = 0;
    wal::Lsn last_lsn = 0;  // of the last record replayed
    wal::Lsn next_lsn = 1;  // where appending continues (valid when ok())
    // Replay started after this LSN (the store's store_lsn): the records at or below it were only
    // checked, since the store already holds them. Damage there loses nothing of the books.
    wal::Lsn started_after_lsn = 0;
    std::chrono::nanoseconds elapsed{0};
    // Decoding and matching the commands, estimated from every kMatchSampleEvery-th command (a
    // clock read per record would cost a few percent of the replay); the events' sink is not in it.
    std::chrono::nanoseconds match_estimate{0};

    std::vector<ShardReplay> shards;      // by shard id
    std::vector<book::Matcher> matchers;  // by shard id; the state after the last record replayed

    bool ok() const { return status == RecoveryStatus::Ok; }
};

// One command in this many is timed for RecoveryResult::match_estimate.
inline constexpr std::uint64_t kMatchSampleEvery = 64;

// Where a replay starts: after `after_lsn`, from these matchers and seqs (a state loaded from the
// store). The default is the empty state before LSN 1.
struct ReplayStart {
    wal::Lsn after_lsn = 0;
    std::vector<book::Matcher> matchers;   // by shard id; empty: fresh ones from the layout
    std::vector<SequenceNumber> next_seq;  // by shard id; empty: all 1
};

// Receives the events each replayed command produced, in LSN order (recovery into the store).
using ReplayEventSink = std::function<void(wal::Lsn lsn, ShardId shard, std::uint8_t order_flags,
                                           std::span<const book::Event> events)>;

// Replays the records of `storage` above start.after_lsn. The log must reach back to
// after_lsn + 1 and must not end before after_lsn (BadRecord otherwise: records are missing, or
// the store holds records this log lost).
RecoveryResult replay_log(wal::Storage& storage, const ShardLayout& layout,
                          const RecoveryOptions& options, ReplayStart start,
                          const ReplayEventSink& on_events);
RecoveryResult replay_log(const std::filesystem::path& wal_dir, const ShardLayout& layout,
                          const RecoveryOptions& options, ReplayStart start,
                          const ReplayEventSink& on_events);

// A log kept outside the WAL's segments (the Redis mirror, docs/durability.md: Double write):
// called with the LSN replay starts after, it hands each record above it to `each`, in LSN order.
// It throws RecordSourceError when it cannot read its records; the replay then reports Corrupt.
class RecordSourceError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};
using RecordSource = std::function<void(wal::Lsn after_lsn,
                                        const std::function<void(const wal::RecordView&)>& each)>;

// replay_log over such a source: the same checks of every record (contiguous LSNs from
// after_lsn + 1, seqs, checkpoints), but a source may end anywhere at or above after_lsn.
RecoveryResult replay_records(const RecordSource& source, const ShardLayout& layout,
                              const RecoveryOptions& options, ReplayStart start,
                              const ReplayEventSink& on_events);

// replay_log one record at a time, for a log that grows while it is applied (a replication
// follower's hot standby, repl/standby_applier.hpp): the same checks of every record, the same
// matchers, the same events. Once a record fails (result().ok() false) the rest are ignored.
class RecordReplayer {
  public:
    // Throws std::invalid_argument when the layout cannot build a matcher or `start` does not fit.
    RecordReplayer(const ShardLayout& layout, ReplayStart start, ReplayEventSink on_events);
    ~RecordReplayer();
    RecordReplayer(const RecordReplayer&) = delete;
    RecordReplayer& operator=(const RecordReplayer&) = delete;

    // `record.lsn` must continue the records applied so far (BadRecord otherwise).
    void apply(const wal::RecordView& record);
    // last_lsn is the last record applied; matchers and shards are the state after it.
    const RecoveryResult& result() const;
    // Moves the books out (matchers and next seqs, after_lsn = the last record applied), for a
    // replay to continue from (a standby handing its books to the leader it becomes). The
    // replayer applies nothing more afterwards. Throws std::logic_error once a record failed or
    // after an earlier take: such books must not be continued.
    ReplayStart take_books();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

// Replays the log in `storage`. Throws wal::WalError when the storage itself fails and
// std::invalid_argument when the layout cannot build a matcher; everything wrong with the log's
// contents is reported in the result instead.
RecoveryResult recover(wal::Storage& storage, const ShardLayout& layout,
                       const RecoveryOptions& options);

// The same on a directory. A directory that does not exist is an empty log (and is not created).
RecoveryResult recover(const std::filesystem::path& wal_dir, const ShardLayout& layout,
                       const RecoveryOptions& options);

// A human-readable report, one fact per line, for `exchanged --recover` and the start-up log.
std::string describe(const RecoveryResult& result, const ShardLayout& layout);

// What the operator can do about a failed recovery, in one sentence (empty when it did not fail
// on damage): whether --salvage would lose records, and which.
std::string salvage_advice(const RecoveryResult& result);

}  // namespace exchanged::engine
