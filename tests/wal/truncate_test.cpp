// wal::truncate_log_after: a log cut back to keep_lsn continues there, and a power loss between
// any two of its steps leaves a prefix of the old log that scans clean (never garbage in between).
#include <catch2/catch.hpp>

#include <set>

#include "wal/log_truncate.hpp"
#include "wal/sim_storage.hpp"
#include "wal_test_util.hpp"

using namespace exchanged::wal;
using namespace exchanged::wal::test;

namespace {

// Writes records 1..last deterministically.
void write_log(Storage& storage, Lsn last) {
    WalWriter writer(storage, small_segment_options());
    for (Lsn lsn = 1; lsn <= last; ++lsn) {
        AppendResult result;
        while ((result = writer.try_append(type_for(lsn), payload_for(lsn))).status ==
               AppendStatus::Busy) {
        }
        REQUIRE(result.lsn == lsn);
    }
    REQUIRE(writer.wait_durable(last));
}

// The LSNs at which a segment ends (a crash in step 1 may leave the log ending at one).
std::set<Lsn> segment_ends(Storage& storage) {
    const Collected before = collect(storage);
    std::set<Lsn> ends;
    for (const SegmentInfo& segment : before.result.segments) {
        if (segment.first_lsn > 1) {
            ends.insert(segment.first_lsn - 1);
        }
    }
    return ends;
}

struct Crash {};

}  // namespace

TEST_CASE("a cut log ends at keep_lsn and a writer continues after it", "[wal][truncate]") {
    for (const Lsn keep : {Lsn{0}, Lsn{1}, Lsn{137}, Lsn{300}, Lsn{599}, Lsn{600}, Lsn{700}}) {
        INFO("keep " << keep);
        SimStorage sim(keep + 1);
        write_log(sim, 600);
        const std::size_t segments_before = collect(sim).result.segments.size();
        REQUIRE(segments_before > 2);
        const TruncateReport report = truncate_log_after(sim, keep);
        const Lsn expected_last = std::min<Lsn>(keep, 600);
        CHECK(report.old_last_lsn == 600);
        CHECK(report.last_lsn == expected_last);
        CHECK(report.cut == (keep < 600));
        const Collected after = collect(sim);
        CHECK(after.result.end == LogEnd::Clean);
        CHECK(after.result.last_lsn == expected_last);
        CHECK(after.result.next_lsn == expected_last + 1);
        CHECK(after.mismatches == 0);
        CHECK(contiguous_from_one(after.lsns));
        for (const std::string& name : sim.list_files()) {
            CHECK(name.find("cut") == std::string::npos);
            CHECK(name != "wal-truncating.tmp");
        }
        {
            WalWriter writer(sim, small_segment_options());
            REQUIRE(writer.next_lsn() == expected_last + 1);
            for (Lsn lsn = expected_last + 1; lsn <= expected_last + 50; ++lsn) {
                REQUIRE(writer.try_append(type_for(lsn), payload_for(lsn)).lsn == lsn);
            }
            REQUIRE(writer.wait_durable(expected_last + 50));
        }
        const Collected continued = collect(sim);
        CHECK(continued.result.end == LogEnd::Clean);
        CHECK(continued.result.last_lsn == expected_last + 50);
        CHECK(continued.mismatches == 0);
        CHECK(contiguous_from_one(continued.lsns));
    }
}

TEST_CASE("a power loss after any step of a cut leaves a clean prefix of the old log",
          "[wal][truncate]") {
    for (const auto mode :
         {SimStorage::PowerLoss::DropUnsynced, SimStorage::PowerLoss::TornPrefix}) {
        for (int crash_after = 1; crash_after <= 6; ++crash_after) {
            INFO("crash after step " << crash_after << " mode " << static_cast<int>(mode));
            SimStorage sim(static_cast<std::uint64_t>(crash_after) * 7 + 1);
            write_log(sim, 900);
            const Lsn keep = 250;  // in an early segment: several later ones to rename away
            std::set<Lsn> allowed = segment_ends(sim);
            allowed.insert(keep);
            allowed.insert(900);
            int steps = 0;
            bool crashed = false;
            try {
                truncate_log_after(sim, keep, [&](TruncateStep) {
                    if (++steps == crash_after) {
                        throw Crash{};
                    }
                });
            } catch (const Crash&) {
                crashed = true;
            }
            sim.lose_power(mode);
            const Collected after = collect(sim);
            INFO(after.result.describe());
            CHECK(after.result.end != LogEnd::Corrupt);
            CHECK(allowed.count(after.result.last_lsn) == 1);
            CHECK(after.result.last_lsn >= keep);
            CHECK(after.mismatches == 0);
            CHECK(contiguous_from_one(after.lsns));
            if (!crashed) {
                CHECK(after.result.last_lsn == keep);
            }
            // Cutting again completes the repair.
            truncate_log_after(sim, keep);
            const Collected repaired = collect(sim);
            CHECK(repaired.result.end == LogEnd::Clean);
            CHECK(repaired.result.last_lsn == keep);
            CHECK(contiguous_from_one(repaired.lsns));
        }
    }
}

TEST_CASE("a cut below the log's first record is refused", "[wal][truncate]") {
    SimStorage sim(3);
    write_log(sim, 900);
    {
        WalWriter writer(sim, small_segment_options());
        writer.release_below(600);
        writer.wait_background_idle();
    }
    const Collected before = collect(sim);
    REQUIRE(before.result.first_lsn > 2);
    CHECK_THROWS_WITH(
        truncate_log_after(sim, 1),
        Catch::Contains("it starts at LSN " + std::to_string(before.result.first_lsn)));
}
