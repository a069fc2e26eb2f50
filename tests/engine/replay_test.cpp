// Shards on simulated storage, then recovery from the same storage: the replayed books equal the
// live ones, power loss keeps exactly the logged prefix, damage and bad checkpoints stop replay.
#include <catch2/catch.hpp>

#include <cinttypes>
#include <cstdio>
#include <random>
#include <string>

#include "engine/command_record.hpp"
#include "engine/recovery.hpp"
#include "engine/shard.hpp"
#include "replay_fixture.hpp"
#include "wal/sim_storage.hpp"
#include "wal/wal_reader.hpp"
#include "wal/wal_writer.hpp"

using namespace exchanged;
using namespace exchanged::engine;
using namespace exchanged::engine::test;
using wal::Lsn;
using wal::SimStorage;

namespace {

std::string hex(std::uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%016" PRIx64, value);
    return text;
}

// The recovered matchers hold the same books as `expected`, shard by shard.
void require_same_state(const RecoveryResult& result, const std::vector<book::Matcher>& expected) {
    require_same_matchers(result.matchers, expected);
}

struct Place {
    std::string segment;
    std::uint64_t offset = 0;
    std::uint16_t type = 0;
};

Place place_of(wal::Storage& storage, Lsn lsn) {
    Place place;
    wal::scan_log(storage, {}, [&](const wal::RecordView& record) {
        if (record.lsn == lsn) {
            place = Place{*record.segment, record.offset, record.type};
        }
    });
    REQUIRE(!place.segment.empty());
    return place;
}

}  // namespace

TEST_CASE("replay rebuilds the live shards exactly and verifies their checkpoints",
          "[engine][replay]") {
    for (const std::uint32_t shard_count : {1u, 2u, 3u}) {
        for (std::uint64_t seed = 1; seed <= 6; ++seed) {
            INFO("shards " << shard_count << " seed " << seed);
            SimStorage sim(seed);
            const auto stream_config = book::testing::make_stream_config(seed);
            const ShardLayout layout = stream_layout(stream_config, shard_count);
            std::vector<book::Matcher> live;
            std::vector<SequenceNumber> live_next_seq;
            std::uint64_t logged = 0;
            std::uint64_t checkpoints = 0;
            Lsn next_lsn = 0;
            {
                wal::WalWriter writer(sim, small_wal());
                ShardDriver driver(layout, writer, 97, seed);
                REQUIRE(driver.run(4'000));
                writer.close();
                for (Shard& shard : driver.shards()) {
                    live.push_back(shard.matcher());
                    live_next_seq.push_back(shard.next_seq());
                    checkpoints += shard.stats().checkpoints;
                }
                logged = driver.logged().size();
                next_lsn = writer.next_lsn();
            }
            const RecoveryResult result = recover(sim, layout, {});
            INFO(result.error);
            REQUIRE(result.ok());
            CHECK(result.log.end == wal::LogEnd::Clean);
            CHECK(result.commands == logged);
            CHECK(result.checkpoints_verified == checkpoints);
            CHECK(checkpoints > 0);
            CHECK(result.records == logged + checkpoints);
            CHECK(result.next_lsn == next_lsn);
            require_same_state(result, live);
            for (ShardId id = 0; id < shard_count; ++id) {
                CHECK(result.shards[id].next_seq == live_next_seq[id]);
            }
        }
    }
}

TEST_CASE("shards continue after recovery where the log ended", "[engine][replay]") {
    SimStorage sim(11);
    const auto stream_config = book::testing::make_stream_config(11);
    const ShardLayout layout = stream_layout(stream_config, 2);
    {
        wal::WalWriter writer(sim, small_wal());
        ShardDriver driver(layout, writer, 50, 11);
        REQUIRE(driver.run(1'000));
    }
    RecoveryResult first = recover(sim, layout, {});
    REQUIRE(first.ok());
    std::vector<book::Matcher> after;
    {
        wal::WalWriter writer(sim, small_wal());
        REQUIRE(writer.next_lsn() == first.next_lsn);
        WalCommandLog log(writer);
        std::vector<Shard> shards;
        for (ShardId id = 0; id < 2; ++id) {
            shards.emplace_back(std::move(first.matchers[id]), log,
                                ShardOptions{id, 50, first.shards[id].next_seq});
        }
        // A second stream's commands on top of the recovered books.
        book::testing::RandomStream stream(book::testing::make_stream_config(12));
        std::vector<ShardEvent> out;
        for (int i = 0; i < 500; ++i) {
            const book::Command c = stream.next();
            if (for_every_shard(c)) {
                for (Shard& shard : shards) {
                    shard.process(c, kTestEpochNs + i, out);
                }
            } else {
                shards[layout.shard_of(c.instrument)].process(c, kTestEpochNs + i, out);
            }
        }
        for (const ShardEvent& e : out) {
            REQUIRE(e.lsn >= first.next_lsn);
        }
        for (Shard& shard : shards) {
            after.push_back(shard.matcher());
        }
    }
    const RecoveryResult second = recover(sim, layout, {});
    INFO(second.error);
    REQUIRE(second.ok());
    CHECK(second.records > first.records);
    require_same_state(second, after);
}

TEST_CASE("power loss recovers exactly the logged prefix, never less than was durable",
          "[engine][replay][crash]") {
    int corrupt_refusals = 0;
    int beyond_durable = 0;
    for (const auto mode : {SimStorage::PowerLoss::DropUnsynced, SimStorage::PowerLoss::TornPrefix,
                            SimStorage::PowerLoss::FlipSyncedBit}) {
        for (std::uint64_t seed = 1; seed <= 40; ++seed) {
            INFO("mode " << static_cast<int>(mode) << " seed " << seed);
            std::mt19937_64 rng(seed * 31 + static_cast<std::uint64_t>(mode));
            SimStorage sim(seed * 7919 + static_cast<std::uint64_t>(mode));
            wal::WalOptions options = small_wal();
            options.batch_size = 1 + static_cast<std::uint32_t>(rng() % 24);
            options.commit_when_idle = rng() % 2 == 0;
            sim.set_sync_latency(std::chrono::microseconds(rng() % 30));
            sim.crash_at_submit(1 + rng() % 40);
            const auto stream_config = book::testing::make_stream_config(seed);
            const ShardLayout layout = stream_layout(stream_config, 1 + seed % 2);

            std::vector<LoggedCommand> logged;
            Lsn durable = 0;
            {
                wal::WalWriter writer(sim, options);
                ShardDriver driver(layout, writer, 1 + rng() % 40, seed);
                driver.run(3'000);
                writer.close();
                durable = writer.durable_lsn();
                logged = driver.logged();
            }
            INFO(sim.lose_power(mode) << "; durable LSN at the crash " << durable);

            const RecoveryResult result = recover(sim, layout, {});
            INFO(result.log.describe() << "; " << result.error);
            if (!result.ok()) {
                // Only a flipped bit in the middle of the log may make it unusable, and then
                // recovery names the place instead of guessing.
                REQUIRE(mode == SimStorage::PowerLoss::FlipSyncedBit);
                REQUIRE(result.status == RecoveryStatus::Corrupt);
                REQUIRE(!result.log.corrupt_segment.empty());
                ++corrupt_refusals;
                continue;
            }
            if (mode == SimStorage::PowerLoss::FlipSyncedBit) {
                // A flip in the last record reads as a torn write: the WAL's documented limit.
                REQUIRE(result.last_lsn + 1 >= durable);
            } else {
                REQUIRE(result.last_lsn >= durable);  // nothing acknowledged is lost
            }
            beyond_durable += result.last_lsn > durable ? 1 : 0;
            // Nothing invented: the state is that of exactly the logged commands up to the end.
            require_same_state(result, reference_matchers(layout, logged, result.last_lsn));
            for (ShardId id = 0; id < layout.shard_count; ++id) {
                SequenceNumber expected_next = 1;
                for (const LoggedCommand& entry : logged) {
                    if (entry.shard == id && entry.lsn <= result.last_lsn) {
                        expected_next = entry.command.seq + 1;
                    }
                }
                REQUIRE(result.shards[id].next_seq == expected_next);
            }
        }
    }
    // Flips land in the zero fill far more often than in records, but some must hit the middle.
    CHECK(corrupt_refusals > 0);
    CHECK(beyond_durable > 0);  // torn prefixes do keep complete but unacknowledged records
}

TEST_CASE("a flipped bit in the middle stops recovery at its place, salvage continues",
          "[engine][replay][corruption]") {
    SimStorage sim(21);
    const auto stream_config = book::testing::make_stream_config(21);
    const ShardLayout layout = stream_layout(stream_config, 1);
    std::vector<LoggedCommand> logged;
    {
        wal::WalWriter writer(sim, small_wal());
        ShardDriver driver(layout, writer, 40, 21);
        REQUIRE(driver.run(600));
        logged = driver.logged();
    }
    // The middle command record (the checkpoints sit at every 41st LSN).
    Lsn victim = 300;
    if (place_of(sim, victim).type != kCommandRecordType) {
        ++victim;
    }
    const Place place = place_of(sim, victim);
    REQUIRE(place.type == kCommandRecordType);
    sim.flip_bit(place.segment, place.offset + 30, 5);

    const RecoveryResult stopped = recover(sim, layout, {});
    CHECK(stopped.status == RecoveryStatus::Corrupt);
    CHECK(stopped.last_lsn == victim - 1);
    CHECK(stopped.next_lsn == 0);
    CHECK_THAT(stopped.error,
               Catch::Contains(place.segment + " at offset " + std::to_string(place.offset)));
    CHECK_THAT(stopped.error, Catch::Contains("last good LSN " + std::to_string(victim - 1)));
    require_same_state(stopped, reference_matchers(layout, logged, victim - 1));
    const std::string report = describe(stopped, layout);
    CHECK_THAT(report, Catch::Contains("CORRUPT") && Catch::Contains(place.segment));

    RecoveryOptions salvage;
    salvage.salvage = true;
    const RecoveryResult salvaged = recover(sim, layout, salvage);
    INFO(salvaged.error);
    REQUIRE(salvaged.ok());
    CHECK(salvaged.log.end == wal::LogEnd::Corrupt);
    REQUIRE(salvaged.log.skipped.size() == 1);
    CHECK(salvaged.log.skipped[0].resume_lsn == victim + 1);
    CHECK(salvaged.records == salvaged.log.records);
    CHECK(salvaged.last_lsn == salvaged.log.last_lsn);
    const auto lost = std::find_if(logged.begin(), logged.end(),
                                   [&](const LoggedCommand& e) { return e.lsn == victim; });
    REQUIRE(lost != logged.end());
    CHECK(salvaged.shards[0].first_missing_seq == lost->command.seq);
    CHECK(salvaged.shards[0].checkpoints_unchecked > 0);
    CHECK(salvaged.shards[0].checkpoints_verified > 0);  // those before the damage
    require_same_state(salvaged, reference_matchers(layout, logged, ~Lsn{0}, {victim}));
    CHECK_THAT(describe(salvaged, layout),
               Catch::Contains("salvaged") && Catch::Contains("commands lost from seq"));
}

TEST_CASE("a checkpoint that disagrees with the replayed state stops recovery naming it",
          "[engine][replay][checkpoint]") {
    SimStorage sim(31);
    const auto stream_config = book::testing::make_stream_config(31);
    const ShardLayout layout = stream_layout(stream_config, 1);
    Lsn bad_lsn = 0;
    std::uint64_t true_hash = 0;
    SequenceNumber seq = 0;
    {
        wal::WalWriter writer(sim, small_wal());
        ShardDriver driver(layout, writer, 0, 31);
        REQUIRE(driver.run(300));
        const Shard& shard = driver.shards()[0];
        true_hash = shard.matcher().state_hash();
        seq = shard.next_seq() - 1;
        CheckpointRecordBytes bytes{};
        encode_checkpoint(CheckpointRecord{0, seq, true_hash ^ 0x10}, bytes);
        const wal::AppendResult appended = writer.try_append(kCheckpointRecordType, bytes);
        REQUIRE(appended.status == wal::AppendStatus::Ok);
        bad_lsn = appended.lsn;
        REQUIRE(driver.run(100));
    }
    const RecoveryResult result = recover(sim, layout, {});
    CHECK(result.status == RecoveryStatus::CheckpointMismatch);
    CHECK(result.last_lsn == bad_lsn - 1);
    CHECK(result.next_lsn == 0);
    CHECK(result.log.end == wal::LogEnd::Clean);  // the log itself is fine
    CHECK_THAT(result.error,
               Catch::Contains("LSN " + std::to_string(bad_lsn)) && Catch::Contains("shard 0") &&
                   Catch::Contains(hex(true_hash ^ 0x10)) && Catch::Contains(hex(true_hash)));
    CHECK(result.matchers[0].state_hash() == true_hash);
    CHECK_THAT(describe(result, layout),
               Catch::Contains("stopped") && Catch::Contains(hex(true_hash)));
}

TEST_CASE("term start records anywhere in the log are skipped by replay", "[engine][replay]") {
    SimStorage sim(31);
    const auto stream_config = book::testing::make_stream_config(31);
    const ShardLayout layout = stream_layout(stream_config, 2);
    std::vector<book::Matcher> live;
    Lsn next_lsn = 0;
    {
        wal::WalWriter writer(sim, small_wal());
        ShardDriver driver(layout, writer, 37, 31);
        TermStartRecordBytes term{};
        for (std::uint64_t epoch = 1; epoch <= 3; ++epoch) {
            encode_term_start({1, epoch}, term);
            REQUIRE(writer.try_append(kTermStartRecordType, term).status == wal::AppendStatus::Ok);
            REQUIRE(driver.run(300));
        }
        writer.close();
        for (Shard& shard : driver.shards()) {
            live.push_back(shard.matcher());
        }
        next_lsn = writer.next_lsn();
    }
    const RecoveryResult result = recover(sim, layout, {});
    INFO(result.error);
    REQUIRE(result.ok());
    CHECK(result.next_lsn == next_lsn);
    CHECK(result.last_lsn == next_lsn - 1);
    require_same_state(result, live);
}

TEST_CASE("records recovery cannot apply stop it naming the LSN", "[engine][replay]") {
    const auto stream_config = book::testing::make_stream_config(41);
    SECTION("an unknown record type") {
        SimStorage sim(41);
        const ShardLayout layout = stream_layout(stream_config, 1);
        Lsn odd = 0;
        {
            wal::WalWriter writer(sim, small_wal());
            ShardDriver driver(layout, writer, 0, 41);
            REQUIRE(driver.run(50));
            const std::byte payload[3] = {};
            odd = writer.try_append(7, payload).lsn;
            REQUIRE(driver.run(10));
        }
        const RecoveryResult result = recover(sim, layout, {});
        CHECK(result.status == RecoveryStatus::BadRecord);
        CHECK(result.last_lsn == odd - 1);
        CHECK_THAT(result.error, Catch::Contains("LSN " + std::to_string(odd)) &&
                                     Catch::Contains("record type 7"));
    }
    SECTION("a log written with more shards than configured now") {
        SimStorage sim(42);
        const ShardLayout two = stream_layout(stream_config, 2);
        {
            wal::WalWriter writer(sim, small_wal());
            ShardDriver driver(two, writer, 0, 41);
            REQUIRE(driver.run(200));
        }
        const RecoveryResult result = recover(sim, stream_layout(stream_config, 1), {});
        CHECK(result.status == RecoveryStatus::BadRecord);
        CHECK_THAT(result.error, Catch::Contains("[server] shards"));
    }
    SECTION("a malformed term start record") {
        SimStorage sim(44);
        const ShardLayout layout = stream_layout(stream_config, 1);
        {
            wal::WalWriter writer(sim, small_wal());
            const std::byte payload[16] = {std::byte{1}};  // epoch 0
            REQUIRE(writer.try_append(kTermStartRecordType, payload).lsn == 1);
        }
        const RecoveryResult result = recover(sim, layout, {});
        CHECK(result.status == RecoveryStatus::BadRecord);
        CHECK(result.error ==
              "WAL record LSN 1: term start record has epoch 0 (epochs start at 1)");
    }
    SECTION("a short command record") {
        SimStorage sim(43);
        const ShardLayout layout = stream_layout(stream_config, 1);
        {
            wal::WalWriter writer(sim, small_wal());
            const std::byte payload[10] = {std::byte{1}};
            REQUIRE(writer.try_append(kCommandRecordType, payload).lsn == 1);
        }
        const RecoveryResult result = recover(sim, layout, {});
        CHECK(result.status == RecoveryStatus::BadRecord);
        CHECK(result.error == "WAL record LSN 1: command record has 10 payload bytes, expected 68");
    }
}

TEST_CASE("a full WAL queue refuses as busy, a closed WAL as unavailable, the book is untouched",
          "[engine][shard]") {
    SimStorage sim(51);
    sim.set_sync_latency(std::chrono::milliseconds(2));
    const auto stream_config = book::testing::make_stream_config(51);
    const ShardLayout layout = stream_layout(stream_config, 1);
    wal::WalOptions options = small_wal();
    options.queue_capacity = 4;
    options.batch_bytes_max = 4096 + 200;  // a batch holds two records
    std::vector<LoggedCommand> logged;
    std::vector<book::Matcher> live;
    {
        wal::WalWriter writer(sim, options);
        ShardDriver driver(layout, writer, 10, 51);
        REQUIRE(driver.run(400));
        CHECK(driver.busy() > 0);
        CHECK(driver.shards()[0].stats().rejected_busy == driver.busy());

        writer.close();
        book::Command order;
        order.instrument = 1;
        order.account = 1;
        order.client_order_id = 987'654;
        order.price = 450;
        order.quantity = 3;
        const std::uint64_t hash = driver.shards()[0].matcher().state_hash();
        const SequenceNumber next = driver.shards()[0].next_seq();
        const std::vector<ShardEvent> events = driver.send(order);
        REQUIRE(events.size() == 1);
        CHECK(events[0].lsn == 0);
        CHECK(events[0].event.type == book::EventType::Rejected);
        CHECK(events[0].event.reject_reason == book::RejectReason::Unavailable);
        CHECK(to_string(events[0].event.reject_reason) == "unavailable");
        CHECK(events[0].event.client_order_id == 987'654);
        CHECK(events[0].event.seq == 0);
        CHECK(driver.shards()[0].matcher().state_hash() == hash);
        CHECK(driver.shards()[0].next_seq() == next);
        logged = driver.logged();
        live.push_back(driver.shards()[0].matcher());
    }
    CHECK(to_string(book::RejectReason::Busy) == "busy");
    const RecoveryResult result = recover(sim, layout, {});
    INFO(result.error);
    REQUIRE(result.ok());
    CHECK(result.commands == logged.size());
    require_same_state(result, live);
}

TEST_CASE("recovery reports progress on long replays and handles an empty log",
          "[engine][replay]") {
    SimStorage sim(61);
    const auto stream_config = book::testing::make_stream_config(61);
    const ShardLayout layout = stream_layout(stream_config, 1);
    const RecoveryResult empty = recover(sim, layout, {});
    CHECK(empty.ok());
    CHECK(empty.records == 0);
    CHECK(empty.next_lsn == 1);
    CHECK(empty.shards[0].next_seq == 1);
    {
        wal::WalWriter writer(sim, small_wal());
        ShardDriver driver(layout, writer, 0, 61);
        REQUIRE(driver.run(3'000));
    }
    RecoveryOptions options;
    options.progress_interval = std::chrono::milliseconds(0);
    std::vector<RecoveryProgress> seen;
    options.on_progress = [&](const RecoveryProgress& p) { seen.push_back(p); };
    const RecoveryResult result = recover(sim, layout, options);
    REQUIRE(result.ok());
    REQUIRE(seen.size() == result.records / 256);
    CHECK(seen.back().records == seen.size() * 256);
    CHECK(seen.back().lsn == seen.back().records);
}
