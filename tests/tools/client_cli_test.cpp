// exchangectl's client commands against the real daemon: order, status and cancel with their
// output and exit codes; a pipelined load with a journal, a clean restart and verify; a corrupted
// journal that verify must fail; and a daemon killed in the middle of a load.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
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

std::string write_config(const test::TempDir& dir) {
    return dir.write("daemon.ini",
                     "[server]\nheartbeat_interval_ms = 1000\nshard_queue_capacity = 65536\n"
                     "[persistence]\nwal_segment_bytes = 1048576\n"
                     "[engine]\nmax_orders = 65536\nclient_order_id_window = 65536\n"
                     "[instruments]\n" +
                         test::kAmznInstrument + test::kAaplInstrument + test::kAliceAndBob);
}

using test::count_lines_starting;
using test::ctl;
using test::Daemon;
using test::json_number;
using test::last_line;
using test::start_daemon;

// The value after `key=` in `text`, up to the next space or newline.
std::string field(const std::string& text, const std::string& key) {
    const std::size_t at = text.find(key + "=");
    INFO("field " << key << " in " << text);
    REQUIRE(at != std::string::npos);
    const std::size_t start = at + key.size() + 1;
    return text.substr(start, text.find_first_of(" \n", start) - start);
}

}  // namespace

TEST_CASE("exchangectl order, status and cancel", "[tools][daemon]") {
    test::TempDir dir;
    const std::string config = write_config(dir);
    Daemon daemon = start_daemon(dir, config, "daemon.out");
    const auto as = [&](const std::string& account) {
        return std::vector<std::string>{"--connect", daemon.address, "--account",
                                        account,     "--config",     config};
    };
    const auto with = [](std::vector<std::string> base, const std::vector<std::string>& more) {
        base.insert(base.end(), more.begin(), more.end());
        return base;
    };

    std::vector<std::string> sell = {"order"};
    sell = with(sell, as("alice"));
    sell = with(sell, {"--instrument", "AMZN", "--side", "sell", "--price", "200.00", "--qty", "10",
                       "--client-order-id", "100"});
    const test::CommandResult rested = ctl(dir, sell);
    INFO(rested.out << rested.err);
    REQUIRE(rested.exit_code == 0);
    CHECK(rested.out.find("accepted order_id=") == 0);
    CHECK(rested.out.find("client_order_id=100 AMZN sell 10 @ 200.0000") != std::string::npos);
    CHECK(rested.out.find("status resting AMZN client_order_id=100") != std::string::npos);
    const std::string order_id = field(rested.out, "order_id");

    // Bob buys 4 by instrument id and raw price units: one fill, then done.
    const test::CommandResult bought = ctl(
        dir, with(with({"order"}, as("bob")), {"--instrument", "1", "--side", "buy", "--price",
                                               "2000000", "--qty", "4", "--client-order-id", "7"}));
    INFO(bought.out << bought.err);
    REQUIRE(bought.exit_code == 0);
    CHECK(bought.out.find("AMZN buy 4 @ 200.0000 leaves=0 taker") != std::string::npos);
    CHECK(bought.out.find("status done AMZN client_order_id=7") != std::string::npos);

    const test::CommandResult status = ctl(
        dir,
        with(with({"status"}, as("alice")), {"--instrument", "AMZN", "--client-order-id", "100"}));
    INFO(status.out << status.err);
    CHECK(status.exit_code == 0);
    CHECK(status.out == "status resting AMZN client_order_id=100 order_id=" + order_id +
                            " sell leaves=6 @ 200.0000\n");

    const test::CommandResult unknown = ctl(
        dir,
        with(with({"status"}, as("alice")), {"--instrument", "AMZN", "--client-order-id", "999"}));
    CHECK(unknown.exit_code == 1);
    CHECK(unknown.out == "status not_found AMZN client_order_id=999\n");

    const test::CommandResult duplicate = ctl(dir, sell);
    CHECK(duplicate.exit_code == 1);
    CHECK(duplicate.out.find(
              "rejected new_order AMZN client_id=100 reason=duplicate_client_order_id") !=
          std::string::npos);

    const test::CommandResult off_band = ctl(
        dir, with(with({"order"}, as("alice")),
                  {"--instrument", "AMZN", "--side", "buy", "--price", "9999.00", "--qty", "1"}));
    CHECK(off_band.exit_code == 1);
    CHECK(off_band.out.find("reason=price_outside_band") != std::string::npos);

    const std::vector<std::string> cancel =
        with(with({"cancel"}, as("alice")), {"--instrument", "AMZN", "--order-id", order_id});
    const test::CommandResult cancelled = ctl(dir, cancel);
    INFO(cancelled.out << cancelled.err);
    CHECK(cancelled.exit_code == 0);
    CHECK(cancelled.out == "cancelled order_id=" + order_id +
                               " client_order_id=100 AMZN qty=6 reason=client_request\n");
    const test::CommandResult again = ctl(dir, cancel);
    CHECK(again.exit_code == 1);
    CHECK(again.out.find("reason=unknown_order") != std::string::npos);

    const test::CommandResult intruder =
        ctl(dir, with(with({"status"}, as("alice")),
                      {"--secret", "wrong", "--instrument", "AMZN", "--client-order-id", "100"}));
    CHECK(intruder.exit_code == 1);
    CHECK(intruder.err.find("login as 'alice' rejected: bad_credentials") != std::string::npos);

    const test::CommandResult no_profile =
        ctl(dir, {"status", "--connect", daemon.address, "--account", "alice", "--config",
                  (dir.path() / "missing.ini").string(), "--instrument", "AMZN",
                  "--client-order-id", "1"});
    CHECK(no_profile.exit_code == 1);
    CHECK(no_profile.err.find("no profile at") != std::string::npos);

    const test::CommandResult bad_instrument = ctl(
        dir,
        with(with({"status"}, as("alice")), {"--instrument", "TSLA", "--client-order-id", "1"}));
    CHECK(bad_instrument.exit_code == 2);
    CHECK(bad_instrument.err.find("'TSLA' is not in profile") != std::string::npos);

    const test::CommandResult help = ctl(dir, {"help"});
    CHECK(help.exit_code == 0);
    for (const char* usage : {"order --connect", "cancel --connect", "status --connect",
                              "load --connect", "verify --connect"}) {
        CHECK(help.out.find(usage) != std::string::npos);
    }

    REQUIRE(daemon.process->stop() == 0);
    const test::CommandResult refused = ctl(dir, sell);
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("cannot connect to " + daemon.address) != std::string::npos);
}

TEST_CASE("exchangectl load journals every ack, verify passes after a restart", "[tools][daemon]") {
    test::TempDir dir;
    const std::string config = write_config(dir);
    const std::string journal = (dir.path() / "acks.journal").string();
    {
        Daemon daemon = start_daemon(dir, config, "first.out");
        const test::CommandResult load =
            ctl(dir, {"load", "--connect", daemon.address, "--orders", "5000", "--connections", "2",
                      "--journal", journal, "--json", "--config", config, "--seed", "3"});
        INFO(load.out << load.err);
        REQUIRE(load.exit_code == 0);
        CHECK(json_number(load.out, "sent") == 5000);
        CHECK(json_number(load.out, "accepted") + json_number(load.out, "rejected") +
                  json_number(load.out, "refused") ==
              5000);
        CHECK(json_number(load.out, "accepted") > 4000);
        CHECK(json_number(load.out, "fills") > 0);
        CHECK(json_number(load.out, "orders_per_sec") > 0);
        CHECK(json_number(load.out, "elapsed_s") > 0);
        CHECK(json_number(load.out, "p50_us") > 0);
        CHECK(json_number(load.out, "p99_us") >= json_number(load.out, "p50_us"));
        CHECK(json_number(load.out, "p999_us") >= json_number(load.out, "p99_us"));
        CHECK(load.out.find("\"rejected_by_reason\":{") != std::string::npos);
        CHECK(load.out.find("\"refused_by_reason\":{") != std::string::npos);
        CHECK(std::count(load.out.begin(), load.out.end(), '\n') == 1);
        CHECK(count_lines_starting(journal, "accepted ") +
                  count_lines_starting(journal, "rejected ") ==
              5000);
        CHECK(count_lines_starting(journal, "accepted ") == json_number(load.out, "accepted"));
        CHECK(count_lines_starting(journal, "fill ") == json_number(load.out, "fills"));
        REQUIRE(daemon.process->stop() == 0);
    }
    Daemon daemon = start_daemon(dir, config, "second.out");
    const std::size_t accepted = count_lines_starting(journal, "accepted ");
    const std::size_t fills = count_lines_starting(journal, "fill ");

    const test::CommandResult verify =
        ctl(dir, {"verify", "--connect", daemon.address, "--journal", journal, "--config", config});
    INFO(verify.out << verify.err);
    CHECK(verify.exit_code == 0);
    // Fills count through their orders' checks: the daemon keeps no trades of its own.
    CHECK(fills > 0);
    CHECK(verify.out == std::to_string(accepted) + " passed, 0 failed\n");

    // Change one accepted order's order id: verify must name that line and fail.
    std::ifstream in(journal);
    std::ostringstream corrupted;
    std::string line;
    bool changed = false;
    std::size_t number = 0;
    std::size_t changed_line = 0;
    while (std::getline(in, line)) {
        ++number;
        if (!changed && line.rfind("accepted ", 0) == 0) {
            // An id no shard has handed out yet, so only the daemon's answer can catch it.
            const std::size_t at = line.find(" order_id=") + 10;
            line.replace(at, line.find(' ', at) - at, "987654321");
            changed = true;
            changed_line = number;
        }
        corrupted << line << '\n';
    }
    REQUIRE(changed);
    const std::string bad = dir.write("bad.journal", corrupted.str());
    const test::CommandResult failed =
        ctl(dir, {"verify", "--connect", daemon.address, "--journal", bad, "--config", config});
    INFO(failed.out << failed.err);
    CHECK(failed.exit_code == 1);
    CHECK(failed.out.find("FAIL line " + std::to_string(changed_line) + ": ") == 0);
    CHECK(last_line(failed.out) == std::to_string(accepted - 1) + " passed, 1 failed");
    REQUIRE(daemon.process->stop() == 0);
}

// Four connections on two accounts: each account's maker fills reach both of its sessions and are
// journaled twice. With cancels, replaces and mass cancels in the mix, a healthy daemon and its
// store must still verify cleanly. Paced, so that accepted orders are there to cancel and replace
// while the run goes on.
TEST_CASE("exchangectl load with a mix on two sessions per account verifies cleanly",
          "[tools][daemon]") {
    test::TempDir dir;
    const std::string config = write_config(dir);
    const std::string journal = (dir.path() / "acks.journal").string();
    Daemon daemon = start_daemon(dir, config, "daemon.out");
    const test::CommandResult load =
        ctl(dir, {"load", "--connect", daemon.address, "--orders", "4000", "--connections", "4",
                  "--rate", "4000", "--mix", "new=70,cancel=12,replace=12,mass_cancel=2",
                  "--journal", journal, "--json", "--config", config, "--seed", "5"});
    INFO(load.out << load.err);
    REQUIRE(load.exit_code == 0);
    CHECK(load.err.find("mix: sent ") != std::string::npos);
    const std::size_t accepted = count_lines_starting(journal, "accepted ");
    const std::size_t mass_cancels = count_lines_starting(journal, "mass_cancelled ");
    CHECK(count_lines_starting(journal, "replace_sent ") > 0);
    CHECK(count_lines_starting(journal, "replaced ") > 0);
    CHECK(count_lines_starting(journal, "cancelled ") > 0);
    CHECK(mass_cancels > 0);

    const test::CommandResult verify =
        ctl(dir, {"verify", "--connect", daemon.address, "--journal", journal, "--config", config});
    INFO(verify.out << verify.err);
    CHECK(verify.exit_code == 0);
    CHECK(verify.out.find("lines repeat an effect another session") != std::string::npos);
    CHECK(last_line(verify.out) == std::to_string(accepted + mass_cancels) + " passed, 0 failed");
    REQUIRE(daemon.process->stop() == 0);

    const std::string data_dir = (dir.path() / "data").string();
    const test::CommandResult store = ctl(
        dir, {"store", "verify", "--journal", journal, "--config", config, "--data-dir", data_dir});
    INFO(store.out << store.err);
    CHECK(store.exit_code == 0);
    CHECK(last_line(store.out) == "verify-data: PASS");

    const test::CommandResult bad_mix =
        ctl(dir, {"load", "--connect", daemon.address, "--orders", "1", "--mix", "new=1,swap=2",
                  "--config", config});
    CHECK(bad_mix.exit_code != 0);
    CHECK(bad_mix.err.find("--mix: unknown request 'swap'") != std::string::npos);
}

TEST_CASE("exchangectl load fails a run in which no order was accepted, or that stopped early",
          "[tools][daemon]") {
    test::TempDir dir;
    const std::string config = write_config(dir);
    // The client trades an instrument the daemon does not list: the matcher rejects every order.
    const std::string unknown =
        dir.write("unknown.ini",
                  "[instruments]\nTSLA = id=9 tick_size=100 lot_size=1 min_price=1000000 "
                  "max_price=4000000 max_order_quantity=1000000\n" +
                      test::kAliceAndBob);
    Daemon daemon = start_daemon(dir, config, "daemon.out");
    const test::CommandResult load =
        ctl(dir, {"load", "--connect", daemon.address, "--orders", "200", "--connections", "2",
                  "--json", "--config", unknown});
    INFO(load.out << load.err);
    CHECK(load.exit_code == 1);
    CHECK(load.err.find("no order was accepted: 0 refused, 200 rejected of 200 sent") !=
          std::string::npos);
    CHECK(json_number(load.out, "accepted") == 0);
    CHECK(json_number(load.out, "orders_per_sec") == 0);
    CHECK(load.out.find("\"rejected_by_reason\":{\"unknown_instrument\":200}") !=
          std::string::npos);
    // A journal that cannot be written stops the run: the report is partial, so the run fails.
    const test::CommandResult full =
        ctl(dir, {"load", "--connect", daemon.address, "--orders", "20000", "--connections", "2",
                  "--json", "--config", config, "--journal", "/dev/full"});
    INFO(full.out << full.err);
    CHECK(full.exit_code == 1);
    CHECK(full.err.find("--journal: writing '/dev/full' failed") != std::string::npos);
    REQUIRE(daemon.process->stop() == 0);
}

TEST_CASE("exchangectl load stops cleanly when the daemon is killed", "[tools][daemon]") {
    test::TempDir dir;
    const std::string config = write_config(dir);
    const std::string journal = (dir.path() / "acks.journal").string();
    {
        Daemon daemon = start_daemon(dir, config, "first.out");
        test::ExchangectlProcess load(
            {"load", "--connect", daemon.address, "--orders", "1000000", "--connections", "2",
             "--rate", "4000", "--journal", journal, "--json", "--config", config},
            dir.path() / "load");
        // The journal reaches the file about once a second; kill once some of it has.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (count_lines_starting(journal, "accepted ") < 100 &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        daemon.process->signal(SIGKILL);
        daemon.process->wait();
        const int code = load.wait(20);
        INFO(load.out() << load.err());
        CHECK(code == 3);
        CHECK(load.err().find("connection lost") != std::string::npos);
        CHECK(json_number(load.out(), "accepted") > 0);
        CHECK(load.out().find("\"connection_lost\":true") != std::string::npos);
        CHECK(count_lines_starting(journal, "accepted ") == json_number(load.out(), "accepted"));
    }
    Daemon daemon = start_daemon(dir, config, "second.out");
    const test::CommandResult verify =
        ctl(dir, {"verify", "--connect", daemon.address, "--journal", journal, "--config", config});
    INFO(verify.out << verify.err);
    CHECK(verify.exit_code == 0);
    CHECK(verify.out.find(" passed, 0 failed") != std::string::npos);
    REQUIRE(daemon.process->stop() == 0);
}
