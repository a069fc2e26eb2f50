// A log's epoch history lives in the log itself: a leader writes a term start record
// (engine/command_record.hpp, type 3) as the first record of its term, and followers receive it
// as an ordinary replicated record. Released segments take their term records with them, so each
// term is also kept in the epochs file beside the log (epoch_file.hpp). Opening a log, a node
// rebuilds its EpochHistory from both; a leader whose epoch is above its log's newest term writes
// the record before its first order of the term.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "engine/command_record.hpp"
#include "repl/follower_start.hpp"
#include "wal/storage.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::repl {

struct LogEpochs {
    EpochHistory history;
    wal::Lsn last_lsn = 0;
    Epoch last_epoch = 0;  // the epoch of the record at last_lsn (0: none, or before any term)
};

// The term start records of one scan of a log, merged with the epochs file once the scan is
// over: read_log_epochs's own scan, or the WAL writer's opening scan (WalOptions::on_recovered),
// which a leader's start then does not repeat (a second scan of a 64 MiB segment cost a
// promotion 35-40 ms).
class LogEpochCollector {
  public:
    // Each record of the scan, in LSN order. Throws std::runtime_error naming the LSN of a term
    // start record that does not decode.
    void observe(const wal::RecordView& record);
    // The history: the epochs file's terms before `first_lsn` (the log's oldest record, or its
    // next LSN when it holds none), then the terms observed. `last_lsn`: the log's newest record
    // (0: none). Throws std::runtime_error when the file and the log disagree.
    LogEpochs finish(wal::Storage& storage, wal::Lsn first_lsn, wal::Lsn last_lsn) const;

  private:
    std::vector<TermStart> logged_;
};

// Scans the log in `storage` (nothing may append meanwhile) and merges its terms with the epochs
// file's: the file's terms before the log's oldest record, the log's from there on (a file term
// inside or above the log's range is ignored). Throws std::runtime_error naming the
// LSN when a term start record does not decode or does not follow the previous term, and when
// the log is corrupt (the WAL's recovery reports that first in a normal start).
// `map_files` (wal::ScanOptions::map_files): only for a log nothing writes while it is read.
LogEpochs read_log_epochs(wal::Storage& storage, bool map_files = false);

// The term a record starts, when it is a term start record (throws engine::RecordError for a
// malformed one).
std::optional<TermStart> term_start_of(wal::Lsn lsn, std::uint16_t type,
                                       std::span<const std::byte> payload);

// A leader about to serve `epoch` on the log `writer` holds: when the log's newest term is older,
// appends the term start record, waits until it is durable, adds the term to `history` and
// rewrites the epochs file in `dir` (the log's directory).
// Returns its LSN (0 when the log already has this term). Call before anything else appends.
// Throws std::runtime_error naming why (the log's newest term is above `epoch`, the append or
// its sync failed, or wal::WalError when the epochs file cannot be written).
wal::Lsn begin_term(wal::WalWriter& writer, wal::Storage& dir, EpochHistory& history, Epoch epoch,
                    NodeId leader);

}  // namespace exchanged::repl
