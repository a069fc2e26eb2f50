// A follower's log: records appended under the LSNs the leader gave them (append_replicated), a gap
// or a repeat refused, and a crash that never leaves the follower claiming records it lacks.
#include <catch2/catch.hpp>

#include <random>
#include <thread>

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

// Appends the leader's records from..to (inclusive) as a follower does; stops at a failure.
ReplicatedAppendResult replicate(WalWriter& writer, Lsn from, Lsn to) {
    ReplicatedAppendResult result;
    for (Lsn lsn = from; lsn <= to; ++lsn) {
        const std::vector<std::byte> payload = payload_for(lsn);
        while ((result = writer.append_replicated(lsn, type_for(lsn), payload)).status ==
                   AppendStatus::Busy &&
               !result.not_next) {
            std::this_thread::yield();
        }
        if (result.status != AppendStatus::Ok || result.not_next) {
            return result;
        }
    }
    return result;
}

}  // namespace

TEST_CASE("a follower's log holds the leader's records under the leader's LSNs",
          "[wal][replicated]") {
    SimStorage sim(16);
    {
        WalWriter writer(sim, small_segment_options());
        REQUIRE(writer.next_lsn() == 1);
        const ReplicatedAppendResult result = replicate(writer, 1, 700);
        REQUIRE(result.status == AppendStatus::Ok);
        REQUIRE_FALSE(result.not_next);
        CHECK(writer.wait_durable(700));
        CHECK(writer.next_lsn() == 701);
    }
    const auto read_back = collect(sim);
    CHECK(read_back.result.end == LogEnd::Clean);
    CHECK(read_back.mismatches == 0);
    CHECK(read_back.lsns.size() == 700);
    CHECK(contiguous_from_one(read_back.lsns));
}

TEST_CASE("a gap or a repeated LSN is refused and writes nothing", "[wal][replicated]") {
    SimStorage sim(17);
    {
        WalWriter writer(sim, small_segment_options());
        REQUIRE(replicate(writer, 1, 10).status == AppendStatus::Ok);

        const std::vector<std::byte> payload = payload_for(13);
        const ReplicatedAppendResult gap = writer.append_replicated(13, type_for(13), payload);
        CHECK(gap.not_next);
        CHECK(gap.expected == 11);
        CHECK(gap.error ==
              "replicated record LSN 13 is not the log's next LSN 11 (records 11..12 are missing)");

        const ReplicatedAppendResult repeat = writer.append_replicated(10, type_for(10), payload);
        CHECK(repeat.not_next);
        CHECK(repeat.expected == 11);
        CHECK(repeat.error ==
              "replicated record LSN 10 is not the log's next LSN 11 (the log "
              "already holds it)");
        CHECK(writer.next_lsn() == 11);

        const std::vector<std::byte> too_big(65);
        CHECK(writer.append_replicated(11, 1, too_big).status == AppendStatus::TooLarge);
        CHECK(writer.next_lsn() == 11);
        // The right LSN still goes on.
        REQUIRE(replicate(writer, 11, 20).status == AppendStatus::Ok);
        CHECK(writer.wait_durable(20));
        writer.close();
        CHECK(writer.append_replicated(21, 1, payload).status == AppendStatus::Closed);
    }
    const auto read_back = collect(sim);
    CHECK(read_back.mismatches == 0);
    CHECK(read_back.lsns.size() == 20);
    CHECK(contiguous_from_one(read_back.lsns));
}

TEST_CASE("after a crash a follower's durable LSN never claims records it does not hold",
          "[wal][replicated][crash]") {
    int crashed_runs = 0;
    int lost_unacknowledged = 0;
    for (int seed = 1; seed <= 300; ++seed) {
        INFO("seed " << seed);
        std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
        SimStorage sim(static_cast<std::uint64_t>(seed) * 104729);
        WalOptions options = small_segment_options();
        options.batch_size = 1 + static_cast<std::uint32_t>(rng() % 32);
        sim.crash_at_submit(1 + rng() % 40);

        // What the follower would have acknowledged to the leader: its durable LSN, seen often.
        Lsn highest_reported = 0;
        Lsn sim_appended = 0;  // handed to the writer
        {
            WalWriter writer(sim, options);
            const Lsn records = 50 + rng() % 1500;
            for (Lsn lsn = 1; lsn <= records; ++lsn) {
                const ReplicatedAppendResult result = replicate(writer, lsn, lsn);
                if (result.status != AppendStatus::Ok) {
                    REQUIRE(result.status == AppendStatus::Failed);
                    ++crashed_runs;
                    break;
                }
                highest_reported = std::max(highest_reported, writer.durable_lsn());
                sim_appended = lsn;
            }
            writer.close();
            highest_reported = std::max(highest_reported, writer.durable_lsn());
        }
        const std::string loss = sim.lose_power(rng() % 2 == 0 ? SimStorage::PowerLoss::DropUnsynced
                                                               : SimStorage::PowerLoss::TornPrefix);
        INFO(loss << "; highest durable LSN reported " << highest_reported);

        WalWriter writer(sim, options);
        INFO(writer.recovery().description);
        REQUIRE(writer.recovery().end != LogEnd::Corrupt);
        const Lsn held = writer.recovery().last_lsn;
        lost_unacknowledged += sim_appended > held ? 1 : 0;
        // Every acknowledged record survived, and the restarted follower claims only what it holds
        // (its Hello reports this durable LSN; the leader resends from the next one).
        REQUIRE(held >= highest_reported);
        REQUIRE(writer.durable_lsn() == held);
        REQUIRE(writer.next_lsn() == held + 1);
        const std::vector<std::byte> payload = payload_for(held + 2);
        REQUIRE(writer.append_replicated(held + 2, type_for(held + 2), payload).not_next);
        REQUIRE(replicate(writer, held + 1, held + 10).status == AppendStatus::Ok);
        REQUIRE(writer.wait_durable(held + 10));
        writer.close();
        const auto read_back = collect(sim);
        REQUIRE(read_back.mismatches == 0);
        REQUIRE(read_back.lsns.size() == held + 10);
        REQUIRE(contiguous_from_one(read_back.lsns));
    }
    // The crashes happened and cost records that were handed over but never durable.
    CHECK(crashed_runs > 0);
    CHECK(lost_unacknowledged > 0);
}
