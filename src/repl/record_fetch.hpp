// A candidate's fetch of the records it lacks (docs/replication.md: Promotion): a node answers
// the WAL records from an LSN on, encoded as a Records frame's payload (wal::encode_record each),
// bounded per request; the candidate appends them with append_replicated.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "wal/wal_types.hpp"

namespace exchanged::repl {

// At most this many bytes of records per answer (always at least one record when there is one).
inline constexpr std::size_t kFetchMaxBytes = 1 << 20;

// The records of the WAL in `wal_dir` from `from` to `to` (its durable LSN), at most `max_bytes`,
// as consecutive encoded records; empty when `from` > `to`. Throws std::runtime_error naming the
// LSN when the log no longer holds `from`, or when it cannot be read.
std::string read_records(const std::filesystem::path& wal_dir, wal::Lsn from, wal::Lsn to,
                         std::size_t max_bytes = kFetchMaxBytes);

}  // namespace exchanged::repl
