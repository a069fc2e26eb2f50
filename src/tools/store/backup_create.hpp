// `exchangectl backup create` (docs/operations.md "Backups"): a consistent snapshot of the store
// plus the WAL segments holding every record above its store_lsn, in one new directory under
// `--to` that appears only once it is complete and durable.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "config/config.hpp"
#include "tools/store/backup_manifest.hpp"

namespace exchanged::tools {

struct CreateOptions {
    std::filesystem::path to;  // backups go into to/<UTC time>-<store_lsn>/
    // How long the daemon may take to answer POST /backup (it copies the whole store).
    std::chrono::milliseconds snapshot_timeout{std::chrono::minutes(10)};
    std::function<void(const std::string& line)> say;  // progress lines; may be empty
};

struct CreatedBackup {
    std::filesystem::path dir;
    BackupManifest manifest;
};

// Online when the daemon holds the store (its exclusive lock says so): the snapshot is asked of
// it through [server] admin_listen. Offline otherwise: the store is copied here. Throws
// std::runtime_error with what failed; nothing that looks like a backup is left behind then.
CreatedBackup create_backup(const exchanged::Config& profile, const CreateOptions& options);

}  // namespace exchanged::tools
