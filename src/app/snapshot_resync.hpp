// The daemon's side of a snapshot re-sync (docs/replication.md "Retention and snapshot re-sync"):
// a leader makes the snapshot with the online backup (`exchangectl backup create`'s code: the
// SQLite store copied by its flush worker, or a PostgreSQL store's pg_dump, plus the WAL segments
// above its store_lsn) into a directory under its data_dir; a follower stages what it receives
// beside its WAL and swaps it in (an SQLite file by a rename, a pg_dump by pg_restore into its own
// database).
#pragma once

#include <filesystem>

#include "config/config.hpp"
#include "repl/leader_sender.hpp"
#include "repl/snapshot_staging.hpp"

namespace exchanged::app {

// <data_dir>/repl-snapshots/<backup>: throws std::runtime_error when the backup fails (the
// sender logs it and retries on its next connection). An SQLite store needs [server]
// admin_listen: the store is asked of the running daemon through it; a PostgreSQL store is
// dumped from its server.
repl::SnapshotSource make_leader_snapshot(const Config& config);
void drop_leader_snapshot(const repl::SnapshotSource& snapshot);

// A follower's staging directory (beside its WAL, so that the swap is a rename) and where the
// files go: for PostgreSQL, an install_store hook that restores the dump into its store_dsn.
std::filesystem::path follower_snapshot_dir(const Config& config);
repl::SnapshotTargets follower_snapshot_targets(const Config& config);

}  // namespace exchanged::app
