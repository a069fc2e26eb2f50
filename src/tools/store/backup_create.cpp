#include "tools/store/backup_create.hpp"

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

// Boost 1.74's JSON parser pulls in boost/bind.hpp, which otherwise prints a deprecation note.
#define BOOST_BIND_GLOBAL_PLACEHOLDERS
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include "store/postgres_dsn.hpp"
#include "store/sqlite_store.hpp"
#include "tools/store/admin_post.hpp"
#include "tools/store/backup_files.hpp"
#include "tools/store/backup_postgres.hpp"
#include "wal/segment_format.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::tools {
namespace {

namespace fs = std::filesystem;

void say(const CreateOptions& options, const std::string& line) {
    if (options.say) {
        options.say(line);
    }
}

struct Snapshot {
    std::uint64_t store_lsn = 0;
    std::string mode;  // "online" or "offline"
};

bool in_use(const store::StoreError& error) {
    return std::string_view(error.what()).find("in use by another process") !=
           std::string_view::npos;
}

// The daemon's answer to POST /backup: the staging file is moved into the backup, and removed.
Snapshot online_snapshot(const exchanged::Config& profile, const fs::path& target,
                         const CreateOptions& options) {
    const exchanged::Endpoint& admin = profile.server.admin_listen;
    if (admin.port == 0) {
        throw std::runtime_error(
            "the daemon holds the store, and the profile " + profile.source_path +
            " has no [server] admin_listen to ask it for a snapshot: set admin_listen, or stop "
            "the daemon for an offline backup");
    }
    say(options, "store: in use by the daemon; asking it for a snapshot (POST /backup on " +
                     admin.host + ":" + std::to_string(admin.port) + ")");
    AdminAnswer answer;
    try {
        answer = admin_post(admin.host, admin.port, "/backup", options.snapshot_timeout);
    } catch (const std::runtime_error& error) {
        throw std::runtime_error(std::string(error.what()) +
                                 " (a process holds the store but its admin endpoint did not "
                                 "answer: a daemon still recovering answers once it is ready)");
    }
    namespace pt = boost::property_tree;
    pt::ptree tree;
    std::istringstream body(answer.body);
    try {
        pt::read_json(body, tree);
    } catch (const pt::json_parser_error&) {
        throw std::runtime_error("POST /backup answered " + std::to_string(answer.status) +
                                 " with: " + answer.body);
    }
    if (answer.status != 200) {
        throw std::runtime_error("the daemon refused the snapshot (HTTP " +
                                 std::to_string(answer.status) +
                                 "): " + tree.get<std::string>("error", answer.body));
    }
    const fs::path staged = tree.get<std::string>("path", "");
    const auto lsn = tree.get_optional<std::uint64_t>("store_lsn");
    if (staged.empty() || !lsn) {
        throw std::runtime_error("POST /backup answered without path or store_lsn: " + answer.body);
    }
    // The file is deleted once copied: only ever one in the daemon's staging directory, whatever
    // answers on the admin port.
    const fs::path staging_dir = profile.server.data_dir / "backup-staging";
    std::error_code canonical_error;
    if (fs::weakly_canonical(staged.parent_path(), canonical_error) !=
            fs::weakly_canonical(staging_dir, canonical_error) ||
        staged.filename().string().rfind("store-", 0) != 0) {
        throw std::runtime_error("POST /backup named " + staged.string() + ", not a file in " +
                                 staging_dir.string() +
                                 ": is --config/--data-dir the running daemon's?");
    }
    try {
        copy_file_durably(staged, target);
    } catch (...) {
        std::error_code ignored;
        fs::remove(staged, ignored);
        throw;
    }
    fs::remove(staged);
    return Snapshot{*lsn, "online"};
}

Snapshot take_snapshot(const exchanged::Config& profile, const fs::path& target,
                       const CreateOptions& options) {
    const fs::path& store_path = profile.persistence.store_path;
    if (!fs::exists(store_path)) {
        throw std::runtime_error("no store at " + store_path.string() + " (profile " +
                                 profile.source_path + "): has the daemon run here?");
    }
    std::optional<store::SqliteStore> offline;
    try {
        store::SqliteStoreOptions open;
        open.busy_timeout = std::chrono::milliseconds(0);
        offline.emplace(store_path, open);
    } catch (const store::StoreError& error) {
        if (!in_use(error)) {
            throw;
        }
    }
    if (!offline) {
        return online_snapshot(profile, target, options);
    }
    say(options, "store: not in use; copying it offline from " + store_path.string());
    const std::uint64_t lsn = offline->snapshot_into(target);
    fsync_path(target);
    return Snapshot{lsn, "offline"};
}

std::vector<std::string> list_segment_names(const fs::path& wal_dir) {
    std::vector<std::string> names;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(wal_dir, error)) {
        names.push_back(entry.path().filename().string());
    }
    if (error) {
        throw std::runtime_error("cannot list the WAL directory " + wal_dir.string() + ": " +
                                 error.message());
    }
    return names;
}

std::string gap_message(std::uint64_t store_lsn, wal::Lsn starts_at) {
    return "the WAL starts at LSN " + std::to_string(starts_at) +
           " but the store snapshot holds LSNs only up to " + std::to_string(store_lsn) +
           ": records " + std::to_string(store_lsn + 1) + ".." + std::to_string(starts_at - 1) +
           " are missing (the daemon released their segment once its store passed them); no "
           "backup was written, run it again";
}

// Copies the segments that hold store_lsn+1 onwards; returns the files for the manifest.
std::vector<BackupFile> copy_wal(const fs::path& wal_dir, std::uint64_t store_lsn,
                                 const fs::path& to) {
    const std::vector<std::string> names =
        wal_segments_to_copy(list_segment_names(wal_dir), store_lsn);
    if (names.empty()) {
        return {};
    }
    fs::create_directories(to);
    std::vector<BackupFile> files;
    for (const std::string& name : names) {
        FileSum sum;
        try {
            sum = copy_file_durably(wal_dir / name, to / name, ZeroRuns::Skip);
        } catch (const std::system_error& error) {
            if (error.code() == std::errc::no_such_file_or_directory) {
                throw std::runtime_error("WAL segment " + name +
                                         " was released while the backup copied the log (the "
                                         "store passed it): no backup was written, run it again");
            }
            throw;
        }
        files.push_back(BackupFile{std::string(kWalDirName) + "/" + name, sum.bytes, sum.crc32c});
    }
    fsync_path(to);
    return files;
}

std::string backend_name(StoreKind kind) {
    return kind == StoreKind::Sqlite ? "sqlite" : "postgresql";
}

// <to>/<time>-<lsn>, with -2, -3 ... when a backup of the same second and LSN exists.
fs::path final_name(const fs::path& to, const std::string& created, std::uint64_t lsn) {
    const std::string base = utc_compact(created) + "-" + std::to_string(lsn);
    fs::path name = to / base;
    for (int n = 2; fs::exists(name); ++n) {
        name = to / (base + "-" + std::to_string(n));
    }
    return name;
}

// Removes the unfinished directory unless release() was called.
class PartialDir {
  public:
    explicit PartialDir(fs::path path) : path_(std::move(path)) { fs::create_directories(path_); }
    ~PartialDir() {
        if (!released_) {
            std::error_code ignored;
            fs::remove_all(path_, ignored);
        }
    }
    PartialDir(const PartialDir&) = delete;
    PartialDir& operator=(const PartialDir&) = delete;
    const fs::path& path() const { return path_; }
    void release() { released_ = true; }

  private:
    fs::path path_;
    bool released_ = false;
};

}  // namespace

std::vector<std::string> wal_segments_to_copy(const std::vector<std::string>& names,
                                              std::uint64_t store_lsn) {
    std::vector<std::pair<wal::Lsn, std::string>> segments;
    for (const std::string& name : names) {
        if (const auto first = wal::parse_segment_file_name(name)) {
            segments.emplace_back(*first, name);
        }
    }
    std::sort(segments.begin(), segments.end());
    // The newest segment starting at or below store_lsn+1 holds the first record needed.
    std::size_t from = segments.size();
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (segments[i].first <= store_lsn + 1) {
            from = i;
        }
    }
    if (from == segments.size()) {
        if (segments.empty() && store_lsn == 0) {
            return {};
        }
        if (segments.empty()) {
            throw std::runtime_error("no WAL segment: the records above the store's LSN " +
                                     std::to_string(store_lsn) +
                                     " cannot be backed up; no backup was written");
        }
        throw std::runtime_error(gap_message(store_lsn, segments.front().first));
    }
    std::vector<std::string> out;
    for (std::size_t i = from; i < segments.size(); ++i) {
        out.push_back(segments[i].second);
    }
    return out;
}

void check_wal_covers(const wal::ScanResult& scan, std::uint64_t store_lsn) {
    if (scan.end == wal::LogEnd::Corrupt) {
        throw std::runtime_error("the WAL copied is not whole: " + scan.describe() +
                                 "; no backup was written, run it again");
    }
    const wal::Lsn starts_at = scan.segments.empty() ? 0 : scan.segments.front().first_lsn;
    if (starts_at > store_lsn + 1) {
        throw std::runtime_error(gap_message(store_lsn, starts_at));
    }
    if (scan.records > 0 && scan.last_lsn < store_lsn) {
        throw std::runtime_error("the WAL copied ends at LSN " + std::to_string(scan.last_lsn) +
                                 ", before the store snapshot's LSN " + std::to_string(store_lsn) +
                                 ": the WAL directory does not belong to this store");
    }
}

namespace {

// The segments from store_lsn+1 into <backup>/wal, read back and checked whole; returns their
// entries for the manifest and sets its WAL LSNs.
std::vector<BackupFile> copy_checked_wal(const exchanged::Config& profile, std::uint64_t store_lsn,
                                         const fs::path& backup, BackupManifest& manifest,
                                         const CreateOptions& options) {
    if (options.before_wal_copy) {
        options.before_wal_copy(store_lsn);
    }
    if (!profile.persistence.enable_wal) {
        return {};
    }
    const fs::path wal_copy = backup / kWalDirName;
    std::vector<BackupFile> files = copy_wal(profile.persistence.wal_path, store_lsn, wal_copy);
    if (fs::exists(wal_copy)) {
        wal::UringStorage storage(wal_copy.string());
        const wal::ScanResult scan = wal::scan_log(storage, {}, [](const wal::RecordView&) {});
        check_wal_covers(scan, store_lsn);
        manifest.wal_first_lsn = scan.records > 0 ? scan.first_lsn : 0;
        manifest.wal_last_lsn = scan.records > 0 ? scan.last_lsn : 0;
        say(options, "wal: " + std::to_string(files.size()) + " segment(s) copied, LSN " +
                         std::to_string(manifest.wal_first_lsn) + ".." +
                         std::to_string(manifest.wal_last_lsn) + " (" + wal::to_string(scan.end) +
                         ")");
    }
    return files;
}

// pg_dump inside a snapshot. The WAL is copied as soon as the snapshot's store_lsn is known,
// before the dump: however long the dump takes, the daemon (whose store moves on meanwhile)
// cannot have released a segment the backup needs.
void postgres_backup(const exchanged::Config& profile, const fs::path& backup,
                     BackupManifest& manifest, const CreateOptions& options) {
    say(options, "store: PostgreSQL " + store::redact_dsn(profile.persistence.store_dsn) +
                     "; pg_dump in a snapshot");
    std::vector<BackupFile> wal_files;
    const PgDump dump = dump_postgres_store(
        profile.persistence.store_dsn, backup / kPgDumpFileName, [&](std::uint64_t store_lsn) {
            say(options, "store: snapshot at LSN " + std::to_string(store_lsn));
            wal_files = copy_checked_wal(profile, store_lsn, backup, manifest, options);
        });
    fsync_path(backup / kPgDumpFileName);
    manifest.mode = "online";
    manifest.store_lsn = dump.store_lsn;
    manifest.store_schema = dump.schema;
    const FileSum sum = checksum_file(backup / kPgDumpFileName);
    manifest.files.push_back(BackupFile{kPgDumpFileName, sum.bytes, sum.crc32c});
    say(options,
        "store: dump of schema " + dump.schema + ", " + std::to_string(sum.bytes) + " bytes");
    for (BackupFile& file : wal_files) {
        manifest.files.push_back(std::move(file));
    }
}

void sqlite_backup(const exchanged::Config& profile, const fs::path& backup,
                   BackupManifest& manifest, const CreateOptions& options) {
    const Snapshot snapshot = take_snapshot(profile, backup / kStoreFileName, options);
    manifest.mode = snapshot.mode;
    manifest.store_lsn = snapshot.store_lsn;
    const FileSum store_sum = checksum_file(backup / kStoreFileName);
    manifest.files.push_back(BackupFile{kStoreFileName, store_sum.bytes, store_sum.crc32c});
    say(options, "store: snapshot at LSN " + std::to_string(snapshot.store_lsn) + ", " +
                     std::to_string(store_sum.bytes) + " bytes");
    for (BackupFile& file :
         copy_checked_wal(profile, snapshot.store_lsn, backup, manifest, options)) {
        manifest.files.push_back(std::move(file));
    }
}

}  // namespace

CreatedBackup create_backup(const exchanged::Config& profile, const CreateOptions& options) {
    fs::create_directories(options.to);
    BackupManifest manifest;
    manifest.created = utc_now_iso();
    manifest.profile = profile.profile;
    manifest.config = fs::absolute(profile.source_path).string();
    manifest.backend = backend_name(profile.persistence.store);
    // A dot name: `backup list` and prune skip it, and a crash leaves nothing that looks whole.
    PartialDir partial(options.to / (".partial-" + utc_compact(manifest.created) + "-" +
                                     std::to_string(::getpid())));
    if (profile.persistence.store == StoreKind::Postgresql) {
        postgres_backup(profile, partial.path(), manifest, options);
    } else {
        sqlite_backup(profile, partial.path(), manifest, options);
    }

    const FileSum profile_sum =
        copy_file_durably(profile.source_path, partial.path() / kProfileFileName);
    manifest.files.push_back(BackupFile{kProfileFileName, profile_sum.bytes, profile_sum.crc32c});
    write_file_durably(partial.path() / kManifestName, to_json(manifest));
    fsync_path(partial.path());

    const fs::path final_dir = final_name(options.to, manifest.created, manifest.store_lsn);
    fs::rename(partial.path(), final_dir);
    partial.release();
    fsync_path(options.to);
    return CreatedBackup{final_dir, std::move(manifest)};
}

}  // namespace exchanged::tools
