// The mutation checks (docs/tools.md, "Mutation checks"): with one durability step removed by a
// test-only fault switch, the power-loss cycles must fail and say that acknowledged records were
// lost; the same seeds without the fault must pass. A checker that passes with the step gone
// proves nothing about the step.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "cli_support.hpp"
#include "common/test_fault.hpp"
#include "exchangectl_process.hpp"
#include "temp_file.hpp"
#include "tools/crash/power_loss_cycles.hpp"

using namespace exchanged;
using namespace exchanged::tools;
using Catch::Matchers::Contains;

namespace {

constexpr std::uint64_t kSeeds = 4;

struct Verdict {
    bool all_passed = true;
    std::string first_failure;  // "seed S cycle C (mode): problem"
};

// Seeds 1..kSeeds, 5 cycles each, both power-loss modes.
Verdict run_seeds() {
    Verdict verdict;
    for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
        PowerLossOptions options;
        options.cycles = 5;
        const PowerLossOutcome outcome = run_power_loss(seed, options);
        if (!outcome.passed && verdict.all_passed) {
            verdict.all_passed = false;
            verdict.first_failure =
                "seed " + std::to_string(seed) + " cycle " + std::to_string(outcome.failed_cycle) +
                " (" + to_string(outcome.failed_mode) +
                "): " + (outcome.problems.empty() ? "?" : outcome.problems.front());
        }
    }
    return verdict;
}

void check_caught(test_fault::Fault fault) {
    const Verdict clean = run_seeds();
    INFO("without the fault: " << clean.first_failure);
    REQUIRE(clean.all_passed);
    Verdict faulty;
    {
        test_fault::ScopedFault armed(fault);
        faulty = run_seeds();
    }
    INFO("with " << test_fault::name(fault) << ": " << faulty.first_failure);
    CHECK(!faulty.all_passed);
    // It fails for the right reason: what was acknowledged (or stored) did not survive.
    CHECK_THAT(faulty.first_failure, Contains("lost"));
}

}  // namespace

TEST_CASE("the power loss checks catch a WAL commit without fdatasync",
          "[tools][crash][power-loss][mutation]") {
    check_caught(test_fault::Fault::SkipWalFdatasync);
}

TEST_CASE("the power loss checks catch a segment created or renamed without a directory fsync",
          "[tools][crash][power-loss][mutation]") {
    check_caught(test_fault::Fault::SkipDirectorySync);
}

TEST_CASE("the power loss checks catch acks released one batch before it is durable",
          "[tools][crash][power-loss][mutation]") {
    check_caught(test_fault::Fault::EarlyAcks);
}

TEST_CASE("the fault switches are off unless armed, and arm by name only",
          "[tools][crash][power-loss][mutation]") {
    for (const test_fault::Fault fault : test_fault::kAllFaults) {
        CHECK_FALSE(test_fault::armed(fault));
        CHECK(test_fault::parse(test_fault::name(fault)) == fault);
    }
    CHECK_FALSE(test_fault::parse("SKIP_WAL_FDATASYNC").has_value());
    CHECK_FALSE(test_fault::parse("").has_value());
    {
        test_fault::ScopedFault armed(test_fault::Fault::EarlyAcks);
        CHECK(test_fault::armed(test_fault::Fault::EarlyAcks));
        CHECK_FALSE(test_fault::armed(test_fault::Fault::SkipWalFdatasync));
    }
    CHECK_FALSE(test_fault::armed(test_fault::Fault::EarlyAcks));
}

TEST_CASE("exchangectl crash power-loss --test-fault fails loudly and names the fault",
          "[tools][crash][power-loss][mutation]") {
    test::TempDir dir;
    const test::CommandResult run =
        test::ctl(dir, {"crash", "power-loss", "--cycles", "4", "--seed", "1", "--per-seed", "4",
                        "--test-fault", "early_acks"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.err, Contains("TEST FAULT 'early_acks' ARMED"));
    CHECK_THAT(run.out, Contains("TEST FAULT early_acks"));
    CHECK_THAT(run.out, Contains("acknowledged records lost"));
    CHECK_THAT(run.out, Contains("--test-fault early_acks"));  // in the reproduce line

    const test::CommandResult bad =
        test::ctl(dir, {"crash", "power-loss", "--cycles", "1", "--test-fault", "slow_disk"});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Contains("--test-fault: 'slow_disk' is not one of skip_wal_fdatasync"));

    // A fault these cycles cannot exercise is refused rather than "passing" unnoticed.
    const test::CommandResult elsewhere = test::ctl(
        dir, {"crash", "power-loss", "--cycles", "1", "--test-fault", "store_ack_before_commit"});
    INFO(elsewhere.out << elsewhere.err);
    CHECK(elsewhere.exit_code == 2);
    CHECK_THAT(elsewhere.err, Contains("acts in the daemon's flush worker"));
}
