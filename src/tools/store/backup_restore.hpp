// `backup verify` and `backup restore` (docs/operations.md "Backups"). Both check every file
// against the manifest first; verify then restores into a scratch directory, recovers it with the
// daemon's own recovery (store at store_lsn plus the WAL copied with it) and checks the result,
// never writing to the backup except its verified.json.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "config/config.hpp"
#include "tools/store/backup_manifest.hpp"

namespace exchanged::tools {

// Every file the manifest lists, present with its size and CRC32C. Throws std::runtime_error
// naming the first file that is missing or damaged.
void check_backup_files(const std::filesystem::path& backup_dir, const BackupManifest& manifest);

struct VerifyOutcome {
    bool ok = false;
    std::string failure;  // when !ok
    VerifiedMark mark;    // when ok (also written to verified.json)
};

struct VerifyOptions {
    // A PostgreSQL backup is restored into this database, which must hold no store and is
    // emptied again afterwards; empty: into exchanged_verify_<pid>_<time>, created on the server
    // of the backup's store_dsn (its role needs CREATEDB) and dropped afterwards.
    std::string scratch_dsn;
};

// Checksums, then a restore into a scratch directory (and a scratch database for a PostgreSQL
// store), recovery, and the store's own checks. `say` gets one line per step. Writes
// verified.json into the backup on success only. The backup's source store is never written.
VerifyOutcome verify_backup(const std::filesystem::path& backup_dir, const VerifyOptions& options,
                            const std::function<void(const std::string&)>& say);
VerifyOutcome verify_backup(const std::filesystem::path& backup_dir,
                            const std::function<void(const std::string&)>& say);

// Copies the backup's store to `target`'s store_path (a PostgreSQL store: pg_restore into its
// store_dsn, which must hold no store, --force or not) and its WAL segments into target's
// wal_path. Refuses a target of the other store kind, and a non-empty data_dir unless `force`;
// with `force` an SQLite store file (and its -wal/-shm files) is replaced, WAL segments already
// there are kept (a WAL that survived is newer than the backup's copy of it) and the backup's
// other segments are added. Throws std::runtime_error.
void restore_backup(const std::filesystem::path& backup_dir, const exchanged::Config& target,
                    bool force, const std::function<void(const std::string&)>& say);

}  // namespace exchanged::tools
