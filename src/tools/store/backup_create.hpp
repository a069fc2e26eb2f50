// `exchangectl backup create` (docs/operations.md "Backups"): a consistent snapshot of the store
// plus the WAL segments holding every record above its store_lsn, in one new directory under
// `--to` that appears only once it is complete and durable.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "tools/store/backup_manifest.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::tools {

struct CreateOptions {
    std::filesystem::path to;  // backups go into to/<UTC time>-<store_lsn>/
    // How long the daemon may take to answer POST /backup (it copies the whole store).
    std::chrono::milliseconds snapshot_timeout{std::chrono::minutes(10)};
    std::function<void(const std::string& line)> say;  // progress lines; may be empty
    // Tests only: runs between the snapshot and the WAL copy, where a live daemon may release
    // segments its store has passed.
    std::function<void(std::uint64_t store_lsn)> before_wal_copy;
};

struct CreatedBackup {
    std::filesystem::path dir;
    BackupManifest manifest;
};

// Of the segment file names in a WAL directory, those holding store_lsn+1 onwards, in LSN order.
// Throws std::runtime_error naming the missing LSNs when the oldest one starts after store_lsn+1.
std::vector<std::string> wal_segments_to_copy(const std::vector<std::string>& names,
                                              std::uint64_t store_lsn);

// The copied log read back must be whole from store_lsn+1 (a torn tail is fine: the daemon was
// appending to it) and must not end before store_lsn. Throws std::runtime_error saying what is
// missing.
void check_wal_covers(const wal::ScanResult& scan, std::uint64_t store_lsn);

// Online when the daemon holds the store (its exclusive lock says so): the snapshot is asked of
// it through [server] admin_listen. Offline otherwise: the store is copied here. Throws
// std::runtime_error with what failed; nothing that looks like a backup is left behind then.
CreatedBackup create_backup(const exchanged::Config& profile, const CreateOptions& options);

}  // namespace exchanged::tools
