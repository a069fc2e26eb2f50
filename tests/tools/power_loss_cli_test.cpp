// `exchangectl crash power-loss` as a process: the counts it ends with, its JSON line, and exit
// status 2 with a message for every bad flag.
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
using test::last_line;

TEST_CASE("exchangectl crash power-loss runs seeded cycles and reports them",
          "[tools][crash][power-loss]") {
    test::TempDir dir;
    const test::CommandResult run =
        ctl(dir, {"crash", "power-loss", "--cycles", "12", "--seed", "5", "--per-seed", "4"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 0);
    CHECK_THAT(run.out, Contains("power-loss: 12 cycles from seed 5, up to 4 per seed, mode all"));
    CHECK_THAT(run.out, Contains("seeds 5..7: commands logged "));
    CHECK_THAT(run.out, Contains("torn tails "));
    CHECK_THAT(run.out, Contains("fingerprint "));
    CHECK(last_line(run.out) == "12 passed, 0 failed");

    const test::CommandResult json = ctl(
        dir, {"crash", "power-loss", "--cycles", "12", "--seed", "5", "--per-seed", "4", "--json"});
    INFO(json.out << json.err);
    CHECK(json.exit_code == 0);
    CHECK(json_number(json.out, "cycles") == 12);
    CHECK(json_number(json.out, "passed") == 12);
    CHECK(json_number(json.out, "failed") == 0);
    CHECK(json_number(json.out, "seeds") == 3);
    CHECK(json_number(json.out, "commands_logged") > 0);
    CHECK_THAT(json.out, Contains("\"failures\": []"));
    // The same seeds give the same crashes: the text run printed the same fingerprint.
    const std::size_t at = json.out.find("\"fingerprint\": \"");
    REQUIRE(at != std::string::npos);
    CHECK_THAT(run.out, Contains("fingerprint " + json.out.substr(at + 16, 16)));
}

TEST_CASE("exchangectl crash power-loss runs one mode at a time", "[tools][crash][power-loss]") {
    test::TempDir dir;
    for (const std::string mode : {"drop", "torn", "flip"}) {
        const test::CommandResult run = ctl(dir, {"crash", "power-loss", "--cycles", "4", "--mode",
                                                  mode, "--store-dir", dir.path().string()});
        INFO(mode << "\n" << run.out << run.err);
        CHECK(run.exit_code == 0);
        CHECK_THAT(run.out, Contains("mode " + mode));
        CHECK(last_line(run.out) == "4 passed, 0 failed");
    }
}

TEST_CASE("exchangectl crash power-loss refuses bad flags with status 2",
          "[tools][crash][power-loss]") {
    test::TempDir dir;
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--mode", "sideways"}, "--mode: 'sideways' is not drop, torn, flip or all"},
        {{"--cycles", "0"}, "cycles"},
        {{"--cycles", "many"}, "is not a whole number"},
        {{"--seed"}, "option --seed needs a value"},
        {{"--per-seed", "0"}, "per-seed"},
        {{"--bogus"}, "unknown option --bogus"},
        {{"extra"}, "unexpected argument 'extra'"},
        {{"--store-dir", (dir.path() / "absent").string()}, "is not a directory"},
    };
    for (const auto& [flags, message] : cases) {
        std::vector<std::string> args{"crash", "power-loss"};
        args.insert(args.end(), flags.begin(), flags.end());
        const test::CommandResult run = ctl(dir, args);
        INFO(flags.front() << "\n" << run.out << run.err);
        CHECK(run.exit_code == 2);
        CHECK_THAT(run.err, Contains(message));
        CHECK_THAT(run.err, Contains("usage: exchangectl crash power-loss"));
    }
}
