// `exchangectl backup` against the built daemon: a backup taken online while `exchangectl load`
// runs, verified (restore into scratch, recovery, checks), gives exactly the state hash a replay
// of the daemon's WAL from an empty store gives at the backup's last LSN; the commands' exit
// codes and last lines on a damaged backup and a data directory in use.
// The load and the replay check are backup_under_load.hpp's.
#include <catch2/catch.hpp>

#include <chrono>
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
#include "temp_file.hpp"
#include "tools/store/backup_catalog.hpp"
#include "tools/store/backup_manifest.hpp"

using namespace exchanged;
namespace fs = std::filesystem;

namespace {

std::string write_config(const test::TempDir& dir, std::uint16_t admin_port) {
    // Default (64 MiB) segments: the whole run stays in the first one, so the WAL still reaches
    // back to LSN 1 for the replay the backup is compared with.
    return dir.write("backup.ini",
                     "[server]\nadmin_listen = 127.0.0.1:" + std::to_string(admin_port) +
                         "\nshard_queue_capacity = 65536\n"
                         "[engine]\nmax_orders = 1048576\n"
                         "client_order_id_window = 1048576\n[instruments]\n" +
                         test::kAmznInstrument + test::kAaplInstrument + test::kAliceAndBob);
}

}  // namespace

TEST_CASE("backup under load: verified, it recovers to the state a WAL replay gives at its LSN",
          "[tools][backup][daemon]") {
    test::TempDir dir;
    const std::string config = write_config(dir, test::free_port());
    const std::string data_dir = (dir.path() / "data").string();
    const std::string journal = (dir.path() / "acks.journal").string();
    const fs::path backups = dir.path() / "backups";
    test::Daemon daemon = test::start_daemon(dir, config, "daemon.out");

    const auto load = test::start_backup_load(dir, daemon.address, journal, config);
    // The journal is written about once a second: once it has lines, orders are flowing.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (test::count_lines_starting(journal, "accepted ") == 0 &&
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
    CHECK(manifest.mode == "online");
    CHECK(manifest.store_lsn > 0);
    CHECK(manifest.wal_first_lsn <= manifest.store_lsn + 1);

    const test::CommandResult verified =
        test::ctl(dir, {"backup", "verify", listed[0].dir.string()});
    INFO(verified.out << verified.err);
    REQUIRE(verified.exit_code == 0);
    CHECK(test::last_line(verified.out).rfind("backup verify: PASS", 0) == 0);
    test::check_backup_matches_wal_replay(config, data_dir, verified.out, manifest);

    const test::CommandResult list = test::ctl(dir, {"backup", "list", "--in", backups.string()});
    CHECK(list.exit_code == 0);
    CHECK(list.out.find("  yes (") != std::string::npos);

    // A damaged copy: exit 1, the file named on the last line.
    const fs::path damaged = dir.path() / "damaged";
    fs::copy(listed[0].dir, damaged, fs::copy_options::recursive);
    {
        std::fstream f(damaged / tools::kStoreFileName,
                       std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(4096 + 100);
        f.put('\x5a');
    }
    const test::CommandResult refused = test::ctl(dir, {"backup", "verify", damaged.string()});
    INFO(refused.out);
    CHECK(refused.exit_code == 1);
    CHECK(test::last_line(refused.out).rfind("backup verify: FAIL (store.sqlite: damaged", 0) == 0);

    // restore: the daemon's data directory is refused; an empty one recovers.
    const test::CommandResult in_use =
        test::ctl(dir, {"backup", "restore", listed[0].dir.string(), "--data-dir", data_dir});
    CHECK(in_use.exit_code == 1);
    CHECK(test::last_line(in_use.out).find("is not empty") != std::string::npos);
    const std::string restored = (dir.path() / "restored").string();
    const test::CommandResult restore =
        test::ctl(dir, {"backup", "restore", listed[0].dir.string(), "--data-dir", restored});
    INFO(restore.out << restore.err);
    REQUIRE(restore.exit_code == 0);
    test::DaemonProcess recover({"--config", config, "--data-dir", restored, "--recover"},
                                dir.path() / "recover.out");
    CHECK(recover.wait() == 0);
    INFO(recover.output());
    CHECK(recover.output().find("exchanged: recover: ok") != std::string::npos);
}
