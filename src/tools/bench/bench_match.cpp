// exchangectl bench match: throughput and per-command latency of the matching core on one thread.
// Three passes over the same pre-generated commands, each on a fresh matcher: an untimed pass for
// commands/s, then a pass timing every command (closed loop, or open loop at --rate so a stall is
// charged to every command scheduled behind it). The passes must end in the same state hash.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

#include "book/matcher.hpp"
#include "common/cli_args.hpp"
#include "tools/bench/latency_recorder.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/workloads/lobster.hpp"
#include "tools/workloads/match_workloads.hpp"

namespace exchanged::tools {
namespace {

constexpr CliOption kOptions[] = {
    {"orders", true}, {"seed", true},  {"workload", true},
    {"rate", true},   {"json", false}, {"data", true},
};

// The LOBSTER message file: --data as given, or the first default location that exists (relative
// to the current directory, then to the repository the binary was built in).
std::string lobster_data_path(const CliArgs& args) {
    if (const auto data = args.text("data")) {
        if (!std::filesystem::exists(*data)) {
            throw CliError("--data: no such file '" + *data + "'");
        }
        return *data;
    }
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::vector<std::string> tried = lobster::default_message_paths(ec ? "" : exe.string());
    for (const std::string& path : tried) {
        if (std::filesystem::exists(path)) {
            return path;
        }
    }
    std::string message = "--workload lobster: no LOBSTER message file at";
    for (std::size_t i = 0; i < tried.size(); ++i) {
        message += (i == 0 ? " '" : " or '") + tried[i] + "'";
    }
    throw CliError(message + "; pass one with --data FILE");
}

struct ThroughputResult {
    double seconds = 0;
    std::uint64_t events = 0;
    std::uint64_t trades = 0;
    std::uint64_t state_hash = 0;
};

ThroughputResult run_untimed(const Workload& workload) {
    book::Matcher matcher(workload.instruments, workload.limits);
    std::vector<book::Event> events;
    events.reserve(1 << 16);
    ThroughputResult result;
    const auto start = std::chrono::steady_clock::now();
    for (const book::Command& command : workload.commands) {
        events.clear();
        matcher.apply(command, events);
        result.events += events.size();
    }
    const auto stop = std::chrono::steady_clock::now();
    result.seconds = std::chrono::duration<double>(stop - start).count();
    result.trades = matcher.next_trade_id() - 1;
    result.state_hash = matcher.state_hash();
    return result;
}

// Latency is also kept per kind of command, since the tail belongs to orders that trade.
enum CommandKind : std::size_t {
    kRests,
    kTrades,
    kRejected,
    kCancel,
    kReplace,
    kMassCancel,
    kKinds
};
constexpr const char* kKindNames[kKinds] = {
    "new order, no trade", "new order that traded", "rejected", "cancel", "replace", "mass cancel"};

CommandKind kind_of(const book::Command& command, const std::vector<book::Event>& events) {
    switch (command.type) {
        case book::CommandType::Cancel:
            return kCancel;
        case book::CommandType::Replace:
            return kReplace;
        case book::CommandType::MassCancel:
            return kMassCancel;
        case book::CommandType::NewOrder:
            break;
    }
    for (const book::Event& event : events) {
        if (event.type == book::EventType::Rejected) {
            return kRejected;
        }
        if (event.type == book::EventType::Trade) {
            return kTrades;
        }
    }
    return kRests;
}

// Times each command with the cycle counter. With rate > 0 command i is due at start + i/rate and
// its latency counts from that moment, not from when the loop got to it.
std::uint64_t run_timed(const Workload& workload, double rate, const CycleClock& clock,
                        LatencyRecorder& recorder, std::vector<LatencyRecorder>& by_kind) {
    book::Matcher matcher(workload.instruments, workload.limits);
    std::vector<book::Event> events;
    events.reserve(1 << 16);
    const std::uint64_t interval_cycles = rate > 0 ? clock.from_ns(1e9 / rate) : 0;
    const std::uint64_t start = read_cycles();
    std::uint64_t due = start;
    for (const book::Command& command : workload.commands) {
        std::uint64_t begin = read_cycles();
        if (rate > 0) {
            while (begin < due) {
                begin = read_cycles();
            }
            begin = due;
            due += interval_cycles;
        }
        events.clear();
        matcher.apply(command, events);
        const std::uint64_t latency_ns = clock.to_ns(read_cycles() - begin);
        recorder.record(latency_ns);
        by_kind[kind_of(command, events)].record(latency_ns);
    }
    return matcher.state_hash();
}

}  // namespace

int bench_match_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional().front() + "'");
    }
    const std::uint64_t orders = args.unsigned_or("orders", 2'000'000, 1, 100'000'000);
    const std::uint64_t seed = args.unsigned_or("seed", 1);
    const std::string workload_name = args.text_or("workload", "mix");
    const double rate = static_cast<double>(args.unsigned_or("rate", 0, 0, 1'000'000'000));
    const bool json = args.has("json");

    if (args.has("data") && workload_name != "lobster") {
        throw CliError("--data is only used by --workload lobster");
    }

    Workload workload;
    if (workload_name == "mix") {
        workload = make_mix_workload(orders, seed);
    } else if (workload_name == "liquibook") {
        workload = make_liquibook_workload(orders, seed);
    } else if (workload_name == "lobster") {
        workload = lobster::make_lobster_workload(lobster_data_path(args), orders);
    } else {
        throw CliError("--workload: '" + workload_name + "' is not one of mix, liquibook, lobster");
    }

    const ThroughputResult throughput = run_untimed(workload);
    const CycleClock clock;
    LatencyRecorder recorder(workload.commands.size());
    std::vector<LatencyRecorder> by_kind;
    for (std::size_t kind = 0; kind < kKinds; ++kind) {
        by_kind.emplace_back(workload.commands.size());
    }
    const std::uint64_t timed_hash = run_timed(workload, rate, clock, recorder, by_kind);
    if (timed_hash != throughput.state_hash) {
        std::fprintf(stderr,
                     "bench match: the two passes ended in different states (%016" PRIx64
                     " vs %016" PRIx64 "): the matcher is not deterministic\n",
                     throughput.state_hash, timed_hash);
        return 1;
    }
    const LatencyRecorder::Summary latency = recorder.summarize();
    const double per_sec = static_cast<double>(orders) / throughput.seconds;

    if (json) {
        std::printf(
            "{\"workload\":\"%s\",\"commands\":%" PRIu64 ",\"seed\":%" PRIu64
            ",\"commands_per_sec\":%.0f,\"ns_per_command\":%.1f,\"latency_mode\":\"%s\","
            "\"offered_rate\":%.0f,\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64
            ",\"p999_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 ",\"mean_ns\":%.1f,\"events\":%" PRIu64
            ",\"trades\":%" PRIu64 ",\"state_hash\":\"%016" PRIx64 "\"}\n",
            workload.name.c_str(), orders, seed, per_sec, 1e9 / per_sec,
            rate > 0 ? "open_loop" : "closed_loop", rate, latency.p50, latency.p99, latency.p999,
            latency.max, latency.mean, throughput.events, throughput.trades, throughput.state_hash);
        return 0;
    }
    std::printf("bench match: workload=%s commands=%" PRIu64 " seed=%" PRIu64 "\n",
                workload.name.c_str(), orders, seed);
    std::printf("  mix: %s\n", workload.description.c_str());
    std::printf("  throughput: %.0f commands/s (%.1f ns/command), %" PRIu64 " events, %" PRIu64
                " trades\n",
                per_sec, 1e9 / per_sec, throughput.events, throughput.trades);
    if (rate > 0) {
        std::printf("  latency, open loop at %.0f commands/s (from scheduled time):\n", rate);
    } else {
        std::printf("  latency, closed loop (one command at a time):\n");
    }
    std::printf("    p50 %" PRIu64 " ns  p99 %" PRIu64 " ns  p99.9 %" PRIu64 " ns  max %" PRIu64
                " ns  mean %.1f ns\n",
                latency.p50, latency.p99, latency.p999, latency.max, latency.mean);
    for (std::size_t kind = 0; kind < kKinds; ++kind) {
        const LatencyRecorder::Summary k = by_kind[kind].summarize();
        if (k.count > 0) {
            std::printf("      %-22s %9" PRIu64 " commands  p50 %5" PRIu64 "  p99 %6" PRIu64
                        "  p99.9 %6" PRIu64 " ns\n",
                        kKindNames[kind], k.count, k.p50, k.p99, k.p999);
        }
    }
    std::printf("  state hash %016" PRIx64 " (equal in both passes)\n", throughput.state_hash);
    return 0;
}

}  // namespace exchanged::tools
