// The daemon's central promise, proven with real processes: drive it with `exchangectl load`
// (journal on), SIGKILL it at a random moment while orders are in flight, run `exchanged
// --recover`, restart it, and have `exchangectl verify` check every acknowledged order and fill in
// the journal against the daemon. Several cycles on one data directory and one journal, so that a
// trade id or order id reused after a lost record would show up as a conflict in the journal.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli_support.hpp"
#include "daemon_process.hpp"
#include "exchangectl_process.hpp"
#include "minimal_config.hpp"
#include "temp_file.hpp"

using namespace exchanged;

namespace {

constexpr int kCycles = 3;
// Three seconds of orders at the rate: more than a cycle sends before its kill, so the load is
// always cut off mid-stream.
constexpr const char* kOrdersPerCycle = "150000";
constexpr const char* kRate = "50000";

std::string write_config(const test::TempDir& dir) {
    // Small segments, so that cycles rotate and recover across several of them; windows large
    // enough that verify can ask about every order the cycles send.
    return dir.write("kill.ini",
                     "[server]\nshard_queue_capacity = 65536\n"
                     "[persistence]\nwal_segment_bytes = 1048576\n"
                     "[engine]\nmax_orders = 1048576\nclient_order_id_window = 1048576\n"
                     "[instruments]\n" +
                         test::kAmznInstrument + test::kAaplInstrument + test::kAliceAndBob);
}

void verify_journal(const test::TempDir& dir, const std::string& address, const std::string& config,
                    const std::string& journal) {
    // One check per accepted order, covering its fills: the daemon keeps no trades of its own.
    const std::size_t acknowledged = test::count_lines_starting(journal, "accepted ");
    const test::CommandResult verify =
        test::ctl(dir, {"verify", "--connect", address, "--journal", journal, "--config", config});
    INFO(verify.out << verify.err);
    CHECK(verify.exit_code == 0);
    CHECK(test::last_line(verify.out) == std::to_string(acknowledged) + " passed, 0 failed");
}

}  // namespace

TEST_CASE("kill -9 under load, recover, restart: every acknowledged order and fill is there",
          "[tools][daemon][crash]") {
    test::TempDir dir;
    const std::string config = write_config(dir);
    const std::string data_dir = (dir.path() / "data").string();
    const std::string journal = (dir.path() / "acks.journal").string();
    const unsigned seed = std::random_device{}();
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> kill_after_ms(0, 1000);

    for (int cycle = 1; cycle <= kCycles; ++cycle) {
        INFO("cycle " << cycle);
        test::Daemon daemon =
            test::start_daemon(dir, config, "daemon-" + std::to_string(cycle) + ".out");
        if (cycle > 1) {
            // What the previous cycles acknowledged survived their kills and recoveries.
            verify_journal(dir, daemon.address, config, journal);
        }
        const std::size_t accepted_before = test::count_lines_starting(journal, "accepted ");
        test::ExchangectlProcess load(
            {"load", "--connect", daemon.address, "--orders", kOrdersPerCycle, "--connections", "2",
             "--rate", kRate, "--journal", journal, "--json", "--config", config},
            dir.path() / ("load-" + std::to_string(cycle)));
        // The load writes its journal about once a second: once it has, the sessions are logged
        // in and orders are in flight. Then a random moment more.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (test::count_lines_starting(journal, "accepted ") == accepted_before &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms(rng)));
        daemon.process->signal(SIGKILL);
        CHECK(daemon.process->wait() == 128 + SIGKILL);

        const int load_exit = load.wait(60);
        INFO(load.out() << load.err());
        // 3: the daemon went away mid-run; the journal holds every ack received before that.
        REQUIRE(load_exit == 3);
        CHECK(test::count_lines_starting(journal, "accepted ") > accepted_before);

        test::DaemonProcess recover({"--config", config, "--data-dir", data_dir, "--recover"},
                                    dir.path() / ("recover-" + std::to_string(cycle) + ".out"));
        const int recover_exit = recover.wait();
        INFO(recover.output());
        REQUIRE(recover_exit == 0);
        CHECK(recover.output().find("exchanged: recover: ok") != std::string::npos);
    }

    test::Daemon daemon = test::start_daemon(dir, config, "daemon-final.out");
    verify_journal(dir, daemon.address, config, journal);
    CHECK(daemon.process->stop() == 0);
}
