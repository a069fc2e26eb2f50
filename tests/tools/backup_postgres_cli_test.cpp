// `exchangectl backup` of a PostgreSQL store against the built daemon (docs/operations.md
// "Backups"): a backup taken while `exchangectl load` runs, verified in a scratch database,
// gives exactly the state hash a replay of the daemon's WAL from an empty store gives at the
// backup's last LSN; a flipped byte in the dump or a WAL segment is refused with the file named;
// a restore into a database that holds a store is refused naming a table of it, and into an
// empty one recovers.
//
// Needs EXCHANGED_TEST_POSTGRES_DSN (scripts/test.sh starts a throw-away server with
// scripts/pg-test-cluster.sh); without it the test says why and passes without running. The
// store lives in a schema of its own, the restore target in a database of its own, both dropped
// at the end.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "backup_under_load.hpp"
#include "cli_support.hpp"
#include "daemon_process.hpp"
#include "exchangectl_process.hpp"
#include "minimal_config.hpp"
#include "store/postgres_connection.hpp"
#include "store/postgres_dsn.hpp"
#include "temp_file.hpp"
#include "tools/store/backup_catalog.hpp"
#include "tools/store/backup_manifest.hpp"

using namespace exchanged;
namespace fs = std::filesystem;

namespace {

// A schema for the daemon's store and a database to restore into, on the test server.
class PgPlace {
  public:
    explicit PgPlace(const std::string& base_dsn)
        : base_(base_dsn),
          schema_("exchanged_backup_" + std::to_string(::getpid())),
          target_db_("exchanged_backup_target_" + std::to_string(::getpid())),
          admin_(base_dsn, "test admin connection") {
        drop();
        admin_.exec("CREATE SCHEMA " + schema_, "create schema");
        admin_.exec("CREATE DATABASE " + target_db_, "create database");
    }
    ~PgPlace() {
        try {
            admin_.ensure_connected();
            drop();
        } catch (const store::StoreError& error) {
            WARN("could not drop the test schema or database: " << error.what());
        }
    }
    PgPlace(const PgPlace&) = delete;
    PgPlace& operator=(const PgPlace&) = delete;

    // The daemon's store: the schema first on the search_path.
    std::string store_dsn() const { return on_schema(base_); }
    // The empty database a restore goes into, with the same search_path.
    std::string target_dsn() const {
        return on_schema(store::dsn_with_option(base_, "dbname", target_db_));
    }
    const std::string& schema() const { return schema_; }
    store::PgConnection& admin() { return admin_; }

  private:
    std::string on_schema(const std::string& dsn) const {
        return store::dsn_with_option(dsn, "options", "-csearch_path=" + schema_);
    }
    void drop() {
        admin_.exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE", "drop schema");
        admin_.exec("DROP DATABASE IF EXISTS " + target_db_ + " WITH (FORCE)", "drop database");
    }

    std::string base_;
    std::string schema_;
    std::string target_db_;
    store::PgConnection admin_;
};

std::string write_config(const test::TempDir& dir, const std::string& name,
                         const std::string& dsn) {
    // Default (64 MiB) segments: the whole run stays in the first one, so the WAL still reaches
    // back to LSN 1 for the replay the backup is compared with.
    return dir.write(name,
                     "[server]\nshard_queue_capacity = 65536\n"
                     "[persistence]\nstore = postgresql\nstore_dsn = " +
                         dsn +
                         "\n[engine]\nmax_orders = 1048576\n"
                         "client_order_id_window = 1048576\n[instruments]\n" +
                         test::kAmznInstrument + test::kAaplInstrument + test::kAliceAndBob);
}

std::uint64_t store_lsn_of(store::PgConnection& c, const std::string& schema) {
    const store::PgResult result =
        c.query("SELECT store_lsn FROM " + schema + ".meta WHERE id = 0", "read store_lsn");
    return result.rows() == 1 ? result.u64(0, 0) : 0;
}

// A copy of the backup with one byte of `file` flipped.
fs::path damaged_copy(const test::TempDir& dir, const fs::path& backup, const std::string& file,
                      std::streamoff offset) {
    const fs::path copy = dir.path() / ("damaged-" + fs::path(file).filename().string());
    fs::copy(backup, copy, fs::copy_options::recursive);
    std::fstream f(copy / file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(offset);
    const char was = static_cast<char>(f.get());
    f.seekp(offset);
    f.put(static_cast<char>(was ^ 0x5a));
    return copy;
}

std::vector<std::string> verify_databases(store::PgConnection& c) {
    const store::PgResult result =
        c.query("SELECT datname FROM pg_database WHERE datname LIKE 'exchanged_verify_%'", "list");
    std::vector<std::string> names;
    for (int row = 0; row < result.rows(); ++row) {
        names.push_back(result.text(row, 0));
    }
    return names;
}

}  // namespace

TEST_CASE(
    "backup of a PostgreSQL store under load: verified, it recovers to the state a WAL "
    "replay gives at its LSN",
    "[tools][backup][daemon][postgresql]") {
    const char* dsn = std::getenv("EXCHANGED_TEST_POSTGRES_DSN");
    const std::string base = dsn != nullptr ? dsn : "";
    if (base.empty()) {
        WARN(
            "test skipped: EXCHANGED_TEST_POSTGRES_DSN is not set (scripts/test.sh starts a "
            "throw-away server with scripts/pg-test-cluster.sh and sets it)");
        return;
    }
    PgPlace pg(base);
    test::TempDir dir;
    const std::string config = write_config(dir, "backup.ini", pg.store_dsn());
    const std::string data_dir = (dir.path() / "data").string();
    const std::string journal = (dir.path() / "acks.journal").string();
    const fs::path backups = dir.path() / "backups";
    test::Daemon daemon = test::start_daemon(dir, config, "daemon.out");

    const auto load = test::start_backup_load(dir, daemon.address, journal, config);
    // Orders are flowing once the flush worker has moved the store: the dump then holds rows.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (store_lsn_of(pg.admin(), pg.schema()) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const test::CommandResult created = test::ctl(
        dir,
        {"backup", "create", "--to", backups.string(), "--config", config, "--data-dir", data_dir});
    INFO(created.out << created.err);
    REQUIRE(created.exit_code == 0);
    CHECK(created.out.find("(online, store LSN") != std::string::npos);
    const int load_exit = load->wait(120);
    INFO(load->out() << load->err());
    REQUIRE(load_exit == 0);
    test::check_load_rate(load->out());
    REQUIRE(daemon.process->stop() == 0);

    const std::vector<tools::BackupEntry> listed = tools::list_backups(backups);
    REQUIRE(listed.size() == 1);
    REQUIRE(listed[0].manifest);
    const tools::BackupManifest& manifest = *listed[0].manifest;
    const fs::path backup = listed[0].dir;
    CHECK(manifest.backend == "postgresql");
    CHECK(manifest.store_schema == pg.schema());
    CHECK(manifest.store_lsn > 0);
    CHECK(manifest.wal_first_lsn <= manifest.store_lsn + 1);
    CHECK(fs::exists(backup / tools::kPgDumpFileName));
    CHECK_FALSE(fs::exists(backup / tools::kStoreFileName));

    const test::CommandResult verified = test::ctl(dir, {"backup", "verify", backup.string()});
    INFO(verified.out << verified.err);
    REQUIRE(verified.exit_code == 0);
    CHECK(test::last_line(verified.out).rfind("backup verify: PASS", 0) == 0);
    test::check_backup_matches_wal_replay(config, data_dir, verified.out, manifest);
    CHECK(verified.out.find("scratch: restoring store.pgdump into postgresql:") !=
          std::string::npos);
    CHECK(verify_databases(pg.admin()).empty());  // the scratch database is gone again

    // Damage: the dump and a WAL segment each refused with the file named, before any restore.
    const fs::path bad_dump = damaged_copy(
        dir, backup, tools::kPgDumpFileName,
        static_cast<std::streamoff>(fs::file_size(backup / tools::kPgDumpFileName) / 2));
    const test::CommandResult dump_refused =
        test::ctl(dir, {"backup", "verify", bad_dump.string()});
    INFO(dump_refused.out);
    CHECK(dump_refused.exit_code == 1);
    CHECK(
        test::last_line(dump_refused.out).rfind("backup verify: FAIL (store.pgdump: damaged", 0) ==
        0);
    std::string segment;
    for (const tools::BackupFile& file : manifest.files) {
        if (file.name.rfind("wal/", 0) == 0) {
            segment = file.name;
        }
    }
    REQUIRE_FALSE(segment.empty());
    const fs::path bad_wal = damaged_copy(dir, backup, segment, 300);
    const test::CommandResult wal_refused = test::ctl(dir, {"backup", "verify", bad_wal.string()});
    INFO(wal_refused.out);
    CHECK(wal_refused.exit_code == 1);
    CHECK(test::last_line(wal_refused.out)
              .rfind("backup verify: FAIL (" + segment + ": damaged", 0) == 0);

    // Restore into the daemon's own database: refused, a table of its store named.
    const std::string restored = (dir.path() / "restored").string();
    const test::CommandResult onto_source =
        test::ctl(dir, {"backup", "restore", backup.string(), "--data-dir", restored});
    INFO(onto_source.out);
    CHECK(onto_source.exit_code == 1);
    CHECK(test::last_line(onto_source.out)
              .find("is not empty: it holds the table " + pg.schema() + ".") != std::string::npos);
    CHECK_FALSE(fs::exists(restored));

    // verify into a scratch database the operator names: it passes, and is left empty.
    const test::CommandResult into_target =
        test::ctl(dir, {"backup", "verify", backup.string(), "--scratch-dsn", pg.target_dsn()});
    INFO(into_target.out << into_target.err);
    CHECK(into_target.exit_code == 0);
    store::PgConnection target(pg.target_dsn(), "restore target");
    CHECK(target
              .query("SELECT count(*) FROM pg_tables WHERE schemaname = '" + pg.schema() + "'",
                     "count tables")
              .i64(0, 0) == 0);

    // Restore into the empty database: the store at the backup's LSN, and the daemon recovers.
    const test::CommandResult restore = test::ctl(
        dir,
        {"backup", "restore", backup.string(), "--data-dir", restored, "--dsn", pg.target_dsn()});
    INFO(restore.out << restore.err);
    REQUIRE(restore.exit_code == 0);
    CHECK(store_lsn_of(target, pg.schema()) == manifest.store_lsn);
    const std::string target_config = write_config(dir, "target.ini", pg.target_dsn());
    test::DaemonProcess recover({"--config", target_config, "--data-dir", restored, "--recover"},
                                dir.path() / "recover.out");
    CHECK(recover.wait() == 0);
    INFO(recover.output());
    CHECK(recover.output().find("exchanged: recover: ok") != std::string::npos);
    // A second restore finds the store there now.
    const test::CommandResult again =
        test::ctl(dir, {"backup", "restore", backup.string(), "--data-dir",
                        (dir.path() / "again").string(), "--dsn", pg.target_dsn()});
    CHECK(again.exit_code == 1);
    CHECK(test::last_line(again.out).find("it holds the table " + pg.schema() + ".") !=
          std::string::npos);
}
