// A snapshot carries the leader's epoch history: the follower's installed log starts above the
// snapshot's store, past the term start records of the older terms, so the leader's terms up to
// the snapshot's last LSN travel as the snapshot's wal/epochs (epoch_file.hpp), which the
// install moves into the follower's WAL directory with the segments.
#pragma once

#include <filesystem>
#include <optional>

#include "repl/snapshot_staging.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::repl {

// Writes <snapshot_dir>/wal/epochs from the epochs file in `wal_dir` (the leader's; rewritten only
// by an atomic rename, so it is read safely while the leader runs), cut after `last_lsn`, and
// returns its manifest entry. Returns nullopt when `wal_dir` has no epochs file (a log without
// terms). Throws std::runtime_error naming the file when it is damaged or cannot be written.
std::optional<SnapshotFile> add_snapshot_epochs(const std::filesystem::path& wal_dir,
                                                const std::filesystem::path& snapshot_dir,
                                                wal::Lsn last_lsn);

}  // namespace exchanged::repl
