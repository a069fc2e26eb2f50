// Backups as the library takes them (tools/store/backup_*.hpp), on stores and WALs the tests
// write with MiniExchange: an offline backup restores and recovers to the state a replay of the
// whole WAL gives at its LSN; a flipped byte in any of its files is refused with the file named;
// a WAL that no longer reaches back to the snapshot is refused by create; prune's rules; restore
// refusing a data directory in use; `backup verify --latest`.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/recovery.hpp"
#include "mini_exchange.hpp"
#include "temp_file.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/store/backup_catalog.hpp"
#include "tools/store/backup_create.hpp"
#include "tools/store/backup_files.hpp"
#include "tools/store/backup_restore.hpp"
#include "wal/segment_format.hpp"

using namespace exchanged;
using namespace exchanged::tools;
namespace fs = std::filesystem;

namespace {

void quiet(const std::string&) {}

// The per-shard state hashes of a replay of the whole WAL from an empty store, up to `up_to`.
std::vector<std::uint64_t> replayed_hashes(const test::MiniExchange& x, wal::Lsn up_to) {
    engine::RecoveryOptions options;
    options.stop_after_lsn = up_to;
    const engine::RecoveryResult replay =
        engine::recover(x.profile().persistence.wal_path, x.layout(), options);
    REQUIRE(replay.ok());
    REQUIRE(replay.last_lsn == up_to);
    std::vector<std::uint64_t> hashes;
    for (const book::Matcher& matcher : replay.matchers) {
        hashes.push_back(matcher.state_hash());
    }
    return hashes;
}

// A MiniExchange that traded the scenario, its store behind the WAL by a few records, stopped.
struct Traded {
    test::TempDir dir;
    test::MiniExchange x{dir};
    wal::Lsn store_lsn = 0;

    Traded() {
        const test::Scenario s = test::trade_scenario(x);
        store_lsn = s.before_b2;
        x.fill_store(store_lsn);
        x.close_wal();
    }
    CreatedBackup backup(const fs::path& to) {
        CreateOptions options;
        options.to = to;
        options.say = quiet;
        return create_backup(x.profile(), options);
    }
};

void flip_byte(const fs::path& file, std::uint64_t offset) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(f);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ 0x20));
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("backup: offline create, verify and restore give the state a full WAL replay gives",
          "[tools][backup]") {
    Traded t;
    const CreatedBackup made = t.backup(t.dir.path() / "backups");
    CHECK(made.manifest.mode == "offline");
    CHECK(made.manifest.store_lsn == t.store_lsn);
    CHECK(made.manifest.wal_last_lsn == t.x.last_lsn());
    CHECK(made.manifest.last_lsn() == t.x.last_lsn());
    CHECK(made.dir.parent_path() == t.dir.path() / "backups");
    CHECK(contains(made.dir.filename().string(), "-" + std::to_string(t.store_lsn)));
    CHECK(fs::exists(made.dir / kManifestName));
    CHECK_FALSE(fs::exists(made.dir / kVerifiedName));

    const VerifyOutcome verified = verify_backup(made.dir, quiet);
    INFO(verified.failure);
    REQUIRE(verified.ok);
    CHECK(verified.mark.last_lsn == t.x.last_lsn());
    CHECK(verified.mark.state_hashes == replayed_hashes(t.x, t.x.last_lsn()));
    const auto mark = read_verified(made.dir);
    REQUIRE(mark);
    CHECK(mark->state_hashes == verified.mark.state_hashes);

    const std::vector<BackupEntry> listed = list_backups(t.dir.path() / "backups");
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].verified);
    CHECK(listed[0].manifest->store_lsn == t.store_lsn);

    // Restore into an empty data directory, as the profile lays it out.
    ConfigOverrides overrides;
    overrides.data_dir = (t.dir.path() / "restored").string();
    const exchanged::Config target = load_config((made.dir / kProfileFileName).string(), overrides);
    restore_backup(made.dir, target, false, quiet);
    CHECK(fs::exists(target.persistence.store_path));
    CHECK(fs::exists(target.persistence.wal_path /
                     wal::segment_file_name(made.manifest.wal_first_lsn)));
}

TEST_CASE("backup restore: a data directory that is not empty is refused unless --force",
          "[tools][backup]") {
    Traded t;
    const CreatedBackup made = t.backup(t.dir.path() / "backups");
    // The live data directory: refused, and left as it was.
    const auto before = fs::file_size(t.x.profile().persistence.store_path);
    try {
        restore_backup(made.dir, t.x.profile(), false, quiet);
        FAIL("restore wrote into a data directory in use");
    } catch (const std::runtime_error& error) {
        CHECK(contains(error.what(), "is not empty"));
        CHECK(contains(error.what(), t.x.profile().server.data_dir.string()));
    }
    CHECK(fs::file_size(t.x.profile().persistence.store_path) == before);
    // --force replaces the store and keeps the WAL segments there.
    restore_backup(made.dir, t.x.profile(), true, quiet);
    CHECK(fs::exists(t.x.profile().persistence.store_path));
}

TEST_CASE("backup verify: a flipped byte in any file of the backup is refused, naming the file",
          "[tools][backup]") {
    Traded t;
    const CreatedBackup made = t.backup(t.dir.path() / "backups");
    REQUIRE(verify_backup(made.dir, quiet).ok);  // the undamaged backup passes
    const std::string segment = "wal/" + wal::segment_file_name(made.manifest.wal_first_lsn);
    for (const std::string& name : {std::string(kStoreFileName), segment,
                                    std::string(kProfileFileName), std::string(kManifestName)}) {
        INFO(name);
        const fs::path copy = t.dir.path() / ("damaged-" + std::to_string(name.size()));
        fs::copy(made.dir, copy, fs::copy_options::recursive);
        fs::remove(copy / kVerifiedName);
        flip_byte(copy / name, fs::file_size(copy / name) / 3);
        const VerifyOutcome outcome = verify_backup(copy, quiet);
        CHECK_FALSE(outcome.ok);
        INFO(outcome.failure);
        CHECK(contains(outcome.failure, name));
        CHECK(contains(outcome.failure, "damaged"));
        CHECK_FALSE(fs::exists(copy / kVerifiedName));
        // restore checks the same before it copies anything.
        ConfigOverrides overrides;
        overrides.data_dir = (copy / "restore-target").string();
        const exchanged::Config target =
            load_config((made.dir / kProfileFileName).string(), overrides);
        CHECK_THROWS_WITH(restore_backup(copy, target, false, quiet),
                          Catch::Matchers::Contains(name));
        CHECK_FALSE(fs::exists(copy / "restore-target"));
    }
}

TEST_CASE(
    "backup manifest: a PostgreSQL backup's schema round-trips, an unknown store kind is "
    "refused",
    "[tools][backup]") {
    test::TempDir dir;
    BackupManifest m;
    m.created = "2026-12-04T16:20:00Z";
    m.backend = "postgresql";
    m.store_schema = "exchange";
    m.mode = "online";
    m.files.push_back(BackupFile{kPgDumpFileName, 10, 0x1234});
    fs::create_directories(dir.path() / "pg");
    write_file_durably(dir.path() / "pg" / kManifestName, to_json(m));
    const BackupManifest read = read_manifest(dir.path() / "pg");
    CHECK(read.store_schema == "exchange");
    CHECK(std::string(read.store_file()) == kPgDumpFileName);

    m.store_schema.clear();
    fs::create_directories(dir.path() / "no-schema");
    write_file_durably(dir.path() / "no-schema" / kManifestName, to_json(m));
    CHECK_THROWS_WITH(read_manifest(dir.path() / "no-schema"),
                      Catch::Matchers::Contains("without \"store_schema\""));
    m.backend = "mysql";
    fs::create_directories(dir.path() / "mysql");
    write_file_durably(dir.path() / "mysql" / kManifestName, to_json(m));
    CHECK_THROWS_WITH(read_manifest(dir.path() / "mysql"),
                      Catch::Matchers::Contains("store_backend \"mysql\" is neither"));
}

TEST_CASE("backup restore: a backup of the other store kind than the target profile's is refused",
          "[tools][backup]") {
    Traded t;
    const CreatedBackup made = t.backup(t.dir.path() / "backups");
    // The same files presented as a PostgreSQL backup (its dump where the SQLite file was).
    BackupManifest m = made.manifest;
    m.backend = "postgresql";
    m.store_schema = "exchange";
    for (BackupFile& file : m.files) {
        if (file.name == kStoreFileName) {
            file.name = kPgDumpFileName;
        }
    }
    fs::rename(made.dir / kStoreFileName, made.dir / kPgDumpFileName);
    fs::remove(made.dir / kManifestName);
    write_file_durably(made.dir / kManifestName, to_json(m));
    ConfigOverrides overrides;
    overrides.data_dir = (t.dir.path() / "restored").string();
    const exchanged::Config target = load_config((made.dir / kProfileFileName).string(), overrides);
    CHECK_THROWS_WITH(restore_backup(made.dir, target, false, quiet),
                      Catch::Matchers::Contains("the backup holds a postgresql store") &&
                          Catch::Matchers::Contains("store = sqlite"));
    CHECK_FALSE(fs::exists(t.dir.path() / "restored"));
}

TEST_CASE("backup create: a WAL that does not reach back to the snapshot is refused",
          "[tools][backup]") {
    // The segments to copy: from the newest one starting at or below store_lsn+1.
    const auto name = [](wal::Lsn first) { return wal::segment_file_name(first); };
    CHECK(wal_segments_to_copy({name(2000), name(1), name(1000), "wal-spare.tmp"}, 1500) ==
          std::vector<std::string>{name(1000), name(2000)});
    CHECK(wal_segments_to_copy({name(1), name(1001)}, 1000) ==
          std::vector<std::string>{name(1001)});
    CHECK(wal_segments_to_copy({}, 0).empty());
    CHECK_THROWS_WITH(wal_segments_to_copy({name(1600), name(2000)}, 1500),
                      Catch::Matchers::Contains("records 1501..1599 are missing"));
    CHECK_THROWS_WITH(wal_segments_to_copy({}, 7), Catch::Matchers::Contains("no WAL segment"));

    // The copy read back: it must start at or below store_lsn+1 and not end before store_lsn.
    wal::ScanResult scan;
    scan.segments.push_back(wal::SegmentInfo{name(10), 10, 0, 0, 5, 0});
    scan.records = 5;
    scan.first_lsn = 10;
    scan.last_lsn = 14;
    CHECK_NOTHROW(check_wal_covers(scan, 9));
    CHECK_NOTHROW(check_wal_covers(scan, 14));
    CHECK_THROWS_WITH(check_wal_covers(scan, 5),
                      Catch::Matchers::Contains("records 6..9 are missing"));
    CHECK_THROWS_WITH(check_wal_covers(scan, 20), Catch::Matchers::Contains("ends at LSN 14"));
    scan.end = wal::LogEnd::Corrupt;
    CHECK_THROWS_WITH(check_wal_covers(scan, 9), Catch::Matchers::Contains("not whole"));

    // End to end: the segment goes between the snapshot and the copy, as when a live daemon
    // releases it. Nothing that looks like a backup is left.
    Traded t;
    CreateOptions options;
    options.to = t.dir.path() / "backups";
    options.say = quiet;
    options.before_wal_copy = [&](std::uint64_t store_lsn) {
        CHECK(store_lsn == t.store_lsn);
        fs::remove(t.x.profile().persistence.wal_path / name(1));
    };
    CHECK_THROWS_WITH(create_backup(t.x.profile(), options),
                      Catch::Matchers::Contains("cannot be backed up"));
    CHECK(fs::is_empty(options.to));
}

TEST_CASE("backup files: a copy skipping zero runs has the same bytes and checksum, as holes",
          "[tools][backup]") {
    test::TempDir dir;
    std::string bytes(8 << 20, '\0');
    bytes.replace(1000, 5, "hello");  // records at the start of a preallocated segment
    const std::string source = dir.write("segment", bytes);
    const FileSum want = checksum_file(source);
    const FileSum sparse = copy_file_durably(source, dir.path() / "sparse", ZeroRuns::Skip);
    const FileSum dense = copy_file_durably(source, dir.path() / "dense");
    CHECK(sparse.bytes == want.bytes);
    CHECK(sparse.crc32c == want.crc32c);
    CHECK(dense.crc32c == want.crc32c);
    CHECK(checksum_file(dir.path() / "sparse").crc32c == want.crc32c);
    CHECK(fs::file_size(dir.path() / "sparse") == bytes.size());
    struct stat sparse_stat {};
    struct stat dense_stat {};
    REQUIRE(::stat((dir.path() / "sparse").c_str(), &sparse_stat) == 0);
    REQUIRE(::stat((dir.path() / "dense").c_str(), &dense_stat) == 0);
    CHECK(sparse_stat.st_blocks * 512 < 2 << 20);  // the 7 MiB of zeros after the first MiB
    CHECK(dense_stat.st_blocks * 512 >= static_cast<blkcnt_t>(bytes.size()));
    // An existing target is never overwritten.
    CHECK_THROWS(copy_file_durably(source, dir.path() / "dense"));
}

TEST_CASE("backup prune: older than the retention goes, never the newest, never the last verified",
          "[tools][backup]") {
    const std::int64_t day = 86400;
    const std::int64_t now = 100 * day;
    const auto entry = [](const char* name, std::int64_t created, bool verified) {
        BackupEntry e;
        e.dir = name;
        e.manifest = BackupManifest{};
        e.created_at = created;
        if (verified) {
            e.verified = VerifiedMark{};
        }
        return e;
    };
    const auto names = [](const std::vector<const BackupEntry*>& doomed) {
        std::vector<std::string> out;
        for (const BackupEntry* e : doomed) {
            out.push_back(e->dir.string());
        }
        return out;
    };
    // Two old verified, one old unverified, two recent: the newer old verified one stays only
    // while no recent backup is verified.
    std::vector<BackupEntry> backups{
        entry("old-v1", now - 20 * day, true), entry("old-v2", now - 10 * day, true),
        entry("old-u", now - 9 * day, false), entry("new-1", now - 2 * day, false),
        entry("new-2", now - day, false)};
    CHECK(names(plan_prune(backups, now, 7 * day)) == std::vector<std::string>{"old-v1", "old-u"});
    backups[3].verified = VerifiedMark{};
    CHECK(names(plan_prune(backups, now, 7 * day)) ==
          std::vector<std::string>{"old-v1", "old-v2", "old-u"});
    // All older than the retention: the newest stays, and the newest verified.
    std::vector<BackupEntry> stale{entry("a", now - 30 * day, true),
                                   entry("b", now - 20 * day, false),
                                   entry("c", now - 10 * day, false)};
    CHECK(names(plan_prune(stale, now, 7 * day)) == std::vector<std::string>{"b"});
    // An unreadable backup is never deleted.
    std::vector<BackupEntry> broken{entry("x", now - 30 * day, false), BackupEntry{},
                                    entry("y", now, false)};
    broken[1].dir = "broken";
    CHECK(names(plan_prune(broken, now, 7 * day)) == std::vector<std::string>{"x"});
}

TEST_CASE("backup verify --latest: verifies the newest backup only, and fails on none",
          "[tools][backup]") {
    Traded t;
    const fs::path to = t.dir.path() / "backups";
    const CreatedBackup older = t.backup(to);
    const CreatedBackup newer = t.backup(to);
    REQUIRE(older.dir != newer.dir);
    const auto verify_latest = [](const fs::path& in) {
        std::string a0 = "exchangectl", a1 = "backup", a2 = "verify", a3 = "--latest",
                    a4 = in.string();
        char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data()};
        return backup_verify_main(5, argv, 3);
    };
    CHECK(verify_latest(to) == 0);
    CHECK(fs::exists(newer.dir / kVerifiedName));
    CHECK_FALSE(fs::exists(older.dir / kVerifiedName));
    // The newest is then also the newest verified one: prune keeps it whatever its age.
    const std::vector<BackupEntry> listed = list_backups(to);
    REQUIRE(newest_backup(listed) != nullptr);
    CHECK(newest_backup(listed)->dir == newer.dir);
    CHECK(newest_backup(listed)->verified);

    const fs::path empty = t.dir.path() / "no-backups";
    fs::create_directories(empty);
    CHECK(verify_latest(empty) == 1);
}

TEST_CASE("backup prune: unfinished directories a crashed create left go after a day",
          "[tools][backup]") {
    test::TempDir dir;
    fs::create_directories(dir.path() / ".partial-old" / "wal");
    fs::create_directories(dir.path() / ".partial-new");
    fs::create_directories(dir.path() / "20261204T000000Z-5");
    fs::last_write_time(dir.path() / ".partial-old",
                        fs::file_time_type::clock::now() - std::chrono::hours(25));
    CHECK(stale_partials(dir.path(), 86400) == std::vector<fs::path>{dir.path() / ".partial-old"});
    // Unfinished directories are never listed as backups.
    const std::vector<BackupEntry> listed = list_backups(dir.path());
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].dir.filename() == "20261204T000000Z-5");
    CHECK_FALSE(listed[0].manifest);  // no manifest: unreadable, shown as such, never pruned
}
