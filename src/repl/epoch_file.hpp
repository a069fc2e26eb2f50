// The epoch history beside the log: <wal dir>/epochs. The term start records in the log say which
// epoch wrote each LSN, but a node releases WAL segments once its store holds them, and with them
// the oldest term records; this file keeps every term (epoch, first LSN) so that the history
// survives (docs/replication.md, "Epochs in the log and divergence repair"; docs/wal.md).
//
// Format: "EXEPOCH1", a u32 term count, a u32 CRC32C of the terms, then 16 bytes per term (u64
// epoch, u64 first LSN), little-endian. It is rewritten whole and atomically (epochs.tmp written
// and fdatasynced, renamed over it, the directory fsynced): a crash leaves the old file or the new.
//
// Write order, so that a crash never leaves a term in the file that the log lacks:
//   - a new term: its record is made durable in the log first, then the file is rewritten;
//   - a cut (cut_log_after): the file drops the terms above the kept LSN first, then the log is
//   cut.
// A crash in between leaves the file short of a term the log still holds; merging with the log
// (read_log_epochs) finds it there.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "repl/follower_start.hpp"
#include "wal/log_truncate.hpp"
#include "wal/storage.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::repl {

inline constexpr std::string_view kEpochFileName = "epochs";

std::vector<std::byte> encode_epoch_file(const EpochHistory& history);
// Throws std::runtime_error naming what is wrong (`what` names the file).
EpochHistory decode_epoch_file(std::span<const std::byte> bytes, const std::string& what);

// The file in the WAL directory `storage`, or nullopt when there is none. Throws
// std::runtime_error naming the file when it is damaged or short.
std::optional<EpochHistory> read_epoch_file(wal::Storage& storage);
// Replaces the file atomically and durably. Throws wal::WalError on an I/O failure (fatal for the
// caller, like a WAL sync failure).
void write_epoch_file(wal::Storage& storage, const EpochHistory& history);
// Writes the file when it does not already hold exactly `history` (a start, after merging).
void sync_epoch_file(wal::Storage& storage, const EpochHistory& history);

// Cuts the log in `storage` to end at keep_lsn (wal::truncate_log_after) after dropping the terms
// above keep_lsn from the epochs file. Nothing may have the log open for writing.
wal::TruncateReport cut_log_after(wal::Storage& storage, wal::Lsn keep_lsn);

}  // namespace exchanged::repl
