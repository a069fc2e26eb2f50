// `exchangectl lobster check` as a process: any ticker's day replays (the instrument comes from the
// data), the last line is `N passed, M failed`, and the exit code tells a mismatch from a match.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "exchangectl_process.hpp"
#include "temp_file.hpp"

namespace exchanged::test {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

std::string write_file(const TempDir& dir, const std::string& name, const std::string& text) {
    return dir.write(name, text);
}

TEST_CASE("lobster check replays another ticker's day and fails on a mismatch",
          "[tools][lobster]") {
    TempDir dir;
    // A $5 stock: orders, an execution of order 1, a partial cancel and a delete.
    const auto good = write_file(dir, "CHEAP_2020-01-02_34200000_57600000_message_1.csv",
                                 "1.0,1,1,100,50000,-1\n"
                                 "1.1,1,2,200,50100,-1\n"
                                 "1.2,1,3,300,49900,1\n"
                                 "2.0,4,1,40,50000,-1\n"
                                 "2.1,2,2,50,50100,-1\n"
                                 "2.2,3,3,300,49900,1\n");
    const CommandResult ok =
        run_exchangectl({"lobster", "check", "--message", good}, dir.path() / "good");
    INFO(ok.out << ok.err);
    CHECK(ok.exit_code == 0);
    CHECK_THAT(ok.out, Contains("instrument CHEAP from the data: tick 100, prices 49900..50100"));
    CHECK_THAT(ok.out, Contains("top-of-book violations not checked (no orderbook file)"));
    CHECK_THAT(ok.out, EndsWith("1 passed, 0 failed\n"));

    // The orderbook file beside it is found by name; its first row shows a better bid than ours
    // could be, its others are consistent.
    write_file(dir, "CHEAP_2020-01-02_34200000_57600000_orderbook_1.csv",
               "50000,100,-9999999999,0\n"
               "50000,100,-9999999999,0\n"
               "50000,100,49900,300\n"
               "50000,60,49900,300\n"
               "50000,60,49900,300\n"
               "50000,60,-9999999999,0\n");
    const CommandResult tops =
        run_exchangectl({"lobster", "check", "--message", good}, dir.path() / "tops");
    INFO(tops.out << tops.err);
    CHECK(tops.exit_code == 0);
    CHECK_THAT(tops.out, Contains("top-of-book violations 0"));

    // The execution names a price the order does not rest at: the replay disagrees with the data.
    const auto bad = write_file(dir, "bad.csv",
                                "1.0,1,1,100,50000,-1\n"
                                "1.1,1,2,100,50100,-1\n"
                                "2.0,4,1,40,50100,-1\n");
    const CommandResult mismatch =
        run_exchangectl({"lobster", "check", "--message", bad}, dir.path() / "bad");
    INFO(mismatch.out << mismatch.err);
    CHECK(mismatch.exit_code == 1);
    CHECK_THAT(mismatch.out, Contains("line 3: expected maker 1 qty 40 at 50000"));
    CHECK_THAT(mismatch.out, EndsWith("0 passed, 1 failed\n"));

    const CommandResult garbage =
        run_exchangectl({"lobster", "check", "--message", write_file(dir, "g.csv", "x,y\n")},
                        dir.path() / "garbage");
    CHECK(garbage.exit_code == 1);
    CHECK_THAT(garbage.err, Contains("g.csv:1: expected 6 columns"));

    const CommandResult usage = run_exchangectl({"lobster", "check"}, dir.path() / "usage");
    CHECK(usage.exit_code == 2);
    CHECK_THAT(usage.err, Contains("--message FILE is required"));
}

}  // namespace
}  // namespace exchanged::test
