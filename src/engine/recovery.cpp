#include "engine/recovery.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "engine/command_record.hpp"
#include "wal/uring_storage.hpp"

namespace exchanged::engine {
namespace {

using Clock = std::chrono::steady_clock;

// Reading the clock costs little, but not nothing next to applying one command.
constexpr std::uint64_t kProgressCheckRecords = 256;

std::string hex(std::uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%016" PRIx64, value);
    return text;
}

// Applies the records the scanner hands over. After the first problem it only counts: the scan
// still runs to the log's end so the report can say how the log ends, but nothing more is
// applied, and the matchers hold the state just before the bad record.
class Replayer {
  public:
    Replayer(const ShardLayout& layout, const RecoveryOptions& options, RecoveryResult& result,
             Clock::time_point start, const ReplayEventSink& on_events)
        : layout_(layout),
          options_(options),
          result_(result),
          start_(start),
          start_lsn_(result.last_lsn),
          on_events_(on_events) {
        events_.reserve(256);
        last_progress_ = start;
    }

    void on_record(const wal::RecordView& record) {
        if (result_.status != RecoveryStatus::Ok ||
            (options_.stop_after_lsn != 0 && record.lsn > options_.stop_after_lsn)) {
            return;
        }
        if (record.lsn != result_.last_lsn + 1) {
            if (!options_.salvage) {
                // The scanner guarantees contiguity within the log, so this is where the log
                // starts: segments below it were released before the store held them.
                return stop(RecoveryStatus::BadRecord,
                            "the WAL starts at LSN " + std::to_string(record.lsn) +
                                ", but replay needs every record from LSN " +
                                std::to_string(start_lsn_ + 1) +
                                (start_lsn_ == 0 ? std::string(" (the store is empty)")
                                                 : " (the store holds up to LSN " +
                                                       std::to_string(start_lsn_) + ")") +
                                ": records are missing");
            }
            records_lost_ = true;
        }
        switch (record.type) {
            case kCommandRecordType:
                if (++commands_seen_ % kMatchSampleEvery == 0) {
                    apply_command_timed(record);
                } else {
                    apply_command(record);
                }
                break;
            case kCheckpointRecordType:
                check_checkpoint(record);
                break;
            case kTermStartRecordType:
                // Replication's marker of a new leader term: nothing to apply, but a malformed
                // one is refused like any other record.
                check_term_start(record);
                break;
            default:
                return stop(RecoveryStatus::BadRecord,
                            "WAL record LSN " + std::to_string(record.lsn) + ": record type " +
                                std::to_string(record.type) + " is unknown to this build");
        }
        if (result_.status != RecoveryStatus::Ok) {
            return;
        }
        ++result_.records;
        result_.last_lsn = record.lsn;
        if (result_.records % kProgressCheckRecords == 0 && options_.on_progress) {
            report_progress();
        }
    }

  private:
    void stop(RecoveryStatus status, std::string error) {
        result_.status = status;
        result_.error = std::move(error);
    }

    void check_term_start(const wal::RecordView& record) {
        try {
            decode_term_start(record.lsn, record.payload);
        } catch (const RecordError& error) {
            stop(RecoveryStatus::BadRecord, error.what());
        }
    }

    bool check_shard(wal::Lsn lsn, ShardId shard, const char* what) {
        if (shard < layout_.shard_count) {
            return true;
        }
        stop(RecoveryStatus::BadRecord,
             "WAL record LSN " + std::to_string(lsn) + ": " + what + " of shard " +
                 std::to_string(shard) + ", but the configuration has " +
                 std::to_string(layout_.shard_count) +
                 " shard(s); was [server] shards changed since the log was written?");
        return false;
    }

    void apply_command_timed(const wal::RecordView& record) {
        const Clock::time_point before = Clock::now();
        apply_command(record, &before);
    }

    // `timed_from`: add the time from it to just before the sink to the match estimate.
    void apply_command(const wal::RecordView& record,
                       const Clock::time_point* timed_from = nullptr) {
        CommandRecord decoded;
        try {
            decoded = decode_command(record.lsn, record.payload);
        } catch (const RecordError& error) {
            return stop(RecoveryStatus::BadRecord, error.what());
        }
        const book::Command& command = decoded.command;
        if (!check_shard(record.lsn, decoded.shard, "command")) {
            return;
        }
        // The record names the shard that sequenced it; the layout must agree, or this
        // configuration would route the instrument's live orders to another book than the one
        // replay rebuilt.
        if (!for_every_shard(command)) {
            const ShardId owner = layout_.shard_of(command.instrument);
            if (owner != decoded.shard) {
                return stop(RecoveryStatus::BadRecord,
                            "WAL record LSN " + std::to_string(record.lsn) + ": shard " +
                                std::to_string(decoded.shard) + " logged instrument " +
                                std::to_string(command.instrument) +
                                ", which this configuration places on shard " +
                                std::to_string(owner) +
                                "; were [server] shards or [instruments] changed since the log "
                                "was written?");
            }
        }
        ShardReplay& shard = result_.shards[decoded.shard];
        if (command.seq != shard.next_seq) {
            // Seqs are used up only by logged commands, so a shard's seqs have no gaps in an
            // intact log. After salvage skipped damage one may be missing: from then on this
            // shard's state lacks a command and its checkpoints cannot be checked.
            if (!records_lost_ || command.seq < shard.next_seq) {
                return stop(RecoveryStatus::BadRecord,
                            "WAL record LSN " + std::to_string(record.lsn) + ": shard " +
                                std::to_string(decoded.shard) + " command has seq " +
                                std::to_string(command.seq) + ", expected " +
                                std::to_string(shard.next_seq));
            }
            if (shard.first_missing_seq == 0) {
                shard.first_missing_seq = shard.next_seq;
            }
        }
        events_.clear();
        result_.matchers[decoded.shard].apply(command, events_);
        if (timed_from != nullptr) {
            result_.match_estimate += (Clock::now() - *timed_from) * kMatchSampleEvery;
        }
        if (on_events_) {
            on_events_(record.lsn, decoded.shard, command.flags, events_);
        }
        shard.next_seq = command.seq + 1;
        ++shard.commands;
        ++result_.commands;
    }

    void check_checkpoint(const wal::RecordView& record) {
        CheckpointRecord checkpoint;
        try {
            checkpoint = decode_checkpoint(record.lsn, record.payload);
        } catch (const RecordError& error) {
            return stop(RecoveryStatus::BadRecord, error.what());
        }
        if (!check_shard(record.lsn, checkpoint.shard, "checkpoint")) {
            return;
        }
        ShardReplay& shard = result_.shards[checkpoint.shard];
        if (shard.first_missing_seq != 0) {
            ++shard.checkpoints_unchecked;
            return;
        }
        const std::uint64_t replayed_hash = result_.matchers[checkpoint.shard].state_hash();
        const SequenceNumber replayed_seq = shard.next_seq - 1;
        if (checkpoint.last_seq != replayed_seq || checkpoint.state_hash != replayed_hash) {
            return stop(RecoveryStatus::CheckpointMismatch,
                        "checkpoint mismatch at WAL record LSN " + std::to_string(record.lsn) +
                            ", shard " + std::to_string(checkpoint.shard) +
                            ": the log expects seq " + std::to_string(checkpoint.last_seq) +
                            " with state hash " + hex(checkpoint.state_hash) +
                            ", replay reached seq " + std::to_string(replayed_seq) +
                            " with state hash " + hex(replayed_hash) +
                            " (the matcher is not deterministic, or this configuration differs "
                            "from the one that wrote the log)");
        }
        ++shard.checkpoints_verified;
        ++result_.checkpoints_verified;
    }

    void report_progress() {
        const Clock::time_point now = Clock::now();
        if (now - last_progress_ < options_.progress_interval) {
            return;
        }
        last_progress_ = now;
        options_.on_progress(RecoveryProgress{result_.records, result_.last_lsn, now - start_});
    }

    const ShardLayout& layout_;
    const RecoveryOptions& options_;
    RecoveryResult& result_;
    const Clock::time_point start_;
    const wal::Lsn start_lsn_;
    const ReplayEventSink& on_events_;
    Clock::time_point last_progress_;
    bool records_lost_ = false;  // salvage skipped damage somewhere before the current record
    std::uint64_t commands_seen_ = 0;
    std::vector<book::Event> events_;
};

RecoveryResult start_result(const ShardLayout& layout, ReplayStart start) {
    RecoveryResult result;
    result.shards.resize(layout.shard_count);
    if (start.matchers.empty()) {
        result.matchers.reserve(layout.shard_count);
        for (ShardId shard = 0; shard < layout.shard_count; ++shard) {
            result.matchers.push_back(layout.make_matcher(shard));
        }
    } else {
        if (start.matchers.size() != layout.shard_count) {
            throw std::invalid_argument("replay start has " +
                                        std::to_string(start.matchers.size()) + " matchers for " +
                                        std::to_string(layout.shard_count) + " shards");
        }
        result.matchers = std::move(start.matchers);
    }
    for (ShardId shard = 0; shard < start.next_seq.size() && shard < layout.shard_count; ++shard) {
        result.shards[shard].next_seq = start.next_seq[shard];
    }
    result.last_lsn = start.after_lsn;
    result.next_lsn = start.after_lsn + 1;
    result.started_after_lsn = start.after_lsn;
    return result;
}

}  // namespace

const char* to_string(RecoveryStatus status) {
    switch (status) {
        case RecoveryStatus::Ok:
            return "ok";
        case RecoveryStatus::Corrupt:
            return "corrupt";
        case RecoveryStatus::BadRecord:
            return "bad-record";
        case RecoveryStatus::CheckpointMismatch:
            return "checkpoint-mismatch";
    }
    return "?";
}

RecoveryResult replay_log(wal::Storage& storage, const ShardLayout& layout,
                          const RecoveryOptions& options, ReplayStart start,
                          const ReplayEventSink& on_events) {
    const Clock::time_point begin = Clock::now();
    RecoveryResult result = start_result(layout, std::move(start));
    const wal::Lsn after_lsn = result.last_lsn;
    Replayer replayer(layout, options, result, begin, on_events);
    wal::ScanOptions scan_options;
    scan_options.salvage = options.salvage;
    scan_options.from_lsn = after_lsn + 1;
    scan_options.to_lsn = options.stop_after_lsn;
    scan_options.map_files = options.map_segments;
    scan_options.skip_segments_below_from = options.skip_replayed_segments;
    result.log = wal::scan_log(storage, scan_options, [&replayer](const wal::RecordView& record) {
        replayer.on_record(record);
    });
    if (result.ok() && result.log.end == wal::LogEnd::Corrupt &&
        (!options.salvage || result.log.stopped_at_damage)) {
        result.status = RecoveryStatus::Corrupt;
        result.error = result.log.error;
    }
    if (result.ok() && after_lsn > 0 && result.log.next_lsn <= after_lsn) {
        // Appending would reuse LSNs the store already holds.
        result.status = RecoveryStatus::BadRecord;
        result.error = "the WAL ends before LSN " + std::to_string(result.log.next_lsn) +
                       " but the store holds records up to LSN " + std::to_string(after_lsn) +
                       ": the WAL directory was replaced or lost records the store has";
    }
    result.next_lsn = result.ok() ? std::max(result.log.next_lsn, after_lsn + 1) : 0;
    result.elapsed = Clock::now() - begin;
    return result;
}

RecoveryResult replay_records(const RecordSource& source, const ShardLayout& layout,
                              const RecoveryOptions& options, ReplayStart start,
                              const ReplayEventSink& on_events) {
    const Clock::time_point begin = Clock::now();
    RecoveryResult result = start_result(layout, std::move(start));
    const wal::Lsn after_lsn = result.last_lsn;
    Replayer replayer(layout, options, result, begin, on_events);
    wal::Lsn last_read = after_lsn;
    try {
        source(after_lsn, [&](const wal::RecordView& record) {
            last_read = record.lsn;
            replayer.on_record(record);
        });
    } catch (const RecordSourceError& error) {
        if (result.ok()) {
            result.status = RecoveryStatus::Corrupt;
            result.error = error.what();
        }
    }
    result.log.next_lsn = last_read + 1;
    result.next_lsn = result.ok() ? std::max(last_read, after_lsn) + 1 : 0;
    result.elapsed = Clock::now() - begin;
    return result;
}

RecoveryResult replay_log(const std::filesystem::path& wal_dir, const ShardLayout& layout,
                          const RecoveryOptions& options, ReplayStart start,
                          const ReplayEventSink& on_events) {
    std::error_code error;
    if (!std::filesystem::exists(wal_dir, error)) {
        const Clock::time_point begin = Clock::now();
        RecoveryResult result = start_result(layout, std::move(start));
        if (result.last_lsn > 0) {
            result.status = RecoveryStatus::BadRecord;
            result.error = "the WAL directory " + wal_dir.string() +
                           " does not exist but the store holds records up to LSN " +
                           std::to_string(result.last_lsn);
            result.next_lsn = 0;
        }
        result.elapsed = Clock::now() - begin;
        return result;
    }
    wal::UringStorage storage(wal_dir.string());
    return replay_log(storage, layout, options, std::move(start), on_events);
}

struct RecordReplayer::State {
    State(const ShardLayout& layout, ReplayStart start, ReplayEventSink sink)
        : result(start_result(layout, std::move(start))),
          on_events(std::move(sink)),
          replayer(layout, options, result, Clock::now(), on_events) {}

    RecoveryOptions options;  // defaults: no salvage, no progress, no stop
    RecoveryResult result;
    ReplayEventSink on_events;
    Replayer replayer;
};

RecordReplayer::RecordReplayer(const ShardLayout& layout, ReplayStart start,
                               ReplayEventSink on_events)
    : state_(std::make_unique<State>(layout, std::move(start), std::move(on_events))) {}

RecordReplayer::~RecordReplayer() = default;

void RecordReplayer::apply(const wal::RecordView& record) {
    state_->replayer.on_record(record);
    if (state_->result.ok()) {
        state_->result.next_lsn = record.lsn + 1;
    }
}

const RecoveryResult& RecordReplayer::result() const {
    return state_->result;
}

ReplayStart RecordReplayer::take_books() {
    RecoveryResult& result = state_->result;
    if (!result.ok()) {
        throw std::logic_error("the replayer's books cannot be taken: " + result.error);
    }
    if (result.matchers.empty()) {
        throw std::logic_error("the replayer's books were taken already");
    }
    ReplayStart books;
    books.after_lsn = result.last_lsn;
    books.matchers = std::move(result.matchers);
    result.matchers.clear();
    for (const ShardReplay& shard : result.shards) {
        books.next_seq.push_back(shard.next_seq);
    }
    // Anything applied now would find no matcher: refuse it like a failed replay.
    result.status = RecoveryStatus::BadRecord;
    result.error = "the books were handed over after LSN " + std::to_string(books.after_lsn);
    return books;
}

RecoveryResult recover(wal::Storage& storage, const ShardLayout& layout,
                       const RecoveryOptions& options) {
    return replay_log(storage, layout, options, ReplayStart{}, nullptr);
}

RecoveryResult recover(const std::filesystem::path& wal_dir, const ShardLayout& layout,
                       const RecoveryOptions& options) {
    return replay_log(wal_dir, layout, options, ReplayStart{}, nullptr);
}

}  // namespace exchanged::engine
