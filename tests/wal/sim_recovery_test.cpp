// The WAL on simulated storage: crash points, torn tails, bit flips, refused logs, fatal fsync.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <random>
#include <thread>

#include "../sanitizer_scale.hpp"
#include "wal/record_format.hpp"
#include "wal/segment_format.hpp"
#include "wal/sim_storage.hpp"
#include "wal/wal_writer.hpp"
#include "wal_test_util.hpp"

using namespace exchanged::wal;
using exchanged::wal::test::collect;
using exchanged::wal::test::contiguous_from_one;
using exchanged::wal::test::payload_for;
using exchanged::wal::test::small_segment_options;
using exchanged::wal::test::type_for;

namespace {

// Appends records LSN from..to (inclusive, as the writer numbers them) and waits until durable.
void append_range(WalWriter& writer, Lsn from, Lsn to) {
    for (Lsn lsn = from; lsn <= to; ++lsn) {
        const std::vector<std::byte> payload = payload_for(lsn);
        AppendResult result;
        while ((result = writer.try_append(type_for(lsn), payload)).status == AppendStatus::Busy) {
            std::this_thread::yield();
        }
        INFO(writer.failure());
        REQUIRE(result.status == AppendStatus::Ok);
        REQUIRE(result.lsn == lsn);
    }
    INFO(writer.failure());
    REQUIRE(writer.wait_durable(to));
}

// Finds a record's segment and offset with a scan.
struct Place {
    std::string segment;
    std::uint64_t offset = 0;
    std::size_t bytes = 0;
};

Place place_of(Storage& storage, Lsn lsn) {
    Place place;
    scan_log(storage, {}, [&](const RecordView& record) {
        if (record.lsn == lsn) {
            place = Place{*record.segment, record.offset, record.payload.size() + 18};
        }
    });
    REQUIRE(!place.segment.empty());
    return place;
}

}  // namespace

TEST_CASE("thousands of seeded crash points lose no durable record", "[wal][crash]") {
    constexpr int kCrashPoints = exchanged::sanitizer::scaled(2000);
    int torn_endings = 0;
    for (int seed = 1; seed <= kCrashPoints; ++seed) {
        INFO("seed " << seed);
        std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
        SimStorage sim(static_cast<std::uint64_t>(seed) * 7919);
        WalOptions options = small_segment_options();
        options.batch_size = 1 + static_cast<std::uint32_t>(rng() % 32);
        options.commit_when_idle = rng() % 2 == 0;
        options.batch_timeout_ms = static_cast<std::uint32_t>(rng() % 2);
        sim.set_sync_latency(std::chrono::microseconds(rng() % 40));
        sim.crash_at_submit(1 + rng() % 60);

        Lsn durable_before_crash = 0;
        {
            WalWriter writer(sim, options);
            const std::uint64_t records = 50 + rng() % 3000;
            for (Lsn lsn = 1; lsn <= records; ++lsn) {
                const std::vector<std::byte> payload = payload_for(lsn);
                AppendResult result;
                while ((result = writer.try_append(type_for(lsn), payload)).status ==
                       AppendStatus::Busy) {
                    std::this_thread::yield();
                }
                if (result.status != AppendStatus::Ok) {
                    REQUIRE(result.status == AppendStatus::Failed);
                    break;
                }
                REQUIRE(result.lsn == lsn);
                if (rng() % 64 == 0) {
                    writer.wait_durable(lsn);
                }
            }
            writer.close();
            durable_before_crash = writer.durable_lsn();
        }
        const auto mode = rng() % 2 == 0 ? SimStorage::PowerLoss::DropUnsynced
                                         : SimStorage::PowerLoss::TornPrefix;
        const std::string loss = sim.lose_power(mode);
        INFO(loss << "; durable before crash " << durable_before_crash);

        Lsn last = 0;
        {
            WalWriter writer(sim, options);  // recovery must succeed: clean or torn, never corrupt
            const RecoveryReport& report = writer.recovery();
            INFO(report.description);
            REQUIRE(report.end != LogEnd::Corrupt);
            torn_endings += report.end == LogEnd::TornTail ? 1 : 0;
            last = report.last_lsn;
            REQUIRE(last >= durable_before_crash);
            append_range(writer, last + 1, last + 20);
            writer.close();
        }
        const auto read_back = collect(sim);
        INFO(read_back.result.describe());
        REQUIRE(read_back.result.end == LogEnd::Clean);
        REQUIRE(read_back.mismatches == 0);
        REQUIRE(contiguous_from_one(read_back.lsns));
        REQUIRE(read_back.lsns.size() == last + 20);
    }
    CHECK(torn_endings > 0);
}

TEST_CASE("a torn tail is truncated, reported, and appends continue", "[wal][recovery]") {
    SimStorage sim(1);
    const WalOptions options = small_segment_options();
    {
        WalWriter writer(sim, options);
        append_range(writer, 1, 100);
    }
    // A partial record after the last one: the first 30 bytes of what would be LSN 101.
    const Place last = place_of(sim, 100);
    std::vector<std::byte> record(18 + 60);
    encode_record(101, 1, payload_for(101), record);
    record.resize(30);
    sim.write_durable(last.segment, last.offset + last.bytes, record);

    const auto before = collect(sim);
    CHECK(before.result.end == LogEnd::TornTail);
    CHECK(before.result.torn_bytes == 30);
    CHECK(before.result.tail_offset == last.offset + last.bytes);
    CHECK(before.lsns.size() == 100);
    {
        WalWriter writer(sim, options);
        CHECK(writer.recovery().end == LogEnd::TornTail);
        CHECK(writer.recovery().torn_bytes == 30);
        CHECK(writer.recovery().last_lsn == 100);
        append_range(writer, 101, 150);
    }
    const auto after = collect(sim);
    CHECK(after.result.end == LogEnd::Clean);
    CHECK(after.mismatches == 0);
    CHECK(after.lsns.size() == 150);
    CHECK(contiguous_from_one(after.lsns));
}

// The zeros after a tail are skipped a block at a time: the torn bytes must end exactly at the last
// non-zero byte whatever its place in a block.
TEST_CASE("a torn tail's end is found at every alignment", "[wal][recovery]") {
    for (std::size_t torn = 5; torn <= 200; ++torn) {
        SimStorage sim(1);
        {
            WalWriter writer(sim, small_segment_options());
            append_range(writer, 1, 20);
        }
        const Place last = place_of(sim, 20);
        // A length field that no record can have, zeros, and one stray byte: the torn bytes end
        // after it, at every offset within a 64-byte block in turn.
        std::vector<std::byte> garbage(torn, std::byte{0});
        std::fill_n(garbage.begin(), 4, std::byte{0x5A});
        garbage.back() = std::byte{0x5A};
        sim.write_durable(last.segment, last.offset + last.bytes, garbage);
        const auto scanned = collect(sim);
        INFO("torn bytes " << torn << ": " << scanned.result.describe());
        REQUIRE(scanned.result.end == LogEnd::TornTail);
        REQUIRE(scanned.result.tail_offset == last.offset + last.bytes);
        REQUIRE(scanned.result.tail_dirty_end == last.offset + last.bytes + torn);
        REQUIRE(scanned.lsns.size() == 20);
    }
}

TEST_CASE("a bit flip in the middle is refused with its exact place", "[wal][recovery]") {
    SimStorage sim(2);
    const WalOptions options = small_segment_options();
    {
        WalWriter writer(sim, options);
        append_range(writer, 1, 100);
    }
    const Place victim = place_of(sim, 50);
    sim.flip_bit(victim.segment, victim.offset + 20, 3);

    const auto scanned = collect(sim);
    CHECK(scanned.result.end == LogEnd::Corrupt);
    CHECK(scanned.result.corrupt_segment == victim.segment);
    CHECK(scanned.result.corrupt_offset == victim.offset);
    CHECK(scanned.result.corrupt_after_lsn == 49);
    CHECK(scanned.result.corrupt_next_lsn == 51);
    CHECK(scanned.lsns.size() == 49);
    const std::string expected_place =
        victim.segment + " at offset " + std::to_string(victim.offset);
    CHECK_THAT(scanned.result.error, Catch::Contains(expected_place));
    CHECK_THAT(scanned.result.error, Catch::Contains("last good LSN 49"));
    CHECK_THAT(scanned.result.error, Catch::Contains("next valid record LSN 51"));

    try {
        WalWriter writer(sim, options);
        FAIL("recovery accepted a corrupt log");
    } catch (const WalError& e) {
        CHECK_THAT(std::string(e.what()), Catch::Contains(expected_place));
    }

    // The operator's salvage option skips exactly the damaged record.
    ScanOptions salvage;
    salvage.salvage = true;
    const auto salvaged = collect(sim, salvage);
    CHECK(salvaged.result.end == LogEnd::Corrupt);
    CHECK(salvaged.lsns.size() == 99);
    CHECK(std::find(salvaged.lsns.begin(), salvaged.lsns.end(), 50) == salvaged.lsns.end());
    CHECK(salvaged.mismatches == 0);
    REQUIRE(salvaged.result.skipped.size() == 1);
    CHECK(salvaged.result.skipped[0].resume_lsn == 51);
}

TEST_CASE("corruption is found even when the valid records after it are in a later segment",
          "[wal][recovery]") {
    SimStorage sim(3);
    const WalOptions options = small_segment_options();
    {
        WalWriter writer(sim, options);
        append_range(writer, 1, 1000);
    }
    const auto clean = collect(sim);
    REQUIRE(clean.result.segments.size() >= 3);
    // Damage the last record of the first segment: its successors live in the next file.
    const SegmentInfo& first = clean.result.segments[0];
    const Lsn victim_lsn = clean.result.segments[1].first_lsn - 1;
    const Place victim = place_of(sim, victim_lsn);
    REQUIRE(victim.segment == first.name);
    sim.flip_bit(victim.segment, victim.offset + 10, 0);
    const auto scanned = collect(sim);
    CHECK(scanned.result.end == LogEnd::Corrupt);
    CHECK(scanned.result.corrupt_offset == victim.offset);
    CHECK(scanned.result.corrupt_next_lsn == victim_lsn + 1);
}

TEST_CASE("a bit flip in the last record counts as a torn tail", "[wal][recovery]") {
    SimStorage sim(4);
    const WalOptions options = small_segment_options();
    {
        WalWriter writer(sim, options);
        append_range(writer, 1, 100);
    }
    const Place victim = place_of(sim, 100);
    sim.flip_bit(victim.segment, victim.offset + 12, 5);
    const auto scanned = collect(sim);
    CHECK(scanned.result.end == LogEnd::TornTail);
    CHECK(scanned.result.torn_bytes == victim.bytes);
    CHECK(scanned.lsns.size() == 99);
    {
        WalWriter writer(sim, options);
        CHECK(writer.recovery().last_lsn == 99);
        append_range(writer, 100, 120);
    }
    const auto after = collect(sim);
    CHECK(after.result.end == LogEnd::Clean);
    CHECK(after.lsns.size() == 120);
    CHECK(after.mismatches == 0);
}

TEST_CASE("an LSN gap, a foreign segment and a renamed segment are refused", "[wal][recovery]") {
    const WalOptions options = small_segment_options();
    SimStorage sim(5);
    SimStorage other(6);
    for (SimStorage* storage : {&sim, &other}) {
        WalWriter writer(*storage, options);
        append_range(writer, 1, 1000);
    }
    const auto clean = collect(sim);
    REQUIRE(clean.result.segments.size() >= 3);
    const std::string middle = clean.result.segments[1].name;

    SECTION("LSN gap") {
        sim.remove(middle);
        const auto scanned = collect(sim);
        CHECK(scanned.result.end == LogEnd::Corrupt);
        CHECK_THAT(scanned.result.error, Catch::Contains("LSN gap"));
        CHECK_THROWS_AS(WalWriter(sim, options), WalError);
    }
    SECTION("segment of another log") {
        REQUIRE(collect(other).result.segments[1].name == middle);
        const std::vector<std::byte> foreign = other.contents(middle);
        sim.write_durable(middle, 0, foreign);
        const auto scanned = collect(sim);
        CHECK(scanned.result.end == LogEnd::Corrupt);
        CHECK_THAT(scanned.result.error, Catch::Contains("belongs to another log"));
        CHECK_THAT(scanned.result.error, Catch::Contains(middle));
    }
    SECTION("header disagrees with the file name") {
        const std::string last = clean.result.segments.back().name;
        const Lsn first_lsn = *parse_segment_file_name(last);
        sim.rename(last, segment_file_name(first_lsn + 1), true);
        const auto scanned = collect(sim);
        CHECK(scanned.result.end == LogEnd::Corrupt);
        CHECK_THAT(scanned.result.error, Catch::Contains("but the file name says"));
    }
}

TEST_CASE("an fdatasync error is fatal, named, and never retried", "[wal][failure]") {
    SimStorage sim(7);
    WalOptions options = small_segment_options();
    std::string reported;
    options.on_failed = [&](const std::string& error) { reported = error; };
    WalWriter writer(sim, options);
    append_range(writer, 1, 10);
    const WalStats before = writer.stats();
    sim.fail_next_sync(EIO);
    const std::vector<std::byte> payload = payload_for(11);
    REQUIRE(writer.try_append(type_for(11), payload).status == AppendStatus::Ok);
    CHECK_FALSE(writer.wait_durable(11));
    CHECK(writer.state() == WalState::Failed);
    CHECK(writer.durable_lsn() == 10);
    CHECK_THAT(writer.failure(), Catch::Contains("Input/output error"));
    CHECK_THAT(writer.failure(), Catch::Contains("wal-00000000000000000001.log"));
    CHECK(writer.try_append(0, payload).status == AppendStatus::Failed);
    writer.close();
    CHECK(reported == writer.failure());
    CHECK(writer.stats().batches == before.batches);
}

TEST_CASE("appends are refused when the queue is full or the record too large", "[wal][limits]") {
    SimStorage sim(8);
    WalOptions options = small_segment_options();
    options.queue_capacity = 4;
    options.commit_when_idle = false;
    options.batch_size = 1000;
    options.batch_timeout_ms = 200;
    sim.set_sync_latency(std::chrono::milliseconds(100));
    WalWriter writer(sim, options);
    const std::vector<std::byte> too_big(65);
    CHECK(writer.try_append(1, too_big).status == AppendStatus::TooLarge);
    int busy = 0;
    for (int i = 0; i < 1000 && busy == 0; ++i) {
        busy += writer.try_append(1, payload_for(1)).status == AppendStatus::Busy ? 1 : 0;
    }
    CHECK(busy == 1);
    writer.close();
    CHECK(writer.try_append(1, payload_for(1)).status == AppendStatus::Closed);
}

TEST_CASE("release_below deletes whole segments below the LSN and the log still opens",
          "[wal][release]") {
    SimStorage sim(9);
    const WalOptions options = small_segment_options();
    Lsn cut = 0;
    {
        WalWriter writer(sim, options);
        append_range(writer, 1, 1500);
        const auto before = collect(sim);
        REQUIRE(before.result.segments.size() >= 4);
        cut = before.result.segments[2].first_lsn + 5;
        writer.release_below(cut);
        append_range(writer, 1501, 1510);
    }
    const auto after = collect(sim);
    CHECK(after.result.end == LogEnd::Clean);
    REQUIRE_FALSE(after.lsns.empty());
    CHECK(after.lsns.front() <= cut);
    CHECK(after.lsns.front() > 1);
    CHECK(after.lsns.back() == 1510);
    WalWriter reopened(sim, options);
    CHECK(reopened.recovery().last_lsn == 1510);
    CHECK(reopened.next_lsn() == 1511);
}

TEST_CASE("a flipped bit anywhere in synced data never yields a wrong record", "[wal][crash]") {
    for (int seed = 1; seed <= 200; ++seed) {
        INFO("seed " << seed);
        SimStorage sim(static_cast<std::uint64_t>(seed));
        const WalOptions options = small_segment_options();
        {
            WalWriter writer(sim, options);
            append_range(writer, 1, 400);
        }
        INFO(sim.lose_power(SimStorage::PowerLoss::FlipSyncedBit));
        const auto scanned = collect(sim);
        CHECK(scanned.mismatches == 0);
        CHECK(contiguous_from_one(scanned.lsns));
    }
}

TEST_CASE("a scan up to an LSN stops there and leaves what follows unread", "[wal][recovery]") {
    SimStorage sim(12);
    const WalOptions options = small_segment_options();
    {
        WalWriter writer(sim, options);
        append_range(writer, 1, 1000);
    }
    // Damage after the stop point: a live log's end, being written, can look like this.
    const Place victim = place_of(sim, 900);
    sim.flip_bit(victim.segment, victim.offset + 20, 3);
    ScanOptions window;
    window.from_lsn = 301;
    window.to_lsn = 700;
    const auto scanned = collect(sim, window);
    CHECK(scanned.result.end == LogEnd::Clean);
    CHECK(scanned.result.last_lsn == 700);
    REQUIRE(scanned.lsns.size() == 400);
    CHECK(scanned.lsns.front() == 301);
    CHECK(scanned.lsns.back() == 700);
    CHECK(scanned.mismatches == 0);
    // Without the bound the damage is found.
    CHECK(collect(sim).result.end == LogEnd::Corrupt);
}
