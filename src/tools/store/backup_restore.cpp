#include "tools/store/backup_restore.hpp"

#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "engine/shard_layout.hpp"
#include "engine/store_recovery.hpp"
#include "store/postgres_dsn.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"
#include "tools/store/backup_files.hpp"
#include "tools/store/backup_postgres.hpp"
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

// Copies the backup's WAL files into `wal_dir`; segments already there are kept when
// `keep_existing`. `segment_zeros`: Write where a daemon will append to the segments (it expects
// them preallocated), Skip for a scratch copy that is only read. Returns the line saying so.
std::string place_wal(const fs::path& backup_dir, const BackupManifest& manifest,
                      const fs::path& wal_dir, bool keep_existing, ZeroRuns segment_zeros) {
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
    return std::to_string(copied) + " WAL segment(s) to " + wal_dir.string() +
           (kept > 0 ? ", " + std::to_string(kept) + " segment(s) already there kept" : "");
}

void place_sqlite_store(const fs::path& backup_dir, const fs::path& store_path) {
    fs::create_directories(store_path.parent_path());
    copy_file_durably(backup_dir / kStoreFileName, store_path);
    fsync_path(store_path.parent_path());
}

exchanged::Config backup_profile(const fs::path& backup_dir, const fs::path& data_dir) {
    ConfigOverrides overrides;
    overrides.data_dir = data_dir.string();
    return load_config((backup_dir / kProfileFileName).string(), overrides);
}

// The daemon's own recovery on the restored store (store at store_lsn plus the backup's WAL),
// then the store's checks. The failure, or nothing with `mark` filled in.
std::optional<std::string> recover_and_check(store::Store& store, const fs::path& wal_dir,
                                             const exchanged::Config& profile,
                                             const BackupManifest& manifest, VerifiedMark& mark,
                                             const std::function<void(const std::string&)>& say) {
    const engine::ShardLayout layout = engine::make_shard_layout(profile);
    std::vector<book::Matcher> matchers;
    std::uint64_t last_lsn = 0;
    if (profile.persistence.enable_wal) {
        engine::StoreRecoveryResult recovered =
            engine::recover_from_store(store, wal_dir, layout, engine::RecoveryOptions{});
        if (!recovered.replay.ok()) {
            return "recovery: " + std::string(engine::to_string(recovered.replay.status)) + ": " +
                   (recovered.replay.error.empty() ? recovered.replay.log.describe()
                                                   : recovered.replay.error);
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
        return "recovery reached LSN " + std::to_string(last_lsn) + ", short of the manifest's " +
               std::to_string(manifest.last_lsn());
    }
    const StoreRows rows = read_store_rows(store);
    const ProfileNames names(profile);
    for (const CheckResult& check : reconcile(rows, nullptr, nullptr, layout, names)) {
        say(check.report().substr(0, check.report().size() - 1));
        if (!check.ok()) {
            return "the restored store failed the check '" + check.name() + "'";
        }
    }
    mark.verified_at = utc_now_iso();
    mark.last_lsn = last_lsn;
    for (const book::Matcher& matcher : matchers) {
        mark.state_hashes.push_back(matcher.state_hash());
    }
    return std::nullopt;
}

// Empties the scratch database the operator named once verify is done with it, whatever the
// outcome; armed only once the restore found it empty and loaded the dump.
class RestoredTables {
  public:
    RestoredTables(std::string dsn, std::string schema)
        : dsn_(std::move(dsn)), schema_(std::move(schema)) {}
    ~RestoredTables() {
        try {
            drop_store_tables(dsn_, schema_);
        } catch (const std::exception&) {
            // The verify's outcome stands; the next one refuses the non-empty database, naming it.
        }
    }
    RestoredTables(const RestoredTables&) = delete;
    RestoredTables& operator=(const RestoredTables&) = delete;

  private:
    std::string dsn_;
    std::string schema_;
};

// The dump restored into a scratch database (options.scratch_dsn, or exchanged_verify_<pid>_<time>
// created on the backup's server and dropped afterwards), then recovered and checked there.
std::optional<std::string> verify_postgres(const fs::path& backup_dir,
                                           const BackupManifest& manifest,
                                           const exchanged::Config& profile,
                                           const fs::path& wal_dir, const VerifyOptions& options,
                                           VerifiedMark& mark,
                                           const std::function<void(const std::string&)>& say) {
    std::optional<ScratchDatabase> database;
    std::string dsn = options.scratch_dsn;
    if (dsn.empty()) {
        if (profile.persistence.store_dsn.empty()) {
            return std::string(
                "the backup's profile has no [persistence] store_dsn to reach a "
                "server: pass --scratch-dsn");
        }
        database.emplace(profile.persistence.store_dsn);
        dsn = database->dsn();
    }
    say("scratch: restoring " + std::string(kPgDumpFileName) +
        " into postgresql:" + store::redact_dsn(dsn));
    restore_postgres_dump(backup_dir / kPgDumpFileName, dsn, manifest.store_schema,
                          manifest.store_lsn);
    std::optional<RestoredTables> cleanup;
    if (!database) {
        cleanup.emplace(dsn, manifest.store_schema);
    }
    store::PostgresStore store(dsn);
    store.migrate();
    return recover_and_check(store, wal_dir, profile, manifest, mark, say);
}

}  // namespace

void check_backup_files(const fs::path& backup_dir, const BackupManifest& manifest) {
    bool has_store = false;
    for (const BackupFile& file : manifest.files) {
        has_store = has_store || file.name == manifest.store_file();
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
        throw std::runtime_error(std::string(kManifestName) + ": lists no " +
                                 manifest.store_file());
    }
}

VerifyOutcome verify_backup(const fs::path& backup_dir,
                            const std::function<void(const std::string&)>& say) {
    return verify_backup(backup_dir, VerifyOptions{}, say);
}

VerifyOutcome verify_backup(const fs::path& backup_dir, const VerifyOptions& options,
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
        const fs::path wal_dir = scratch.path() / "data" / "wal";
        place_wal(backup_dir, manifest, wal_dir, false, ZeroRuns::Skip);
        std::optional<std::string> failure;
        if (manifest.backend == "postgresql") {
            failure =
                verify_postgres(backup_dir, manifest, profile, wal_dir, options, out.mark, say);
        } else {
            const fs::path store_path = scratch.path() / "data" / "exchanged.sqlite";
            place_sqlite_store(backup_dir, store_path);
            store::SqliteStore store(store_path);
            store.migrate();
            failure = recover_and_check(store, wal_dir, profile, manifest, out.mark, say);
        }
        if (failure) {
            return fail(*failure);
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
    const std::string target_kind(to_string(target.persistence.store));
    if (manifest.backend != target_kind) {
        throw std::runtime_error("the backup holds a " + manifest.backend +
                                 " store but the target profile " + target.source_path +
                                 " has [persistence] store = " + target_kind +
                                 ": pass --config with a profile of the backup's kind");
    }
    const fs::path& data_dir = target.server.data_dir;
    if (!missing_or_empty(data_dir) && !force) {
        throw std::runtime_error("the data directory " + data_dir.string() +
                                 " is not empty: restore into an empty one, or pass --force to "
                                 "replace its store (WAL segments there are kept)");
    }
    std::string store_line;
    if (manifest.backend == "postgresql") {
        // The database is never replaced, --force or not: the target must hold no store.
        restore_postgres_dump(backup_dir / kPgDumpFileName, target.persistence.store_dsn,
                              manifest.store_schema, manifest.store_lsn);
        store_line = "store to postgresql:" + store::redact_dsn(target.persistence.store_dsn) +
                     " (schema " + manifest.store_schema + ")";
    } else {
        const fs::path& store_path = target.persistence.store_path;
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
            std::error_code ignored;
            fs::remove(store_path.string() + suffix, ignored);
        }
        place_sqlite_store(backup_dir, store_path);
        store_line = "store to " + store_path.string();
    }
    const std::string wal_line =
        place_wal(backup_dir, manifest, target.persistence.wal_path, true, ZeroRuns::Write);
    if (say) {
        say("restored: " + store_line + " (LSN " + std::to_string(manifest.store_lsn) + "), " +
            wal_line);
    }
}

}  // namespace exchanged::tools
