// Disk corruption of a stopped daemon's data directory, through the built daemon: damage in a WAL
// segment the store already holds is refused all the same (a failing disk), and --salvage then
// loses nothing and lets the start release the segment; a damaged segment header is salvaged
// without losing its records; a damaged store file stops --recover and the start, naming the file
// and the table, before anything is loaded.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "common/random.hpp"
#include "config/config.hpp"
#include "daemon_process.hpp"
#include "engine/shard.hpp"
#include "engine/shard_layout.hpp"
#include "file_damage.hpp"
#include "minimal_config.hpp"
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

struct DataDir {
    test::TempDir dir;
    std::string config_path;
    std::string data_dir;
    Config config;
};

Run run(const DataDir& data, std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", data.config_path, "--data-dir", data.data_dir});
    test::DaemonProcess daemon(args, data.dir.path() / "daemon.out");
    const int code = daemon.wait();
    return Run{code, daemon.output()};
}

// A profile with small books, and 1000 orders logged by a Shard into 64 KiB segments (several),
// then written into the store by `--recover`: the store holds every record, and no daemon ran,
// so every segment is still on disk.
void make_data_dir(DataDir& data) {
    data.config_path =
        data.dir.write("corrupt.ini",
                       "[persistence]\nwal_segment_bytes = 1048576\n"
                       "[engine]\nmax_orders = 4096\nclient_order_id_window = 4096\n" +
                           test::kMinimalConfigTail);
    data.data_dir = (data.dir.path() / "data").string();
    data.config =
        load_config(data.config_path, ConfigOverrides{data.data_dir, std::nullopt, std::nullopt});
    std::filesystem::create_directories(data.config.server.data_dir);
    const ShardLayout layout = make_shard_layout(data.config);
    {
        wal::UringStorage storage(data.config.persistence.wal_path.string());
        wal::WalOptions options;
        options.segment_bytes = 64 * 1024;
        wal::WalWriter writer(storage, options);
        WalCommandLog log(writer);
        Shard shard(layout.make_matcher(0), log, ShardOptions{0, 0, 1});
        SplitMix64 rng(9);
        std::vector<ShardEvent> events;
        for (std::size_t i = 0; i < 1000; ++i) {
            book::Command c;
            c.instrument = 1;
            c.account = 1;
            c.side = rng.below(2) == 0 ? Side::Buy : Side::Sell;
            c.client_order_id = i + 1;
            c.price = 2'000'000 + rng.between(-20, 20) * 100;
            c.quantity = rng.between(1, 50);
            shard.process(c, static_cast<TimestampNs>(i), events);
        }
        writer.close();
        REQUIRE(writer.durable_lsn() == 1000);
    }
    REQUIRE(run(data, {"--recover"}).exit_code == 0);
}

struct RecordPlace {
    std::string segment;
    std::uint64_t offset = 0;
};

RecordPlace place_of(const DataDir& data, wal::Lsn lsn) {
    wal::UringStorage storage(data.config.persistence.wal_path.string());
    RecordPlace place;
    wal::scan_log(storage, {}, [&](const wal::RecordView& record) {
        if (record.lsn == lsn) {
            place = RecordPlace{*record.segment, record.offset};
        }
    });
    REQUIRE(!place.segment.empty());
    return place;
}

}  // namespace

TEST_CASE(
    "corruption: damage in a WAL segment the store holds is refused, and salvage loses "
    "nothing",
    "[engine][cli][corruption]") {
    DataDir data;
    make_data_dir(data);
    const RecordPlace place = place_of(data, 500);
    test::flip_byte(data.config.persistence.wal_path / place.segment, place.offset + 30);

    // A disk that changed fsynced data may change more: refused, although the store has LSN 500.
    const Run refused = run(data, {"--recover"});
    INFO(refused.output);
    CHECK(refused.exit_code == 1);
    CHECK_THAT(refused.output,
               Catch::Contains("damaged      " + place.segment + " from offset " +
                               std::to_string(place.offset) + ": LSN 500..500 (1 record)") &&
                   Catch::Contains("at or below the store's LSN 1000: the store holds them") &&
                   Catch::Contains("--salvage skips the damage and loses nothing"));
    const Run start = run(data, {"--listen", "127.0.0.1:" + std::to_string(test::free_port())});
    CHECK(start.exit_code == 1);
    CHECK_THAT(start.output, Catch::Contains("recovery failed; not starting") &&
                                 Catch::Contains(place.segment + " from offset"));

    const Run salvaged = run(data, {"--recover", "--salvage"});
    INFO(salvaged.output);
    CHECK(salvaged.exit_code == 0);
    CHECK_THAT(salvaged.output,
               Catch::Contains("salvaged     skipped damage in " + place.segment) &&
                   Catch::Contains("nothing is lost"));
    CHECK_THAT(salvaged.output, !Catch::Contains("commands lost"));

    // A start with --salvage releases the segments the store holds, the damaged one among them:
    // afterwards the log is whole again and needs no flag.
    {
        test::DaemonProcess daemon(
            {"--config", data.config_path, "--data-dir", data.data_dir, "--salvage", "--listen",
             "127.0.0.1:" + std::to_string(test::free_port())},
            data.dir.path() / "salvaged-start.out");
        REQUIRE(daemon.await("exchanged: ready:"));
        CHECK_THAT(daemon.output(), Catch::Contains("--salvage skipped damage in the WAL"));
        CHECK(daemon.stop() == 0);
    }
    CHECK(!std::filesystem::exists(data.config.persistence.wal_path / place.segment));
    const Run clean = run(data, {"--recover"});
    INFO(clean.output);
    CHECK(clean.exit_code == 0);
    CHECK_THAT(clean.output, Catch::Contains("log end      clean"));
}

TEST_CASE("corruption: a damaged segment header is salvaged without losing its records",
          "[engine][cli][corruption]") {
    DataDir data;
    make_data_dir(data);
    // Without the store, replay has to read every record, those behind the header included.
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(data.data_dir + "/exchanged.sqlite" + suffix);
    }
    const RecordPlace place = place_of(data, 500);
    test::flip_byte(data.config.persistence.wal_path / place.segment, 24);  // first LSN field

    const Run refused = run(data, {"--recover"});
    INFO(refused.output);
    CHECK(refused.exit_code == 1);
    CHECK_THAT(refused.output, Catch::Contains("segment " + place.segment + ": bad header"));
    const Run salvaged = run(data, {"--recover", "--salvage"});
    INFO(salvaged.output);
    CHECK(salvaged.exit_code == 0);
    CHECK_THAT(salvaged.output, Catch::Contains("1000 records (1000 commands") &&
                                    Catch::Contains("no record lost") &&
                                    Catch::Contains("next LSN     1001"));
}

TEST_CASE("corruption: a damaged store file stops --recover and the start, naming file and table",
          "[engine][cli][corruption]") {
    DataDir data;
    make_data_dir(data);
    const std::filesystem::path store = data.config.persistence.store_path;
    const std::uint32_t page = test::break_sqlite_page(store, "orders");
    const std::string place =
        store.string() + ": the store file is damaged (PRAGMA quick_check): table orders (page " +
        std::to_string(page) + ")";
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--recover"},
          std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(test::free_port())}}) {
        const Run refused = run(data, args);
        INFO(refused.output);
        CHECK(refused.exit_code == 1);
        CHECK_THAT(refused.output, Catch::Contains(place) &&
                                       Catch::Contains("Page " + std::to_string(page)) &&
                                       Catch::Contains("docs/recovery.md"));
    }
    // The check can be turned off; then the damage surfaces when recovery reads the page, and
    // is fatal there too, naming the file.
    const std::string unchecked =
        data.dir.write("unchecked.ini",
                       "[persistence]\nwal_segment_bytes = 1048576\nstore_check_on_start = off\n"
                       "[engine]\nmax_orders = 4096\nclient_order_id_window = 4096\n" +
                           test::kMinimalConfigTail);
    test::DaemonProcess daemon({"--config", unchecked, "--data-dir", data.data_dir, "--recover"},
                               data.dir.path() / "unchecked.out");
    CHECK(daemon.wait() == 1);
    INFO(daemon.output());
    CHECK_THAT(daemon.output(), Catch::Contains(store.string() + ": ") &&
                                    Catch::Contains("database disk image is malformed") &&
                                    Catch::Contains("the store file is damaged"));
}
