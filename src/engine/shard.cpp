#include "engine/shard.hpp"

#include <cassert>
#include <utility>

namespace exchanged::engine {

namespace {
// Enough for the events of a command that sweeps a few levels; bigger ones grow the vector once.
constexpr std::size_t kInitialEventCapacity = 256;
}  // namespace

Shard::Shard(book::Matcher matcher, CommandLog& log, const ShardOptions& options)
    : matcher_(std::move(matcher)), log_(log), options_(options), next_seq_(options.next_seq) {
    assert(next_seq_ >= 1);
    events_.reserve(kInitialEventCapacity);
}

void Shard::process(book::Command input, TimestampNs now, std::vector<ShardEvent>& out) {
    input.seq = next_seq_;
    input.timestamp_ns = now;
    encode_command(options_.id, input, command_bytes_);
    const wal::AppendResult appended = log_.try_append(kCommandRecordType, command_bytes_);
    switch (appended.status) {
        case wal::AppendStatus::Ok:
            break;
        case wal::AppendStatus::Busy:
            ++stats_.rejected_busy;
            refuse(input, book::RejectReason::Busy, out);
            return;
        case wal::AppendStatus::TooLarge:  // max_payload_bytes below a command record: a setup
                                           // error
        case wal::AppendStatus::Failed:
        case wal::AppendStatus::Closed:
            ++stats_.rejected_unavailable;
            refuse(input, book::RejectReason::Unavailable, out);
            return;
    }
    // The seq is used up only by a logged command, so each shard's seqs in the log have no gaps
    // and replay can tell when salvage lost one of them.
    ++next_seq_;
    ++stats_.commands;
    events_.clear();
    matcher_.apply(input, events_);
    for (const book::Event& event : events_) {
        out.push_back(ShardEvent{appended.lsn, event});
    }
    if (options_.checkpoint_every != 0 && ++since_checkpoint_ >= options_.checkpoint_every) {
        since_checkpoint_ = 0;
        checkpoint_due_ = true;
    }
    if (checkpoint_due_) {
        try_checkpoint();
    }
}

void Shard::refuse(const book::Command& input, book::RejectReason reason,
                   std::vector<ShardEvent>& out) {
    book::Event event = book::rejected_event(input, reason);
    // Never sequenced: its would-be seq goes to the next command.
    event.seq = 0;
    out.push_back(ShardEvent{0, event});
}

void Shard::try_checkpoint() {
    const CheckpointRecord checkpoint{options_.id, next_seq_ - 1, matcher_.state_hash()};
    encode_checkpoint(checkpoint, checkpoint_bytes_);
    const wal::AppendResult appended = log_.try_append(kCheckpointRecordType, checkpoint_bytes_);
    if (appended.status == wal::AppendStatus::Busy) {
        // Retried after the next command, with the state as it is then; a checkpoint is a check,
        // never worth refusing an order for.
        ++stats_.checkpoint_retries;
        return;
    }
    // Ok, or the log is down (the next command will be refused as unavailable anyway).
    checkpoint_due_ = false;
    if (appended.status == wal::AppendStatus::Ok) {
        ++stats_.checkpoints;
    }
}

}  // namespace exchanged::engine
