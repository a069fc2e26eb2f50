// exchangectl bench jitter: how often this machine takes the CPU away from a spinning thread, and
// for how long; with --rate, the open-loop percentiles of a command that only spins. An open-loop
// latency percentile can never be better than this noise floor, so the matching benchmark's
// open-loop numbers are read next to it (docs/benchmarks.md). With --period-us, a thread that
// sleeps to an absolute schedule and records how late it wakes: the stall probe run beside the
// end-to-end benchmarks, cheap enough (one wake-up per period) not to take a core from them.
#include <sys/prctl.h>
#include <time.h>

#include <cinttypes>
#include <cstdio>
#include <vector>

#include "common/cli_args.hpp"
#include "tools/bench/latency_recorder.hpp"
#include "tools/cli/subcommands.hpp"

namespace exchanged::tools {
namespace {

constexpr CliOption kOptions[] = {
    {"seconds", true}, {"rate", true}, {"work-ns", true}, {"period-us", true}, {"json", false}};
constexpr std::uint64_t kStallThresholdNs = 1'000;

// The open-loop schedule of bench match with a command that only spins for `work_ns`: the best
// open-loop percentiles any code with that service time can show on this machine.
int run_null_open_loop(double rate, std::uint64_t work_ns, std::uint64_t seconds, bool json) {
    const CycleClock clock;
    const auto commands = static_cast<std::size_t>(rate * static_cast<double>(seconds));
    LatencyRecorder recorder(commands);
    const std::uint64_t interval = clock.from_ns(1e9 / rate);
    const std::uint64_t work = clock.from_ns(static_cast<double>(work_ns));
    std::uint64_t due = read_cycles();
    for (std::size_t i = 0; i < commands; ++i) {
        std::uint64_t begin = read_cycles();
        while (begin < due) {
            begin = read_cycles();
        }
        begin = due;
        due += interval;
        const std::uint64_t until = read_cycles() + work;
        while (read_cycles() < until) {
        }
        recorder.record(clock.to_ns(read_cycles() - begin));
    }
    const LatencyRecorder::Summary s = recorder.summarize();
    if (json) {
        std::printf("{\"rate\":%.0f,\"work_ns\":%" PRIu64 ",\"commands\":%" PRIu64
                    ",\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 ",\"p999_ns\":%" PRIu64
                    ",\"max_ns\":%" PRIu64 "}\n",
                    rate, work_ns, s.count, s.p50, s.p99, s.p999, s.max);
    } else {
        std::printf("bench jitter: open loop at %.0f/s, each command spinning %" PRIu64
                    " ns: p50 %" PRIu64 " ns  p99 %" PRIu64 " ns  p99.9 %" PRIu64
                    " ns  max %" PRIu64 " ns\n",
                    rate, work_ns, s.p50, s.p99, s.p999, s.max);
    }
    return 0;
}

std::uint64_t monotonic_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(now.tv_nsec);
}

// Sleeps to every period's absolute deadline and records how late each wake-up was. A frozen
// machine shows as late wake-ups; the wake-up cost itself (tens of µs in a guest) is the floor.
int run_sleep_probe(std::uint64_t period_us, std::uint64_t seconds, bool json) {
    // The default 50 µs timer slack would be read as lateness.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    const std::uint64_t period_ns = period_us * 1'000;
    const std::uint64_t wakeups = seconds * 1'000'000 / period_us;
    LatencyRecorder recorder(wakeups);
    constexpr std::uint64_t kLateNs = 1'000'000;
    std::uint64_t late = 0;
    std::uint64_t due = monotonic_ns();
    for (std::uint64_t i = 0; i < wakeups; ++i) {
        due += period_ns;
        timespec at{};
        at.tv_sec = static_cast<time_t>(due / 1'000'000'000u);
        at.tv_nsec = static_cast<long>(due % 1'000'000'000u);
        while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) != 0) {
        }
        const std::uint64_t woke = monotonic_ns();
        const std::uint64_t lateness = woke > due ? woke - due : 0;
        late += lateness > kLateNs ? 1 : 0;
        recorder.record(lateness);
        if (woke > due + period_ns) {
            due = woke - woke % period_ns;  // a stall: resume the schedule, do not burst
        }
    }
    const LatencyRecorder::Summary s = recorder.summarize();
    if (json) {
        std::printf("{\"period_us\":%" PRIu64 ",\"seconds\":%" PRIu64 ",\"wakeups\":%" PRIu64
                    ",\"late_over_1ms\":%" PRIu64 ",\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64
                    ",\"p999_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 "}\n",
                    period_us, seconds, s.count, late, s.p50, s.p99, s.p999, s.max);
    } else {
        std::printf("bench jitter: a thread sleeping to a %" PRIu64
                    " us schedule woke late by p50 %" PRIu64 " ns  p99 %" PRIu64
                    " ns  p99.9 %" PRIu64 " ns  max %" PRIu64 " ns; %" PRIu64 " of %" PRIu64
                    " wake-ups over 1 ms late\n",
                    period_us, s.p50, s.p99, s.p999, s.max, late, s.count);
    }
    return 0;
}

}  // namespace

int bench_jitter_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional().front() + "'");
    }
    const std::uint64_t seconds = args.unsigned_or("seconds", 5, 1, 3600);
    if (args.has("period-us")) {
        if (args.has("rate") || args.has("work-ns")) {
            throw CliError("--period-us (the sleeping probe) excludes --rate and --work-ns");
        }
        return run_sleep_probe(args.unsigned_or("period-us", 1000, 10, 1'000'000), seconds,
                               args.has("json"));
    }
    if (args.has("rate")) {
        const auto rate = static_cast<double>(args.unsigned_or("rate", 0, 1, 100'000'000));
        return run_null_open_loop(rate, args.unsigned_or("work-ns", 100, 0, 1'000'000), seconds,
                                  args.has("json"));
    }
    if (args.has("work-ns")) {
        throw CliError("--work-ns goes with --rate");
    }
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
