// exchangectl bench jitter: how often this machine takes the CPU away from a spinning thread, and
// for how long. An open-loop latency percentile can never be better than this noise floor, so the
// matching benchmark's open-loop numbers are read next to it (docs/benchmarks.md).
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "common/cli_args.hpp"
#include "tools/latency_recorder.hpp"
#include "tools/subcommands.hpp"

namespace exchanged::tools {
namespace {

constexpr CliOption kOptions[] = {{"seconds", true}, {"json", false}};
constexpr std::uint64_t kStallThresholdNs = 1'000;

}  // namespace

int bench_jitter_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional().front() + "'");
    }
    const std::uint64_t seconds = args.unsigned_or("seconds", 5, 1, 3600);
    const CycleClock clock;
    // Buckets by power of two of microseconds: [1,2), [2,4), ... [512, inf).
    constexpr std::size_t kBuckets = 10;
    std::vector<std::uint64_t> stalls(kBuckets, 0);
    std::uint64_t stalled_ns = 0;
    std::uint64_t longest_ns = 0;
    const std::uint64_t end = read_cycles() + clock.from_ns(static_cast<double>(seconds) * 1e9);
    std::uint64_t previous = read_cycles();
    while (previous < end) {
        const std::uint64_t now = read_cycles();
        const std::uint64_t gap_ns = clock.to_ns(now - previous);
        previous = now;
        if (gap_ns < kStallThresholdNs) {
            continue;
        }
        std::size_t bucket = 0;
        while (bucket + 1 < kBuckets && (gap_ns >> (bucket + 1)) >= kStallThresholdNs) {
            ++bucket;
        }
        ++stalls[bucket];
        stalled_ns += gap_ns;
        longest_ns = std::max(longest_ns, gap_ns);
    }
    std::uint64_t total = 0;
    for (std::uint64_t n : stalls) {
        total += n;
    }
    const double lost_percent =
        100.0 * static_cast<double>(stalled_ns) / (static_cast<double>(seconds) * 1e9);
    if (args.has("json")) {
        std::printf("{\"seconds\":%" PRIu64 ",\"stalls\":%" PRIu64
                    ",\"stalls_per_sec\":%.1f,"
                    "\"lost_percent\":%.3f,\"longest_us\":%.1f}\n",
                    seconds, total, static_cast<double>(total) / static_cast<double>(seconds),
                    lost_percent, static_cast<double>(longest_ns) / 1e3);
        return 0;
    }
    std::printf("bench jitter: a spinning thread lost the CPU %" PRIu64 " times in %" PRIu64
                " s (%.1f/s), %.3f%% of the time, longest %.1f us\n",
                total, seconds, static_cast<double>(total) / static_cast<double>(seconds),
                lost_percent, static_cast<double>(longest_ns) / 1e3);
    for (std::size_t bucket = 0; bucket < kBuckets; ++bucket) {
        if (stalls[bucket] > 0) {
            std::printf("  %4llu us%s %8" PRIu64 "\n", 1ull << bucket,
                        bucket + 1 < kBuckets ? "+" : "+ (and longer)", stalls[bucket]);
        }
    }
    return 0;
}

}  // namespace exchanged::tools
