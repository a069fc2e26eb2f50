#include "tools/store/backup_restore.hpp"

#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "engine/shard_layout.hpp"
#include "engine/store_recovery.hpp"
#include "store/sqlite_store.hpp"
#include "tools/store/backup_files.hpp"
#include "tools/store/profile_names.hpp"
#include "tools/store/reconcile.hpp"
#include "tools/store/scratch_dir.hpp"
#include "tools/store/store_rows.hpp"

namespace exchanged::tools {
namespace {

namespace fs = std::filesystem;

std::string hex(std::uint32_t value) {
    char text[16];
    std::snprintf(text, sizeof text, "%08x", value);
    return text;
}

bool is_wal_file(const BackupFile& file) {
    return file.name.rfind(std::string(kWalDirName) + "/", 0) == 0;
}

// Copies the backup's store and WAL files into `store_path` and `wal_dir`; segments already in
// wal_dir are kept when `keep_existing`. `segment_zeros`: Write where a daemon will append to the
// segments (it expects them preallocated), Skip for a scratch copy that is only read.
void place_files(const fs::path& backup_dir, const BackupManifest& manifest,
                 const fs::path& store_path, const fs::path& wal_dir, bool keep_existing,
                 ZeroRuns segment_zeros, const std::function<void(const std::string&)>& say) {
    fs::create_directories(store_path.parent_path());
    copy_file_durably(backup_dir / kStoreFileName, store_path);
    fsync_path(store_path.parent_path());
    std::size_t copied = 0;
    std::size_t kept = 0;
    for (const BackupFile& file : manifest.files) {
        if (!is_wal_file(file)) {
            continue;
        }
        fs::create_directories(wal_dir);
        const fs::path target = wal_dir / fs::path(file.name).filename();
        if (keep_existing && fs::exists(target)) {
            ++kept;
            continue;
        }
        copy_file_durably(backup_dir / file.name, target, segment_zeros);
        ++copied;
    }
    if (copied > 0) {
        fsync_path(wal_dir);
    }
    if (say) {
        say("restored: store to " + store_path.string() + " (LSN " +
            std::to_string(manifest.store_lsn) + "), " + std::to_string(copied) +
            " WAL segment(s) to " + wal_dir.string() +
            (kept > 0 ? ", " + std::to_string(kept) + " segment(s) already there kept" : ""));
    }
}

exchanged::Config backup_profile(const fs::path& backup_dir, const fs::path& data_dir) {
    ConfigOverrides overrides;
    overrides.data_dir = data_dir.string();
    return load_config((backup_dir / kProfileFileName).string(), overrides);
}

}  // namespace

void check_backup_files(const fs::path& backup_dir, const BackupManifest& manifest) {
    bool has_store = false;
    for (const BackupFile& file : manifest.files) {
        has_store = has_store || file.name == kStoreFileName;
        const fs::path path = backup_dir / file.name;
        if (!fs::exists(path)) {
            throw std::runtime_error(file.name + ": missing from the backup " +
                                     backup_dir.string());
        }
        const FileSum sum = checksum_file(path);
        if (sum.bytes != file.bytes || sum.crc32c != file.crc32c) {
            throw std::runtime_error(
                file.name + ": damaged: " + std::to_string(sum.bytes) + " bytes with CRC32C " +
                hex(sum.crc32c) + ", the manifest says " + std::to_string(file.bytes) +
                " bytes with CRC32C " + hex(file.crc32c) + " (" + path.string() + ")");
        }
    }
    if (!has_store) {
        throw std::runtime_error(std::string(kManifestName) + ": lists no " + kStoreFileName);
    }
}

VerifyOutcome verify_backup(const fs::path& backup_dir,
                            const std::function<void(const std::string&)>& say) {
    VerifyOutcome out;
    const auto fail = [&](const std::string& why) {
        out.failure = why;
        return out;
    };
    BackupManifest manifest;
    try {
        manifest = read_manifest(backup_dir);
        check_backup_files(backup_dir, manifest);
    } catch (const std::exception& error) {
        return fail(error.what());
    }
    say("checksums: " + std::to_string(manifest.files.size()) + " file(s) match the manifest");
    try {
        const ScratchDir scratch("exchangectl-backup-verify");
        const exchanged::Config profile = backup_profile(backup_dir, scratch.path() / "data");
        const engine::ShardLayout layout = engine::make_shard_layout(profile);
        const fs::path store_path = scratch.path() / "data" / "exchanged.sqlite";
        const fs::path wal_dir = scratch.path() / "data" / "wal";
        place_files(backup_dir, manifest, store_path, wal_dir, false, ZeroRuns::Skip, nullptr);

        store::SqliteStore store(store_path);
        store.migrate();
        std::vector<book::Matcher> matchers;
        std::uint64_t last_lsn = 0;
        if (profile.persistence.enable_wal) {
            engine::StoreRecoveryResult recovered =
                engine::recover_from_store(store, wal_dir, layout, engine::RecoveryOptions{});
            if (!recovered.replay.ok()) {
                return fail("recovery: " + std::string(engine::to_string(recovered.replay.status)) +
                            ": " +
                            (recovered.replay.error.empty() ? recovered.replay.log.describe()
                                                            : recovered.replay.error));
            }
            last_lsn = std::max<std::uint64_t>(recovered.loaded_lsn, recovered.replay.last_lsn);
            say("recovery: store loaded at LSN " + std::to_string(recovered.loaded_lsn) + ", " +
                std::to_string(recovered.replay.records) + " WAL record(s) replayed to LSN " +
                std::to_string(last_lsn) + " (" + wal::to_string(recovered.replay.log.end) + ")");
            matchers = std::move(recovered.replay.matchers);
        } else {
            engine::ReplayStart loaded = engine::load_from_store(store, layout);
            last_lsn = loaded.after_lsn;
            say("recovery: store loaded at LSN " + std::to_string(last_lsn) + " (no WAL)");
            matchers = std::move(loaded.matchers);
        }
        if (last_lsn < manifest.last_lsn()) {
            return fail("recovery reached LSN " + std::to_string(last_lsn) +
                        ", short of the manifest's " + std::to_string(manifest.last_lsn()));
        }
        const StoreRows rows = read_store_rows(store);
        const ProfileNames names(profile);
        for (const CheckResult& check : reconcile(rows, nullptr, nullptr, layout, names)) {
            say(check.report().substr(0, check.report().size() - 1));
            if (!check.ok()) {
                return fail("the restored store failed the check '" + check.name() + "'");
            }
        }
        out.mark.verified_at = utc_now_iso();
        out.mark.last_lsn = last_lsn;
        for (const book::Matcher& matcher : matchers) {
            out.mark.state_hashes.push_back(matcher.state_hash());
        }
    } catch (const std::exception& error) {
        return fail(error.what());
    }
    write_file_durably(backup_dir / kVerifiedName, to_json(out.mark));
    fsync_path(backup_dir);
    out.ok = true;
    return out;
}

void restore_backup(const fs::path& backup_dir, const exchanged::Config& target, bool force,
                    const std::function<void(const std::string&)>& say) {
    const BackupManifest manifest = read_manifest(backup_dir);
    check_backup_files(backup_dir, manifest);
    if (target.persistence.store != StoreKind::Sqlite) {
        throw std::runtime_error(
            "restore into a PostgreSQL store: load the backup's pg_dump "
            "with pg_restore (docs/operations.md: Backups)");
    }
    const fs::path& data_dir = target.server.data_dir;
    if (!missing_or_empty(data_dir) && !force) {
        throw std::runtime_error("the data directory " + data_dir.string() +
                                 " is not empty: restore into an empty one, or pass --force to "
                                 "replace its store (WAL segments there are kept)");
    }
    const fs::path& store_path = target.persistence.store_path;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        std::error_code ignored;
        fs::remove(store_path.string() + suffix, ignored);
    }
    place_files(backup_dir, manifest, store_path, target.persistence.wal_path, true,
                ZeroRuns::Write, say);
}

}  // namespace exchanged::tools
