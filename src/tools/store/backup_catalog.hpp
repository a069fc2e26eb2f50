// The backups under one directory, for `backup list` and `backup prune` (docs/operations.md
// "Backups"). Prune's rules: a backup older than the retention goes, except the newest backup
// and the newest verified one, so that pruning never leaves no backup, nor no verified backup
// when there was one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tools/store/backup_manifest.hpp"

namespace exchanged::tools {

struct BackupEntry {
    std::filesystem::path dir;
    std::optional<BackupManifest> manifest;  // nothing when unreadable (`problem` says why)
    std::optional<VerifiedMark> verified;
    std::int64_t created_at = 0;  // seconds since the epoch, from the manifest
    std::uint64_t bytes = 0;      // the files the manifest lists
    std::string problem;
};

// Every backup directory under `in`, oldest first (directories starting with '.' are unfinished
// ones and are left out). Throws std::runtime_error when `in` cannot be listed.
std::vector<BackupEntry> list_backups(const std::filesystem::path& in);

// Directories under `in` a `backup create` left unfinished (`.partial-*`, from a crash or a kill)
// and last changed more than `older_than_seconds` ago: prune deletes them.
std::vector<std::filesystem::path> stale_partials(const std::filesystem::path& in,
                                                  std::int64_t older_than_seconds);

// The newest readable backup of `backups` (the one prune always keeps); nullptr when none is.
const BackupEntry* newest_backup(const std::vector<BackupEntry>& backups);

// The entries prune deletes: readable backups created before now - keep_seconds, except the
// newest backup and the newest verified one. Unreadable ones are never deleted (an operator
// looks at them).
std::vector<const BackupEntry*> plan_prune(const std::vector<BackupEntry>& backups,
                                           std::int64_t now, std::int64_t keep_seconds);

}  // namespace exchanged::tools
