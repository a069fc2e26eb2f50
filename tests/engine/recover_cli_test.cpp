// `exchanged --recover` and the recovering start on a real directory: a log written by a Shard on
// UringStorage, read back by the built daemon.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/random.hpp"
#include "config/config.hpp"
#include "daemon_process.hpp"
#include "engine/shard.hpp"
#include "engine/shard_layout.hpp"
#include "minimal_config.hpp"
#include "store/sqlite_store.hpp"
#include "temp_file.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_reader.hpp"
#include "wal/wal_writer.hpp"

using namespace exchanged;
using namespace exchanged::engine;

namespace {

struct Run {
    int exit_code;
    std::string output;
};

Run run(const test::TempDir& dir, const std::vector<std::string>& args) {
    test::DaemonProcess daemon(args, dir.path() / "daemon.out");
    const int code = daemon.wait();
    return Run{code, daemon.output()};
}

// A small profile (the memory of the matchers stays small) with the minimal instruments and
// accounts; 1 MiB segments so the normal start does not zero-fill 64 MiB ones.
std::string write_config(const test::TempDir& dir) {
    return dir.write("replay.ini",
                     "[persistence]\nwal_segment_bytes = 1048576\n"
                     "[engine]\nmax_orders = 4096\nclient_order_id_window = 4096\n" +
                         test::kMinimalConfigTail);
}

// Writes `commands` orders and cancels for the configured instrument through a Shard.
wal::Lsn write_log(const Config& config, std::size_t commands, std::uint64_t checkpoint_every) {
    std::filesystem::create_directories(config.server.data_dir);
    const ShardLayout layout = make_shard_layout(config);
    wal::UringStorage storage(config.persistence.wal_path.string());
    wal::WalOptions options;
    options.segment_bytes = 64 * 1024;  // several segments
    wal::WalWriter writer(storage, options);
    WalCommandLog log(writer);
    Shard shard(layout.make_matcher(0), log, ShardOptions{0, checkpoint_every, 1});
    SplitMix64 rng(5);
    std::vector<ShardEvent> events;
    for (std::size_t i = 0; i < commands; ++i) {
        book::Command c;
        c.instrument = 1;
        c.account = static_cast<AccountId>(rng.below(4));
        if (i % 5 == 4) {
            c.type = book::CommandType::Cancel;
            c.order_id = 1 + rng.below(i);
        } else {
            c.side = rng.below(2) == 0 ? Side::Buy : Side::Sell;
            c.client_order_id = i + 1;
            c.price = 2'000'000 + rng.between(-20, 20) * 100;
            c.quantity = rng.between(1, 50);
        }
        shard.process(c, static_cast<TimestampNs>(i), events);
    }
    REQUIRE(shard.stats().commands == commands);  // nothing refused as busy
    writer.close();
    return writer.durable_lsn();
}

// Every order and trade row of the store in `data_dir`, one line each, and its store_lsn.
std::string store_rows(const std::string& data_dir) {
    store::SqliteStore store(std::filesystem::path(data_dir) / "exchanged.sqlite");
    store.migrate();  // a no-op on the daemon's file; the store refuses reads before it
    std::ostringstream out;
    out << "store_lsn " << store.store_lsn() << "\n";
    store.read_orders([&](const store::StoredOrder& o) {
        out << "order " << o.shard << ' ' << o.order_id << ' ' << o.account << ' '
            << o.client_order_id << ' ' << static_cast<int>(o.side) << ' ' << o.price << ' '
            << o.quantity << ' ' << o.leaves << ' ' << o.executed << ' '
            << static_cast<int>(o.state) << ' ' << o.priority << ' ' << o.accepted_lsn << ' '
            << o.finished_lsn << "\n";
    });
    store.read_trades([&](const store::StoredTrade& t) {
        out << "trade " << t.shard << ' ' << t.trade_id << ' ' << t.price << ' ' << t.quantity
            << ' ' << t.taker_order_id << ' ' << t.maker_order_id << ' ' << t.lsn << ' ' << t.seq
            << "\n";
    });
    return out.str();
}

}  // namespace

TEST_CASE(
    "a start leaves the WAL tail to the flush worker, and a kill before it is written loses "
    "nothing",
    "[engine][cli][recover]") {
    test::TempDir dir;
    const std::string config_path = write_config(dir);
    const std::string data_dir = (dir.path() / "data").string();
    const Config config =
        load_config(config_path, ConfigOverrides{data_dir, std::nullopt, std::nullopt});
    REQUIRE(write_log(config, 3'000, 100) == 3'030);
    // The reference: --recover writes the tail into the store itself.
    const std::string reference_dir = (dir.path() / "reference").string();
    std::filesystem::copy(data_dir, reference_dir, std::filesystem::copy_options::recursive);
    const Run reference =
        run(dir, {"--config", config_path, "--data-dir", reference_dir, "--recover"});
    INFO(reference.output);
    REQUIRE(reference.exit_code == 0);
    const std::string expected = store_rows(reference_dir);
    REQUIRE_THAT(expected, Catch::StartsWith("store_lsn 3030\n") && Catch::Contains("trade "));

    const std::vector<std::string> start = {
        "--config", config_path, "--data-dir",
        data_dir,   "--listen",  "127.0.0.1:" + std::to_string(test::free_port())};
    SECTION("stopped once the store caught up") {
        test::DaemonProcess daemon(start, dir.path() / "start.out");
        REQUIRE(daemon.await("exchanged: ready:"));
        REQUIRE(daemon.await("store caught up from the WAL to LSN 3030"));
        CHECK(daemon.stop() == 0);
        const std::string output = daemon.output();
        INFO(output);
        CHECK_THAT(output, Catch::Contains("recovered from the store at LSN 0 plus 3030 WAL "
                                           "records (log clean)") &&
                               Catch::Contains("the flush worker writes the tail into the store "
                                               "in the background"));
        CHECK_THAT(output, Catch::Contains("store at LSN 3030)"));
        CHECK(store_rows(data_dir) == expected);
    }
    SECTION("killed at once: the next --recover finds the rest in the WAL") {
        {
            test::DaemonProcess daemon(start, dir.path() / "start.out");
            REQUIRE(daemon.await("exchanged: ready:"));
            daemon.signal(SIGKILL);
            daemon.wait();
        }
        const Run after = run(dir, {"--config", config_path, "--data-dir", data_dir, "--recover"});
        INFO(after.output);
        CHECK(after.exit_code == 0);
        CHECK(store_rows(data_dir) == expected);
    }
}

TEST_CASE("exchanged --recover replays a real log and reports it", "[engine][cli][recover]") {
    test::TempDir dir;
    const std::string config_path = write_config(dir);
    const std::string data_dir = (dir.path() / "data").string();
    const Config config =
        load_config(config_path, ConfigOverrides{data_dir, std::nullopt, std::nullopt});
    REQUIRE(write_log(config, 1'000, 100) == 1'010);

    const Run recovered = run(dir, {"--config", config_path, "--data-dir", data_dir, "--recover"});
    INFO(recovered.output);
    CHECK(recovered.exit_code == 0);
    CHECK_THAT(recovered.output,
               Catch::Contains("exchanged: recover: profile=replay wal=" + data_dir + "/wal"));
    CHECK_THAT(recovered.output,
               Catch::Contains("1010 records (1000 commands, 10 checkpoints verified)"));
    CHECK_THAT(recovered.output, Catch::Contains("log end      clean"));
    CHECK_THAT(recovered.output, Catch::Contains("next LSN     1011"));
    CHECK_THAT(recovered.output, Catch::Contains("exchanged: recover: ok"));

    SECTION("the normal start recovers, continues the log and closes it on SIGTERM") {
        test::DaemonProcess daemon({"--config", config_path, "--data-dir", data_dir, "--listen",
                                    "127.0.0.1:" + std::to_string(test::free_port())},
                                   dir.path() / "start.out");
        REQUIRE(daemon.await("exchanged: ready:"));
        daemon.signal(SIGTERM);
        CHECK(daemon.wait() == 0);
        const std::string output = daemon.output();
        INFO(output);
        // --recover above wrote the log into the store: nothing is left to replay.
        CHECK_THAT(output, Catch::Contains("recovered from the store at LSN 1010 plus 0 WAL "
                                           "records (log clean)"));
        CHECK_THAT(output, Catch::Contains("next_lsn=1011"));
        CHECK_THAT(output, Catch::Contains("SIGTERM received; clean exit (WAL closed at durable "
                                           "LSN 1010, store at LSN 1010)"));
        // The log the daemon opened and closed still replays the same.
        const Run again = run(dir, {"--config", config_path, "--data-dir", data_dir, "--recover"});
        CHECK(again.exit_code == 0);
        CHECK_THAT(again.output, Catch::Contains("loaded at LSN 1010") &&
                                     Catch::Contains("replayed     0 records"));
    }

    SECTION("corruption in the middle: exit 1 naming the place; --salvage goes on") {
        // Without the store --recover filled, replay has to read the damaged part.
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::filesystem::remove(data_dir + "/exchanged.sqlite" + suffix);
        }
        wal::UringStorage storage(config.persistence.wal_path.string());
        std::string segment;
        std::uint64_t offset = 0;
        wal::scan_log(storage, {}, [&](const wal::RecordView& record) {
            if (record.lsn == 500) {
                segment = *record.segment;
                offset = record.offset;
            }
        });
        REQUIRE(!segment.empty());
        {
            std::fstream file(config.persistence.wal_path / segment,
                              std::ios::in | std::ios::out | std::ios::binary);
            file.seekp(static_cast<std::streamoff>(offset + 40));
            file.put('\x5a');
        }
        const Run refused =
            run(dir, {"--config", config_path, "--data-dir", data_dir, "--recover"});
        INFO(refused.output);
        CHECK(refused.exit_code == 1);
        CHECK_THAT(refused.output,
                   Catch::Contains("CORRUPT") &&
                       Catch::Contains(segment + " at offset " + std::to_string(offset)) &&
                       Catch::Contains("FAILED (corrupt)"));

        const Run salvaged =
            run(dir, {"--config", config_path, "--data-dir", data_dir, "--recover", "--salvage"});
        INFO(salvaged.output);
        CHECK(salvaged.exit_code == 0);
        CHECK_THAT(salvaged.output, Catch::Contains("1009 records") &&
                                        Catch::Contains("salvaged") &&
                                        Catch::Contains("commands lost from seq"));
        // A normal start refuses the damaged log too.
        const Run start = run(dir, {"--config", config_path, "--data-dir", data_dir});
        CHECK(start.exit_code == 1);
        CHECK_THAT(start.output, Catch::Contains("recovery failed; not starting"));
    }
}

TEST_CASE("exchanged --recover: nothing to recover, and usage errors", "[engine][cli][recover]") {
    test::TempDir dir;
    const std::string config_path = write_config(dir);
    const std::string data_dir = (dir.path() / "data").string();
    Run empty = run(dir, {"--config", config_path, "--data-dir", data_dir, "--recover"});
    CHECK(empty.exit_code == 0);
    CHECK_THAT(empty.output, Catch::Contains("nothing to recover yet"));
    CHECK(!std::filesystem::exists(data_dir));  // --recover creates nothing

    const std::string no_wal =
        dir.write("nowal.ini", "[persistence]\nmode = batch_sync\nenable_wal = false\n" +
                                   test::kMinimalConfigTail);
    Run off = run(dir, {"--config", no_wal, "--data-dir", data_dir, "--recover"});
    CHECK(off.exit_code == 0);
    CHECK_THAT(off.output, Catch::Contains("nothing to recover yet"));

    Run usage = run(dir, {"--config", config_path, "--recover", "--check-config"});
    CHECK(usage.exit_code == 2);
    Run bad = run(dir, {"--config", (dir.path() / "missing.ini").string(), "--recover"});
    CHECK(bad.exit_code == 2);
}
