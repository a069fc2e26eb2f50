// `exchangectl store verify` and `exchangectl reconcile` as processes: their last lines and exit
// codes on stores the test writes itself, and end to end against the real daemon: load with a
// journal, stop (cleanly, or with kill -9), `exchanged --recover`, and both must pass.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "cli_support.hpp"
#include "daemon_process.hpp"
#include "exchangectl_process.hpp"
#include "mini_exchange.hpp"
#include "minimal_config.hpp"
#include "temp_file.hpp"

using namespace exchanged;
using Catch::Matchers::Contains;
using test::ctl;
using test::last_line;

namespace {

std::vector<std::string> with(std::vector<std::string> args, const std::string& config,
                              const std::string& data_dir) {
    args.insert(args.end(), {"--config", config, "--data-dir", data_dir});
    return args;
}

// Both checks on the daemon's data directory must pass.
void require_store_checks_pass(const test::TempDir& dir, const std::string& config,
                               const std::string& journal) {
    const std::string data_dir = (dir.path() / "data").string();
    const std::size_t acknowledged = test::count_lines_starting(journal, "accepted ") +
                                     test::count_lines_starting(journal, "fill ");
    const test::CommandResult verify =
        ctl(dir, with({"store", "verify", "--journal", journal}, config, data_dir));
    INFO(verify.out << verify.err);
    CHECK(verify.exit_code == 0);
    CHECK_THAT(verify.out, Contains(std::to_string(acknowledged) + " passed, 0 failed\n"));
    CHECK(last_line(verify.out) == "verify-data: PASS");

    const test::CommandResult reconcile =
        ctl(dir, with({"reconcile", "--journal", journal}, config, data_dir));
    INFO(reconcile.out << reconcile.err);
    CHECK(reconcile.exit_code == 0);
    CHECK_THAT(reconcile.out, Contains("\nWAL replay: PASS (LSN 1.."));
    CHECK(last_line(reconcile.out) == "reconcile: PASS");
}

// Segments large enough that no run here fills one: the daemon recycles segments that reached the
// store, and reconcile replays the WAL only while it still starts at LSN 1.
std::string daemon_config(const test::TempDir& dir) {
    return dir.write("daemon.ini",
                     "[server]\nshard_queue_capacity = 65536\n"
                     "[persistence]\nwal_segment_bytes = 16777216\n"
                     "[engine]\nmax_orders = 262144\nclient_order_id_window = 262144\n"
                     "[instruments]\n" +
                         test::kAmznInstrument + test::kAaplInstrument + test::kAliceAndBob);
}

void recover(const test::TempDir& dir, const std::string& config, const std::string& name) {
    test::DaemonProcess recover(
        {"--config", config, "--data-dir", (dir.path() / "data").string(), "--recover"},
        dir.path() / name);
    const int exit_code = recover.wait();
    INFO(recover.output());
    REQUIRE(exit_code == 0);
    CHECK_THAT(recover.output(), Contains("exchanged: recover: ok"));
}

// A daemon on a fresh data directory, and where its profile and the load's journal are.
struct Served {
    test::TempDir dir;
    std::string config = daemon_config(dir);
    std::string journal = (dir.path() / "acks.journal").string();
    test::Daemon daemon = test::start_daemon(dir, config, "daemon.out");
};

}  // namespace

TEST_CASE("store verify and reconcile: PASS and FAIL lines, exit codes", "[tools][store]") {
    test::TempDir dir;
    test::MiniExchange x(dir);
    const test::Scenario s = test::trade_scenario(x);
    x.close_wal();
    const std::string data_dir = x.profile().server.data_dir.string();
    const std::string journal = dir.write("acks.journal", x.journal());

    SECTION("no store yet") {
        const test::CommandResult verify =
            ctl(dir, with({"store", "verify", "--journal", journal}, x.profile_path(), data_dir));
        CHECK(verify.exit_code == 1);
        CHECK(last_line(verify.out) == "verify-data: FAIL (no store at " + data_dir +
                                           "/exchanged.sqlite (profile " + x.profile_path() +
                                           "): has the daemon run on this data directory?)");
    }
    SECTION("a store that lacks the last order") {
        x.fill_store(s.before_b3);
        const test::CommandResult verify =
            ctl(dir, with({"store", "verify", "--journal", journal}, x.profile_path(), data_dir));
        INFO(verify.out << verify.err);
        CHECK(verify.exit_code == 1);
        CHECK_THAT(verify.out, Contains("FAIL line 11: order account=bob instrument=1 "
                                        "client_order_id=106 order_id=6: not in the store") &&
                                   Contains("\n9 passed, 1 failed\n"));
        CHECK(last_line(verify.out) == "verify-data: FAIL");

        const test::CommandResult reconcile =
            ctl(dir, with({"reconcile", "--journal", journal}, x.profile_path(), data_dir));
        INFO(reconcile.out << reconcile.err);
        CHECK(reconcile.exit_code == 1);
        CHECK_THAT(reconcile.out,
                   Contains("store vs replay: orders: FAIL (1 of 6 failed)\n"
                            "  - order 6 of shard 0: in the replay, not in the store\n"));
        CHECK(last_line(reconcile.out) == "reconcile: FAIL (1 of 11 checks failed)");
    }
    SECTION("a store with every event") {
        x.fill_store();
        const test::CommandResult verify =
            ctl(dir, with({"store", "verify", "--journal", journal}, x.profile_path(), data_dir));
        CHECK(verify.exit_code == 0);
        CHECK(last_line(verify.out) == "verify-data: PASS");
        const test::CommandResult reconcile =
            ctl(dir, with({"reconcile"}, x.profile_path(), data_dir));
        INFO(reconcile.out << reconcile.err);
        CHECK(reconcile.exit_code == 0);
        CHECK(last_line(reconcile.out) == "reconcile: PASS");
    }
    SECTION("usage errors exit 2") {
        CHECK(ctl(dir, {"store", "verify", "--config", x.profile_path()}).exit_code == 2);
        CHECK(ctl(dir, {"reconcile", "--config", x.profile_path(), "extra"}).exit_code == 2);
    }
}

TEST_CASE("store verify and reconcile pass after a clean stop and --recover",
          "[tools][store][daemon]") {
    Served s;
    const test::CommandResult load =
        ctl(s.dir, {"load", "--connect", s.daemon.address, "--orders", "20000", "--connections",
                    "2", "--journal", s.journal, "--json", "--config", s.config});
    INFO(load.out << load.err);
    REQUIRE(load.exit_code == 0);
    REQUIRE(s.daemon.process->stop() == 0);
    recover(s.dir, s.config, "recover.out");
    require_store_checks_pass(s.dir, s.config, s.journal);
}

TEST_CASE("store verify and reconcile pass after kill -9 under load and --recover",
          "[tools][store][daemon][crash]") {
    Served s;
    test::ExchangectlProcess load(
        {"load", "--connect", s.daemon.address, "--orders", "150000", "--connections", "2",
         "--rate", "50000", "--journal", s.journal, "--json", "--config", s.config},
        s.dir.path() / "load");
    // Once the journal has lines, orders are in flight; then a moment more.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (test::count_lines_starting(s.journal, "accepted ") == 0 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    s.daemon.process->signal(SIGKILL);
    CHECK(s.daemon.process->wait() == 128 + SIGKILL);
    INFO(load.out() << load.err());
    REQUIRE(load.wait(60) == 3);
    recover(s.dir, s.config, "recover.out");
    require_store_checks_pass(s.dir, s.config, s.journal);
}
