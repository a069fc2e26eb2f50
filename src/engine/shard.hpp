// One matching shard: the sequencing stage of docs/architecture.md (The path of one order) in front
// of the book.
//
//   process(input, now) -> stamp seq + timestamp -> encode record -> CommandLog::try_append
//                          -> Matcher::apply -> events tagged with the record's LSN
//
// The command is logged before it is matched, so everything a client may later be told about is
// in the log, and replaying the log through the same Matcher rebuilds the same books. A command
// the WAL does not take (queue full, log failed or closed) is refused with a gateway-level reason
// and never reaches the matcher, so the matcher's state stays exactly "the logged commands".
//
// A Shard belongs to one thread: no locks, no allocation per command once the event vectors have
// grown to their working size, and no system call but the WAL's own wake-up of its writer.
#pragma once

#include <cstdint>
#include <vector>

#include "book/command.hpp"
#include "book/event.hpp"
#include "book/matcher.hpp"
#include "common/types.hpp"
#include "engine/command_log.hpp"
#include "engine/command_record.hpp"
#include "engine/shard_layout.hpp"

namespace exchanged::engine {

struct ShardEvent {
    // The LSN of the command record that caused the event; 0 when the command was refused before
    // it was logged (reasons busy and unavailable).
    wal::Lsn lsn = 0;
    book::Event event;
};

struct ShardOptions {
    ShardId id = 0;
    // A checkpoint record (seq and state hash) after every this many logged commands; 0: never.
    std::uint64_t checkpoint_every = 0;
    // The seq the next logged command gets: 1 for a new log, RecoveryResult's next_seq after one.
    SequenceNumber next_seq = 1;
};

struct ShardStats {
    std::uint64_t commands = 0;              // logged and applied
    std::uint64_t rejected_busy = 0;         // refused: WAL queue full
    std::uint64_t rejected_unavailable = 0;  // refused: WAL failed or closed
    std::uint64_t checkpoints = 0;           // checkpoint records handed to the WAL
    std::uint64_t checkpoint_retries = 0;    // checkpoints postponed by a full WAL queue
};

class Shard {
  public:
    // `log` is shared by every shard and must outlive this one.
    Shard(book::Matcher matcher, CommandLog& log, const ShardOptions& options);

    // Sequences, logs and applies one input; its events are appended to `out`. `input.seq` and
    // `input.timestamp_ns` are overwritten: `now` is the only clock value the matcher ever sees,
    // which is what makes replay (and tests) deterministic.
    void process(book::Command input, TimestampNs now, std::vector<ShardEvent>& out);

    ShardId id() const { return options_.id; }
    const book::Matcher& matcher() const { return matcher_; }
    SequenceNumber next_seq() const { return next_seq_; }
    const ShardStats& stats() const { return stats_; }

    // Answers `input` with a Rejected event without logging or matching it (lsn 0, seq 0): for
    // refusals decided before the command is sequenced.
    static void refuse(const book::Command& input, book::RejectReason reason,
                       std::vector<ShardEvent>& out);

  private:
    void try_checkpoint();

    book::Matcher matcher_;
    CommandLog& log_;
    const ShardOptions options_;
    SequenceNumber next_seq_;
    std::uint64_t since_checkpoint_ = 0;
    bool checkpoint_due_ = false;  // set when one is due and the WAL queue was full
    ShardStats stats_;
    std::vector<book::Event> events_;  // the matcher's output for one command, reused
    CommandRecordBytes command_bytes_{};
    CheckpointRecordBytes checkpoint_bytes_{};
};

}  // namespace exchanged::engine
