// describe(RecoveryResult): the operator's view of a recovery, printed by `exchanged --recover`.
#include <cinttypes>
#include <cstdio>
#include <string>

#include "engine/recovery.hpp"

namespace exchanged::engine {
namespace {

std::string format(const char* pattern, auto... values) {
    char text[256];
    std::snprintf(text, sizeof text, pattern, values...);
    return text;
}

std::string line(const char* label, const std::string& text) {
    return format("  %-12s ", label) + text + "\n";
}

std::string describe_end(const wal::ScanResult& log) {
    switch (log.end) {
        case wal::LogEnd::Clean:
            return "clean";
        case wal::LogEnd::TornTail: {
            std::string text =
                "torn tail: " + std::to_string(log.torn_bytes) + " bytes of an unfinished write";
            if (!log.tail_segment.empty()) {
                text += " at " + log.tail_segment + " offset " + std::to_string(log.tail_offset);
            }
            if (!log.drop_segments.empty()) {
                text += ", " + std::to_string(log.drop_segments.size()) +
                        " segment(s) whose header never landed";
            }
            return text + " (never acknowledged; dropped when the daemon next opens the log)";
        }
        case wal::LogEnd::Corrupt:
            return "CORRUPT: " + log.error;
    }
    return "?";
}

// The records a damaged region held, and what losing them costs given the LSN the store held
// when replay started: records at or below it are in the store already. `skipped`: salvage did
// skip them (else they are only unreadable so far).
std::string lost_records(wal::Lsn after_lsn, wal::Lsn resume_lsn, wal::Lsn store_lsn,
                         bool skipped) {
    if (resume_lsn == 0) {
        return format("the records after LSN %" PRIu64 " cannot be read", after_lsn);
    }
    if (resume_lsn <= after_lsn + 1) {
        return "no record lost (the damage lies outside the records)";
    }
    const wal::Lsn first = after_lsn + 1;
    const wal::Lsn last = resume_lsn - 1;
    const char* lost = skipped ? "lost" : "lost to --salvage";
    std::string text = format("LSN %" PRIu64 "..%" PRIu64 " (%" PRIu64 " record%s)", first, last,
                              last - first + 1, last == first ? "" : "s");
    if (last <= store_lsn) {
        return text + format(", at or below the store's LSN %" PRIu64
                             ": the store holds them, nothing is lost",
                             store_lsn);
    }
    if (first <= store_lsn) {
        return text + format(": LSN %" PRIu64 "..%" PRIu64 " are in the store, LSN %" PRIu64
                             "..%" PRIu64 " are %s",
                             first, store_lsn, store_lsn + 1, last, lost);
    }
    return text + format(", above the store's LSN %" PRIu64 ": %s", store_lsn, lost);
}

std::string instruments_of(const ShardLayout& layout, ShardId shard) {
    std::string text;
    for (const book::InstrumentSpec& spec : layout.instruments_of(shard)) {
        text += (text.empty() ? "" : " ") + spec.symbol + "(" + std::to_string(spec.id) + ")";
    }
    return text;
}

}  // namespace

std::string describe(const RecoveryResult& result, const ShardLayout& layout) {
    const wal::ScanResult& log = result.log;
    std::string text;
    text += line("log end", describe_end(log));
    if (log.records == 0) {
        text += line("log", "no records");
    } else {
        text += line("log", format("%zu segment(s), %" PRIu64 " records, LSN %" PRIu64 "..%" PRIu64
                                   ", log id %016" PRIx64,
                                   log.segments.size(), log.records, log.first_lsn, log.last_lsn,
                                   log.log_id));
    }
    if (log.end == wal::LogEnd::Corrupt && log.skipped.empty()) {
        text += line("damaged", format("%s from offset %" PRIu64 ": ", log.corrupt_segment.c_str(),
                                       log.corrupt_offset) +
                                    lost_records(log.corrupt_after_lsn, log.corrupt_next_lsn,
                                                 result.started_after_lsn, false));
    }
    for (const wal::SkippedRegion& region : log.skipped) {
        text += line("salvaged", format("skipped damage in %s at offset %" PRIu64 ": ",
                                        region.segment.c_str(), region.offset) +
                                     lost_records(region.after_lsn, region.resume_lsn,
                                                  result.started_after_lsn, true));
    }
    const double seconds = std::chrono::duration<double>(result.elapsed).count();
    std::string replayed = format(
        "%" PRIu64 " records (%" PRIu64 " commands, %" PRIu64 " checkpoints verified) in %.3f s",
        result.records, result.commands, result.checkpoints_verified, seconds);
    if (seconds > 0 && result.records > 0) {
        replayed += format(", %.0f records/s", static_cast<double>(result.records) / seconds);
    }
    text += line("replayed", replayed);
    for (ShardId id = 0; id < result.shards.size(); ++id) {
        const ShardReplay& shard = result.shards[id];
        std::string shard_text =
            format("%" PRIu64 " commands, %" PRIu64 " checkpoints verified, next seq %" PRIu64,
                   shard.commands, shard.checkpoints_verified, shard.next_seq);
        if (shard.first_missing_seq != 0) {
            shard_text += format(", commands lost from seq %" PRIu64 ", %" PRIu64
                                 " checkpoints after that unchecked",
                                 shard.first_missing_seq, shard.checkpoints_unchecked);
        }
        if (id < result.matchers.size()) {
            shard_text += format(", %zu resting orders", result.matchers[id].resting_orders());
        }
        text +=
            line(format("shard %u", id).c_str(), instruments_of(layout, id) + ": " + shard_text);
    }
    if (result.ok()) {
        text += line("next LSN", std::to_string(result.next_lsn));
    } else {
        text += line("stopped", format("after LSN %" PRIu64 ": ", result.last_lsn) + result.error);
    }
    return text;
}

std::string salvage_advice(const RecoveryResult& result) {
    const wal::ScanResult& log = result.log;
    if (result.status != RecoveryStatus::Corrupt) {
        return "";
    }
    if (!log.salvageable) {
        return "--salvage cannot skip this damage: put the right segment files back";
    }
    if (log.corrupt_next_lsn != 0 && (log.corrupt_next_lsn <= result.started_after_lsn + 1 ||
                                      log.corrupt_next_lsn <= log.corrupt_after_lsn + 1)) {
        return "--salvage skips the damage and loses nothing (see 'damaged')";
    }
    return "--salvage skips the damage, and the records above the store's LSN in it are lost "
           "(see 'damaged')";
}

}  // namespace exchanged::engine
