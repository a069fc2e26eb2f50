// Latency samples for benchmarks: a preallocated buffer filled without allocation while timing, and
// exact percentiles afterwards. Also a cycle counter calibrated to nanoseconds, so that timing one
// command costs a few nanoseconds instead of a clock_gettime call.
#pragma once

#include <cstdint>
#include <vector>

namespace exchanged::tools {

class LatencyRecorder {
  public:
    explicit LatencyRecorder(std::size_t capacity) { samples_.reserve(capacity); }

    void record(std::uint64_t nanoseconds) {
        if (samples_.size() < samples_.capacity()) {
            samples_.push_back(nanoseconds);
        }
    }

    struct Summary {
        std::uint64_t count = 0;
        std::uint64_t p50 = 0;
        std::uint64_t p99 = 0;
        std::uint64_t p999 = 0;
        std::uint64_t max = 0;
        double mean = 0;
    };
    // Sorts the samples in place.
    Summary summarize();

  private:
    std::vector<std::uint64_t> samples_;
};

// Reads the CPU's invariant cycle counter (falls back to steady_clock off x86).
std::uint64_t read_cycles();

class CycleClock {
  public:
    // Measures the cycle counter's rate against steady_clock for about `calibration_ms`.
    explicit CycleClock(int calibration_ms = 50);
    std::uint64_t to_ns(std::uint64_t cycles) const {
        return static_cast<std::uint64_t>(static_cast<double>(cycles) * ns_per_cycle_);
    }
    std::uint64_t from_ns(double ns) const {
        return static_cast<std::uint64_t>(ns / ns_per_cycle_);
    }
    double ns_per_cycle() const { return ns_per_cycle_; }

  private:
    double ns_per_cycle_ = 1.0;
};

}  // namespace exchanged::tools
