#include "tools/bench/latency_recorder.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace exchanged::tools {

LatencyRecorder::Summary LatencyRecorder::summarize() {
    Summary summary;
    if (samples_.empty()) {
        return summary;
    }
    std::sort(samples_.begin(), samples_.end());
    auto at = [this](double q) {
        const auto index = static_cast<std::size_t>(q * static_cast<double>(samples_.size() - 1));
        return samples_[index];
    };
    summary.count = samples_.size();
    summary.p50 = at(0.50);
    summary.p99 = at(0.99);
    summary.p999 = at(0.999);
    summary.max = samples_.back();
    summary.mean = static_cast<double>(std::accumulate(samples_.begin(), samples_.end(),
                                                       static_cast<unsigned long long>(0))) /
                   static_cast<double>(samples_.size());
    return summary;
}

std::uint64_t read_cycles() {
#if defined(__x86_64__)
    return __rdtsc();
#else
    return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

CycleClock::CycleClock(int calibration_ms) {
    using clock = std::chrono::steady_clock;
    const auto start_time = clock::now();
    const std::uint64_t start_cycles = read_cycles();
    while (clock::now() - start_time < std::chrono::milliseconds(calibration_ms)) {
    }
    const std::uint64_t cycles = read_cycles() - start_cycles;
    const auto elapsed_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start_time).count();
    if (cycles > 0) {
        ns_per_cycle_ = static_cast<double>(elapsed_ns) / static_cast<double>(cycles);
    }
}

}  // namespace exchanged::tools
