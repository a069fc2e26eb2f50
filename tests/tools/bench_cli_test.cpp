// `exchangectl bench wal` as a process: a short run completes and reports the WAL beside the ideal
// writer measured in the slices between its own, and bad flags are refused naming the flag. What
// the figures are is for docs/benchmarks.md; here only that each is measured at all.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "cli_support.hpp"
#include "exchangectl_process.hpp"
#include "temp_file.hpp"

using namespace exchanged;
using Catch::Matchers::Contains;
using test::ctl;
using test::json_number;

TEST_CASE("bench wal: a short interleaved run measures both the WAL and the ideal writer",
          "[tools][cli][bench]") {
    test::TempDir dir;
    // The smallest run that still warms up into recycled segments and interleaves: a few
    // seconds in Release, a minute or more under the sanitizers, hence the long deadline.
    test::ExchangectlProcess bench(
        {"bench", "wal", "--records", "1000", "--rate", "20000", "--offered-seconds", "1",
         "--slice-ms", "100", "--segment-mib", "1", "--dir", dir.path().string(), "--json"},
        dir.path() / "bench-wal");
    const test::CommandResult run{bench.wait(600), bench.out(), bench.err()};
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK_THAT(run.out, Contains("\"slice_ms\": 100") && Contains("\"pace\": \"sleep\""));
    CHECK(json_number(run.out, "offered_records") == 20000);
    CHECK(json_number(run.out, "durable_p50_us") > 0);
    CHECK(json_number(run.out, "disk_floor_p50_us") > 0);
    CHECK(json_number(run.out, "p99_over_floor") > 0);
    // The warm-up fills the log until segments are recycled, so the offered phase rotates.
    CHECK(json_number(run.out, "offered_rotations") >= 1);
}

TEST_CASE("bench wal: bad flags are refused naming the flag", "[tools][cli][bench]") {
    test::TempDir dir;
    const test::CommandResult pace = ctl(dir, {"bench", "wal", "--pace", "nap"});
    CHECK(pace.exit_code == 2);
    CHECK_THAT(pace.err, Contains("--pace must be sleep or spin, not 'nap'"));
    const test::CommandResult floor = ctl(dir, {"bench", "wal", "--floor-seconds", "3"});
    CHECK(floor.exit_code == 2);
    CHECK_THAT(floor.err, Contains("--floor-seconds applies only with --slice-ms 0"));
}
