// Salvage of damage outside the records (ScanOptions::salvage, WalOptions::salvage): a damaged
// segment header loses nothing (the records behind it carry their own LSN and checksum), a missing
// segment loses exactly its LSNs, and what salvage cannot skip stops the scan and the writer
// instead of ending the log early, where the writer would reuse acknowledged LSNs.
#include <catch2/catch.hpp>

#include <thread>

#include "wal/segment_format.hpp"
#include "wal/sim_storage.hpp"
#include "wal/wal_writer.hpp"
#include "wal_test_util.hpp"

using namespace exchanged::wal;
using exchanged::wal::test::collect;
using exchanged::wal::test::contiguous_from_one;
using exchanged::wal::test::payload_for;
using exchanged::wal::test::type_for;

namespace {

WalOptions salvage_options(bool salvage) {
    WalOptions options = test::small_segment_options();
    options.salvage = salvage;
    return options;
}

void append_range(WalWriter& writer, Lsn from, Lsn to) {
    for (Lsn lsn = from; lsn <= to; ++lsn) {
        const std::vector<std::byte> payload = payload_for(lsn);
        AppendResult result;
        while ((result = writer.try_append(type_for(lsn), payload)).status == AppendStatus::Busy) {
            std::this_thread::yield();
        }
        REQUIRE(result.status == AppendStatus::Ok);
        REQUIRE(result.lsn == lsn);
    }
    REQUIRE(writer.wait_durable(to));
}

ScanOptions with_salvage() {
    ScanOptions options;
    options.salvage = true;
    return options;
}

}  // namespace

TEST_CASE("salvage reads the records behind a damaged segment header and appends after them",
          "[wal][recovery][salvage]") {
    SimStorage sim(21);
    {
        WalWriter writer(sim, salvage_options(false));
        append_range(writer, 1, 1000);
    }
    const auto clean = collect(sim);
    REQUIRE(clean.result.segments.size() >= 3);
    const SegmentInfo middle = clean.result.segments[1];
    sim.flip_bit(middle.name, 30, 2);  // the first LSN field: the header's checksum fails

    const auto refused = collect(sim);
    CHECK(refused.result.end == LogEnd::Corrupt);
    CHECK(refused.result.corrupt_segment == middle.name);
    CHECK(refused.result.corrupt_offset == 0);
    CHECK(refused.result.stopped_at_damage);
    CHECK(refused.result.salvageable);
    CHECK_THAT(refused.result.error, Catch::Contains("bad header"));

    const auto salvaged = collect(sim, with_salvage());
    CHECK(salvaged.result.end == LogEnd::Corrupt);
    CHECK_FALSE(salvaged.result.stopped_at_damage);
    CHECK(salvaged.lsns.size() == 1000);  // nothing lost: only the header was damaged
    CHECK(contiguous_from_one(salvaged.lsns));
    CHECK(salvaged.mismatches == 0);
    REQUIRE(salvaged.result.skipped.size() == 1);
    CHECK(salvaged.result.skipped[0].segment == middle.name);
    CHECK(salvaged.result.skipped[0].after_lsn + 1 == salvaged.result.skipped[0].resume_lsn);

    // The writer continues at LSN 1001 and never writes into (or over) the damaged segment.
    CHECK_THROWS_AS(WalWriter(sim, salvage_options(false)), WalError);
    {
        WalWriter writer(sim, salvage_options(true));
        CHECK(writer.next_lsn() == 1001);
        append_range(writer, 1001, 1400);
    }
    const auto after = collect(sim, with_salvage());
    CHECK(after.lsns.size() == 1400);
    CHECK(contiguous_from_one(after.lsns));
    CHECK(after.mismatches == 0);
}

TEST_CASE("salvage skips a missing segment and reports exactly its LSNs as lost",
          "[wal][recovery][salvage]") {
    SimStorage sim(22);
    {
        WalWriter writer(sim, salvage_options(false));
        append_range(writer, 1, 1000);
    }
    const auto clean = collect(sim);
    REQUIRE(clean.result.segments.size() >= 3);
    const SegmentInfo middle = clean.result.segments[1];
    const Lsn next_first = clean.result.segments[2].first_lsn;
    sim.remove(middle.name);

    const auto salvaged = collect(sim, with_salvage());
    REQUIRE(salvaged.result.skipped.size() == 1);
    CHECK(salvaged.result.skipped[0].after_lsn == middle.first_lsn - 1);
    CHECK(salvaged.result.skipped[0].resume_lsn == next_first);
    CHECK(salvaged.lsns.size() == 1000 - (next_first - middle.first_lsn));
    CHECK(salvaged.mismatches == 0);
}

TEST_CASE("salvage stops at a segment of another log instead of ending the log there",
          "[wal][recovery][salvage]") {
    SimStorage sim(23);
    SimStorage other(24);
    for (SimStorage* storage : {&sim, &other}) {
        WalWriter writer(*storage, salvage_options(false));
        append_range(writer, 1, 1000);
    }
    const std::string middle = collect(sim).result.segments[1].name;
    REQUIRE(collect(other).result.segments[1].name == middle);
    sim.write_durable(middle, 0, other.contents(middle));

    const auto salvaged = collect(sim, with_salvage());
    CHECK(salvaged.result.end == LogEnd::Corrupt);
    CHECK(salvaged.result.stopped_at_damage);
    CHECK_FALSE(salvaged.result.salvageable);
    CHECK_THAT(salvaged.result.error, Catch::Contains("belongs to another log") &&
                                          Catch::Contains("salvage cannot skip this"));
    // Before this fix the salvaging writer appended after the last good record, reusing the
    // LSNs of the segments after the damage.
    CHECK_THROWS_AS(WalWriter(sim, salvage_options(true)), WalError);
}
