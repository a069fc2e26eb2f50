#include "app/snapshot_resync.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "common/test_fault.hpp"
#include "repl/snapshot_epochs.hpp"
#include "store/postgres_dsn.hpp"
#include "tools/store/backup_create.hpp"
#include "tools/store/backup_manifest.hpp"
#include "tools/store/pg_snapshot_install.hpp"

namespace exchanged::app {

// The backup's store file goes out under its own name: the follower takes it by that name.
static_assert(std::string_view(tools::kStoreFileName) == repl::kSnapshotSqliteStore);
static_assert(std::string_view(tools::kPgDumpFileName) == repl::kSnapshotPostgresStore);

namespace {

// The staged pg_dump into the follower's own database. pg_restore's failures (the server down, a
// permission) throw: the follower stops, and its next start runs this again.
std::string restore_staged_dump(const std::filesystem::path& dump, const std::string& dsn) {
    if (test_fault::armed(test_fault::Fault::SkipPgSnapshotRestore)) {
        // The planted fault: the WAL is the snapshot's, the store still the follower's old one.
        return "TEST FAULT skip_pg_snapshot_restore: store not restored";
    }
    const auto started = std::chrono::steady_clock::now();
    const std::uint64_t store_lsn = tools::replace_postgres_store(dump, dsn);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    return "PostgreSQL store at LSN " + std::to_string(store_lsn) + " restored into " +
           store::redact_dsn(dsn) + " (pg_restore of " +
           std::to_string(std::filesystem::file_size(dump)) + " bytes, " +
           std::to_string(took.count()) + " ms)";
}

}  // namespace

repl::SnapshotSource make_leader_snapshot(const Config& config) {
    tools::CreateOptions options;
    options.to = config.server.data_dir / "repl-snapshots";
    // One snapshot at a time: anything still there is what a crash in the middle of a transfer
    // left behind.
    std::error_code ignored;
    std::filesystem::remove_all(options.to, ignored);
    const tools::CreatedBackup backup = tools::create_backup(config, options);
    repl::SnapshotSource source;
    source.dir = backup.dir;
    source.manifest.store_lsn = backup.manifest.store_lsn;
    source.manifest.last_lsn = backup.manifest.last_lsn();
    for (const tools::BackupFile& file : backup.manifest.files) {
        // The follower keeps its own profile.
        if (file.name == tools::kProfileFileName) {
            continue;
        }
        source.manifest.files.push_back({file.name, file.bytes, file.crc32c});
    }
    // The follower's installed log starts past the older terms' records: ship the history.
    if (const auto epochs = repl::add_snapshot_epochs(config.persistence.wal_path, source.dir,
                                                      source.manifest.last_lsn)) {
        source.manifest.files.push_back(*epochs);
    }
    return source;
}

void drop_leader_snapshot(const repl::SnapshotSource& snapshot) {
    std::error_code ignored;
    std::filesystem::remove_all(snapshot.dir, ignored);
}

std::filesystem::path follower_snapshot_dir(const Config& config) {
    return config.persistence.wal_path.parent_path() / "repl-snapshot-staging";
}

repl::SnapshotTargets follower_snapshot_targets(const Config& config) {
    repl::SnapshotTargets targets;
    targets.wal_dir = config.persistence.wal_path;
    if (config.persistence.store == StoreKind::Sqlite) {
        targets.store_file = config.persistence.store_path;
        targets.store_name = repl::kSnapshotSqliteStore;
    } else {
        targets.store_name = repl::kSnapshotPostgresStore;
        targets.install_store =
            [dsn = config.persistence.store_dsn](const std::filesystem::path& dump) {
                return restore_staged_dump(dump, dsn);
            };
    }
    return targets;
}

}  // namespace exchanged::app
