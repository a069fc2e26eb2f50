// A scan that starts at the segment holding from_lsn (ScanOptions::skip_segments_below_from): the
// store's catch-up reads a live log step after step and must not re-read every earlier segment.
#include <catch2/catch.hpp>

#include <thread>

#include "wal/segment_format.hpp"
#include "wal/sim_storage.hpp"
#include "wal/wal_writer.hpp"
#include "wal_test_util.hpp"

using namespace exchanged::wal;
using exchanged::wal::test::collect;
using exchanged::wal::test::payload_for;
using exchanged::wal::test::type_for;

namespace {

// Segment first LSNs (from the file names), ascending.
std::vector<std::pair<Lsn, std::string>> segments_of(Storage& storage) {
    std::vector<std::pair<Lsn, std::string>> segments;
    for (const std::string& name : storage.list_files()) {
        if (const auto lsn = parse_segment_file_name(name)) {
            segments.emplace_back(*lsn, name);
        }
    }
    std::sort(segments.begin(), segments.end());
    return segments;
}

}  // namespace

TEST_CASE("a scan from an LSN may skip the segments wholly below it, and only those",
          "[wal][scan]") {
    SimStorage sim(31);
    WalOptions options = test::small_segment_options();
    options.max_recycled_segments = 0;
    Lsn last = 0;
    {
        WalWriter writer(sim, options);
        while (writer.stats().rotations < 5) {
            const Lsn lsn = writer.next_lsn();
            AppendResult result;
            while ((result = writer.try_append(type_for(lsn), payload_for(lsn))).status ==
                   AppendStatus::Busy) {
                std::this_thread::yield();
            }
            REQUIRE(result.status == AppendStatus::Ok);
            last = result.lsn;
        }
        REQUIRE(writer.wait_durable(last));
        writer.close();
    }
    const auto segments = segments_of(sim);
    REQUIRE(segments.size() >= 4);
    // Damage in the first segment: a whole-log scan must stop at it, a skipping one never reads it.
    sim.flip_bit(segments[0].second, kSegmentHeaderBytes + 20, 3);

    ScanOptions from_third;
    from_third.from_lsn = segments[2].first + 5;
    const auto whole = collect(sim, from_third);
    CHECK(whole.result.end == LogEnd::Corrupt);
    CHECK(whole.lsns.empty());

    from_third.skip_segments_below_from = true;
    const auto skipped = collect(sim, from_third);
    CHECK(skipped.result.end == LogEnd::Clean);
    CHECK(skipped.result.last_lsn == last);
    CHECK(skipped.mismatches == 0);
    REQUIRE_FALSE(skipped.lsns.empty());
    CHECK(skipped.lsns.front() == from_third.from_lsn);
    CHECK(skipped.lsns.back() == last);
    for (const std::string& segment : skipped.segments) {
        CHECK(segment != segments[0].second);
        CHECK(segment != segments[1].second);
    }

    SECTION("the segment holding from_lsn itself is read, even when from_lsn is its first") {
        ScanOptions at_start;
        at_start.from_lsn = segments[2].first;
        at_start.skip_segments_below_from = true;
        const auto read = collect(sim, at_start);
        CHECK(read.result.end == LogEnd::Clean);
        REQUIRE_FALSE(read.lsns.empty());
        CHECK(read.lsns.front() == segments[2].first);
        CHECK(read.segments.front() == segments[2].second);
    }
    SECTION("salvage still reads the whole log") {
        from_third.salvage = true;
        const auto salvaged = collect(sim, from_third);
        CHECK(salvaged.result.end == LogEnd::Corrupt);
        CHECK(salvaged.result.skipped.size() == 1);
    }
}
