#include "app/snapshot_resync.hpp"

#include <stdexcept>
#include <system_error>

#include "repl/snapshot_epochs.hpp"
#include "tools/store/backup_create.hpp"

namespace exchanged::app {

repl::SnapshotSource make_leader_snapshot(const Config& config) {
    if (config.persistence.store != StoreKind::Sqlite) {
        throw std::runtime_error("snapshot re-sync ships an SQLite store only");
    }
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
    }
    return targets;
}

}  // namespace exchanged::app
