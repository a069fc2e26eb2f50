#include "tools/store/backup_catalog.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <system_error>

namespace exchanged::tools {

namespace fs = std::filesystem;

std::vector<BackupEntry> list_backups(const fs::path& in) {
    std::vector<BackupEntry> out;
    std::error_code error;
    for (const auto& item : fs::directory_iterator(in, error)) {
        const std::string name = item.path().filename().string();
        if (!item.is_directory() || name.empty() || name.front() == '.') {
            continue;
        }
        BackupEntry entry;
        entry.dir = item.path();
        try {
            entry.manifest = read_manifest(entry.dir);
            entry.created_at = parse_utc_iso(entry.manifest->created).value_or(0);
            for (const BackupFile& file : entry.manifest->files) {
                entry.bytes += file.bytes;
            }
            entry.verified = read_verified(entry.dir);
        } catch (const std::exception& failure) {
            entry.problem = failure.what();
        }
        out.push_back(std::move(entry));
    }
    if (error) {
        throw std::runtime_error("cannot list backups in " + in.string() + ": " + error.message());
    }
    std::sort(out.begin(), out.end(), [](const BackupEntry& a, const BackupEntry& b) {
        return a.created_at != b.created_at ? a.created_at < b.created_at : a.dir < b.dir;
    });
    return out;
}

std::vector<fs::path> stale_partials(const fs::path& in, std::int64_t older_than_seconds) {
    std::vector<fs::path> out;
    std::error_code error;
    const auto now = fs::file_time_type::clock::now();
    for (const auto& item : fs::directory_iterator(in, error)) {
        const std::string name = item.path().filename().string();
        if (!item.is_directory() || name.rfind(".partial-", 0) != 0) {
            continue;
        }
        std::error_code time_error;
        const auto changed = fs::last_write_time(item.path(), time_error);
        if (!time_error && now - changed > std::chrono::seconds(older_than_seconds)) {
            out.push_back(item.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

const BackupEntry* newest_backup(const std::vector<BackupEntry>& backups) {
    const BackupEntry* newest = nullptr;
    for (const BackupEntry& entry : backups) {
        if (entry.manifest && (newest == nullptr || entry.created_at >= newest->created_at)) {
            newest = &entry;
        }
    }
    return newest;
}

std::vector<const BackupEntry*> plan_prune(const std::vector<BackupEntry>& backups,
                                           std::int64_t now, std::int64_t keep_seconds) {
    const BackupEntry* newest = newest_backup(backups);
    const BackupEntry* newest_verified = nullptr;
    for (const BackupEntry& entry : backups) {
        if (!entry.manifest) {
            continue;
        }
        if (entry.verified &&
            (newest_verified == nullptr || entry.created_at >= newest_verified->created_at)) {
            newest_verified = &entry;
        }
    }
    std::vector<const BackupEntry*> doomed;
    for (const BackupEntry& entry : backups) {
        if (entry.manifest && &entry != newest && &entry != newest_verified &&
            entry.created_at < now - keep_seconds) {
            doomed.push_back(&entry);
        }
    }
    return doomed;
}

}  // namespace exchanged::tools
