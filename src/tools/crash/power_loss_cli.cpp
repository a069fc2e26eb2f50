// `exchangectl crash power-loss`: the seed's scenario B as many seeded crash cycles in one process
// (power_loss_cycles.hpp). Seeds S, S+1, ... each run up to --per-seed cycles on one exchange
// until --cycles cycles have run; every failed cycle prints one line with its seed, cycle and
// what was wrong, and the command that reproduces it.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/cli_args.hpp"
#include "common/test_fault.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/crash/power_loss_cycles.hpp"

namespace exchanged::tools {
namespace {

struct Modes {
    std::string name;
    std::vector<PowerLossMode> modes;
};

Modes parse_modes(const std::string& text) {
    if (text == "drop") {
        return {text, {PowerLossMode::Drop}};
    }
    if (text == "torn") {
        return {text, {PowerLossMode::Torn}};
    }
    if (text == "flip") {
        return {text, {PowerLossMode::Flip}};
    }
    if (text == "all") {
        return {text, {PowerLossMode::Drop, PowerLossMode::Torn}};
    }
    throw CliError("--mode: '" + text + "' is not drop, torn, flip or all");
}

std::string json_escape(const std::string& text) {
    std::string out;
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

unsigned long long ull(std::uint64_t value) {
    return static_cast<unsigned long long>(value);
}

}  // namespace

int power_loss_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {
        {"cycles", true}, {"seed", true},      {"per-seed", true},  {"mode", true},
        {"json", false},  {"store-dir", true}, {"test-fault", true}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional()[0] + "'");
    }
    const std::uint64_t cycles = args.unsigned_or("cycles", 1000, 1, 100'000'000);
    const std::uint64_t first_seed = args.unsigned_or("seed", 1);
    const auto per_seed = static_cast<std::uint32_t>(args.unsigned_or("per-seed", 10, 1, 10'000));
    const Modes modes = parse_modes(args.text_or("mode", "all"));
    const bool json = args.has("json");
    PowerLossOptions options;
    options.modes = modes.modes;
    options.scratch_dir = args.text_or("store-dir", "");
    if (!options.scratch_dir.empty() && !std::filesystem::is_directory(options.scratch_dir)) {
        throw CliError("--store-dir: '" + options.scratch_dir.string() + "' is not a directory");
    }

    // Hidden (docs/tools.md, "Mutation checks"): breaks one durability step on purpose, so that
    // a test can show these cycles fail without it.
    std::string fault_note;
    if (args.has("test-fault")) {
        const std::string name = args.text_or("test-fault", "");
        const std::optional<test_fault::Fault> fault = test_fault::parse(name);
        if (!fault) {
            throw CliError("--test-fault: '" + name + "' is not one of " + test_fault::names());
        }
        if (*fault == test_fault::Fault::StoreAckBeforeCommit) {
            throw CliError("--test-fault: '" + name +
                           "' acts in the daemon's flush worker, which these cycles do not run");
        }
        if (*fault == test_fault::Fault::QuorumLeaderOnly) {
            throw CliError("--test-fault: '" + name +
                           "' acts on a replicated leader's quorum (tests/repl/cluster_test.sh)");
        }
        if (*fault == test_fault::Fault::SkipDivergenceTruncate) {
            throw CliError("--test-fault: '" + name +
                           "' acts on a replication follower's divergence repair "
                           "(tests/repl/link_test.cpp)");
        }
        if (*fault == test_fault::Fault::PromoteAnyLog) {
            throw CliError("--test-fault: '" + name +
                           "' acts on exchangectl cluster promote (tests/repl/promote_test.sh)");
        }
        if (*fault == test_fault::Fault::LeaseIgnoreExpiry) {
            throw CliError("--test-fault: '" + name +
                           "' acts on a daemon's etcd lease (tests/repl/failover_test.sh)");
        }
        if (*fault == test_fault::Fault::RestartResumeTerm) {
            throw CliError("--test-fault: '" + name +
                           "' acts on a replicated leader's restart (tests/repl/new_term_test.sh)");
        }
        if (*fault == test_fault::Fault::RefuseNewerEpoch ||
            *fault == test_fault::Fault::AdoptWithoutPersist) {
            throw CliError("--test-fault: '" + name +
                           "' acts on a replication follower's adoption of a newer epoch "
                           "(tests/repl/link_test.cpp, tests/repl/promote_test.sh)");
        }
        test_fault::arm(*fault);
        fault_note = std::string(", TEST FAULT ") + test_fault::name(*fault);
    }

    if (!json) {
        std::printf("power-loss: %llu cycles from seed %llu, up to %u per seed, mode %s%s\n",
                    ull(cycles), ull(first_seed), per_seed, modes.name.c_str(), fault_note.c_str());
        std::fflush(stdout);
    }
    const auto start = std::chrono::steady_clock::now();
    PowerLossStats total;
    std::uint64_t passed = 0;
    std::uint64_t failed = 0;
    std::uint64_t seeds = 0;
    std::vector<std::string> failures;
    std::uint64_t seed = first_seed;
    while (passed + failed < cycles) {
        options.cycles =
            static_cast<std::uint32_t>(std::min<std::uint64_t>(per_seed, cycles - passed - failed));
        const PowerLossOutcome outcome = run_power_loss(seed, options);
        ++seeds;
        total.add(outcome.stats);
        passed += outcome.stats.cycles;
        if (!outcome.passed) {
            ++failed;
            std::string line = "FAIL seed " + std::to_string(seed) + " cycle " +
                               std::to_string(outcome.failed_cycle) + " (" +
                               to_string(outcome.failed_mode) + "): ";
            line += outcome.problems.empty() ? "?" : outcome.problems.front();
            for (std::size_t i = 1; i < outcome.problems.size(); ++i) {
                line += "\n  " + outcome.problems[i];
            }
            line += "\n  reproduce: exchangectl crash power-loss --seed " + std::to_string(seed) +
                    " --cycles " + std::to_string(std::max(outcome.failed_cycle, 1u)) +
                    " --per-seed " + std::to_string(per_seed) + " --mode " + modes.name +
                    (fault_note.empty() ? "" : " --test-fault " + args.text_or("test-fault", ""));
            std::fprintf(json ? stderr : stdout, "%s\n", line.c_str());
            std::fflush(json ? stderr : stdout);
            failures.push_back(line);
        }
        ++seed;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = seconds > 0 ? static_cast<double>(passed + failed) / seconds : 0;
    if (json) {
        std::printf(
            "{\"cycles\": %llu, \"passed\": %llu, \"failed\": %llu, \"seeds\": %llu, "
            "\"first_seed\": %llu, \"per_seed\": %u, \"mode\": \"%s\", \"commands_logged\": %llu, "
            "\"commands_acked\": %llu, \"orders_acked\": %llu, \"trades_acked\": %llu, "
            "\"records_beyond_durable\": %llu, \"crashes_beyond_durable\": %llu, "
            "\"torn_tails\": %llu, \"resent\": %llu, \"resent_duplicates\": %llu, "
            "\"refusals\": %llu, \"store_batches\": %llu, \"fingerprint\": \"%016llx\", "
            "\"seconds\": %.3f, "
            "\"cycles_per_second\": %.1f, \"failures\": [",
            ull(passed + failed), ull(passed), ull(failed), ull(seeds), ull(first_seed), per_seed,
            modes.name.c_str(), ull(total.commands_logged), ull(total.commands_acked),
            ull(total.orders_acked), ull(total.trades_acked), ull(total.beyond_durable),
            ull(total.crashes_beyond), ull(total.torn_tails), ull(total.resent),
            ull(total.resent_duplicates), ull(total.refusals), ull(total.store_batches),
            ull(total.fingerprint), seconds, rate);
        for (std::size_t i = 0; i < failures.size(); ++i) {
            std::printf("%s\"%s\"", i == 0 ? "" : ", ", json_escape(failures[i]).c_str());
        }
        std::printf("]}\n");
        return failed == 0 ? 0 : 1;
    }
    std::printf(
        "seeds %llu..%llu: commands logged %llu, acknowledged %llu (orders %llu, trades %llu); "
        "records kept beyond the durable LSN %llu (in %llu crashes); torn tails %llu; "
        "unacknowledged orders resent %llu (%llu refused as duplicates: they had survived); "
        "store flushes %llu",
        ull(first_seed), ull(seed - 1), ull(total.commands_logged), ull(total.commands_acked),
        ull(total.orders_acked), ull(total.trades_acked), ull(total.beyond_durable),
        ull(total.crashes_beyond), ull(total.torn_tails), ull(total.resent),
        ull(total.resent_duplicates), ull(total.store_batches));
    if (total.refusals > 0) {
        std::printf("; recoveries refused after a flipped bit %llu", ull(total.refusals));
    }
    std::printf("\nfingerprint %016llx (the same seeds give the same crashes and recoveries)\n",
                ull(total.fingerprint));
    std::printf("%.1f s, %.0f cycles/s\n", seconds, rate);
    std::printf("%llu passed, %llu failed\n", ull(passed), ull(failed));
    return failed == 0 ? 0 : 1;
}

}  // namespace exchanged::tools
