#include "app/snapshot_resync.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "common/crc32c.hpp"
#include "repl/epoch_file.hpp"
#include "tools/store/backup_create.hpp"

namespace exchanged::app {

namespace {

// The leader's terms up to the snapshot's last LSN, as wal/epochs of the snapshot: the follower's
// installed log starts above the store, past the term records of the older terms. The leader's
// file is rewritten only by an atomic rename (a new term), so reading it here is safe.
void add_epoch_history(const Config& config, repl::SnapshotSource& source) {
    const std::filesystem::path from = config.persistence.wal_path / repl::kEpochFileName;
    std::ifstream in(from, std::ios::binary);
    if (!in) {
        return;  // a log that never had a term
    }
    std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto* begin = reinterpret_cast<const std::byte*>(raw.data());
    repl::EpochHistory history = repl::decode_epoch_file({begin, raw.size()}, from.string());
    history.truncate_after(source.manifest.last_lsn);
    const std::vector<std::byte> bytes = repl::encode_epoch_file(history);
    const std::string name = "wal/" + std::string(repl::kEpochFileName);
    std::ofstream out(source.dir / name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
        throw std::runtime_error("writing " + (source.dir / name).string() + " failed");
    }
    source.manifest.files.push_back(
        {name, bytes.size(), exchanged::crc32c(bytes.data(), bytes.size())});
}

}  // namespace

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
    add_epoch_history(config, source);
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
