// [persistence] mode is a preset over the orthogonal knobs; explicit keys win over it.
#include <catch2/catch.hpp>

#include <string>

#include "config/config.hpp"
#include "config/summary.hpp"
#include "engine/startup.hpp"
#include "minimal_config.hpp"
#include "temp_file.hpp"

using namespace exchanged;
using exchanged::test::TempDir;

namespace {

const std::string& kTail = exchanged::test::kMinimalConfigTail;

Config load_text(const std::string& text) {
    TempDir dir;
    return load_config(dir.write("preset.ini", text + kTail));
}

}  // namespace

TEST_CASE("each mode sets the knobs of design section 2", "[config][presets]") {
    struct Row {
        std::string mode;
        AckPoint ack_after;
        bool enable_wal;
        bool sync_for_critical;
        AckPoint critical;
    };
    const Row rows[] = {
        {"async", AckPoint::Match, false, false, AckPoint::Match},
        {"hybrid_sync", AckPoint::Wal, true, true, AckPoint::Store},
        {"wal_batch", AckPoint::Wal, true, false, AckPoint::Wal},
        {"batch_sync", AckPoint::Match, false, true, AckPoint::Store},
    };
    for (const Row& row : rows) {
        INFO(row.mode);
        const Config config = load_text("[persistence]\nmode = " + row.mode + "\n");
        CHECK(config.persistence.ack_after == row.ack_after);
        CHECK(config.persistence.enable_wal == row.enable_wal);
        CHECK(config.persistence.wal_sync == row.enable_wal);
        CHECK(config.safety.sync_for_critical == row.sync_for_critical);
        CHECK(config.critical_ack_after() == row.critical);
    }
}

TEST_CASE("double_write acks after the Redis mirror, without a WAL", "[config][presets][mirror]") {
    const Config config = load_text(
        "[persistence]\nmode = double_write\nredis_address = 127.0.0.1:6390\n"
        "redis_key_prefix = ex1:\nredis_batch_size = 50\n");
    CHECK(config.persistence.ack_after == AckPoint::Mirror);
    CHECK_FALSE(config.persistence.enable_wal);
    CHECK(config.persistence.mirror());
    CHECK(config.persistence.redis_address.port == 6390);
    CHECK(config.persistence.redis_key_prefix == "ex1:");
    CHECK(config.persistence.redis_batch_size == 50);
    CHECK(config.critical_ack_after() == AckPoint::Mirror);
    CHECK_FALSE(config.acks_before_durable());
    CHECK_THAT(describe_loss_window(config), Catch::Contains("while Redis keeps"));
    CHECK_THAT(describe_config(config), Catch::Contains("redis 127.0.0.1:6390 stream ex1:log"));

    // Critical orders can still be made to wait for the store.
    const Config critical = load_text(
        "[persistence]\nmode = double_write\nredis_address = 127.0.0.1:6390\n"
        "[safety]\nsync_for_critical = true\n");
    CHECK(critical.critical_ack_after() == AckPoint::Store);
}

TEST_CASE("explicit knobs override the preset wherever they appear", "[config][presets]") {
    // ack_after before mode in the file: order does not matter.
    Config config = load_text("[persistence]\nack_after = store\nmode = wal_batch\n");
    CHECK(config.persistence.ack_after == AckPoint::Store);
    CHECK(describe_loss_window(config) == "none for acknowledged orders");

    config = load_text("[safety]\nsync_for_critical = false\n[persistence]\nmode = batch_sync\n");
    CHECK_FALSE(config.safety.sync_for_critical);
    CHECK(config.critical_ack_after() == AckPoint::Match);

    // async with a WAL switched on: acks still at match, critical orders at the WAL.
    config = load_text(
        "[persistence]\nmode = async\nenable_wal = true\nwal_sync = true\n"
        "[safety]\nsync_for_critical = true\n");
    CHECK(config.persistence.ack_after == AckPoint::Match);
    CHECK(config.critical_ack_after() == AckPoint::Wal);
    CHECK(describe_loss_window(config).find("WAL fsync") != std::string::npos);
}

TEST_CASE("without a WAL the batch knobs drive the store unless set", "[config][presets]") {
    Config config =
        load_text("[persistence]\nmode = batch_sync\nbatch_size = 500\nbatch_timeout_ms = 7\n");
    CHECK(config.persistence.store_batch_size == 500);
    CHECK(config.persistence.store_batch_timeout_ms == 7);

    config = load_text(
        "[persistence]\nmode = batch_sync\nbatch_timeout_ms = 7\nstore_batch_timeout_ms = 3\n");
    CHECK(config.persistence.store_batch_timeout_ms == 3);

    config = load_text("[persistence]\nmode = wal_batch\nbatch_size = 500\n");
    CHECK(config.persistence.store_batch_size == 1000);
}

TEST_CASE("booleans accept the usual spellings", "[config][presets]") {
    for (const std::string yes : {"true", "yes", "on", "1"}) {
        CHECK(load_text("[server]\npin_cpus = " + yes + "\n").server.pin_cpus);
    }
    for (const std::string no : {"false", "no", "off", "0"}) {
        CHECK_FALSE(load_text("[server]\npin_cpus = " + no + "\n").server.pin_cpus);
    }
}

TEST_CASE("relative paths live inside data_dir, absolute ones stay", "[config][presets]") {
    const Config config = load_text(
        "[server]\ndata_dir = /var/lib/exchanged\n[persistence]\nwal_path = /fast/wal\n"
        "store_path = db/x.sqlite\n[logging]\nfile = log/exchanged.log\n");
    CHECK(config.server.data_dir == "/var/lib/exchanged");
    CHECK(config.persistence.wal_path == "/fast/wal");
    CHECK(config.persistence.store_path == "/var/lib/exchanged/db/x.sqlite");
    CHECK(config.logging.file == "/var/lib/exchanged/log/exchanged.log");
}

TEST_CASE("checkpoints follow checkpoint_interval and only with checksums on",
          "[config][presets]") {
    CHECK(engine::checkpoint_every(load_text("")) == 100'000);
    CHECK(engine::checkpoint_every(load_text("[safety]\ncheckpoint_interval = 1000\n")) == 1000);
    CHECK(engine::checkpoint_every(
              load_text("[safety]\nenable_checksums = false\ncheckpoint_interval = 1000\n")) == 0);
}

TEST_CASE("max_unflushed_ms defaults by what the acknowledgement waits for", "[config][presets]") {
    // Acks at match, store the only copy: bounded, with room for two store batches.
    CHECK(load_text("[persistence]\nmode = batch_sync\n").safety.max_unflushed_ms == 10);
    CHECK(load_text("[persistence]\nmode = batch_sync\nbatch_timeout_ms = 40\n")
              .safety.max_unflushed_ms == 80);
    CHECK(load_text("[persistence]\nmode = async\n").safety.max_unflushed_ms == 1000);
    // Acks after the WAL, or at match with a synced WAL behind them: the window is the WAL's.
    CHECK(load_text("[persistence]\nmode = wal_batch\n").safety.max_unflushed_ms == 0);
    CHECK(load_text("[persistence]\nmode = hybrid_sync\n").safety.max_unflushed_ms == 0);
    const Config match_with_wal = load_text("[persistence]\nmode = wal_batch\nack_after = match\n");
    CHECK_FALSE(match_with_wal.acks_before_durable());
    CHECK(match_with_wal.safety.max_unflushed_ms == 0);
    // 0 turns the bound off, and the summary says so.
    const Config off = load_text("[persistence]\nmode = async\n[safety]\nmax_unflushed_ms = 0\n");
    CHECK(off.safety.max_unflushed_ms == 0);
    CHECK(describe_loss_window(off).find("unbounded in time") != std::string::npos);
}
