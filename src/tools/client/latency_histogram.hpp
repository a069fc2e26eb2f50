// Latency counts in log-linear buckets (128 per power of two, so under 1% error), for the load
// generator: its memory is fixed whatever the number of orders, unlike keeping every sample.
#pragma once

#include <array>
#include <cstdint>

namespace exchanged::tools {

class LatencyHistogram {
  public:
    void record(std::uint64_t nanoseconds);
    void merge(const LatencyHistogram& other);

    std::uint64_t count() const { return count_; }
    std::uint64_t max() const { return max_; }
    double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
    // The smallest recorded value such that a `fraction` of the samples are at or below it, as
    // the middle of its bucket (exact below 256 ns); 0 when empty.
    std::uint64_t percentile(double fraction) const;

  private:
    static constexpr int kSubBits = 7;
    static constexpr std::uint64_t kExact = 2u << kSubBits;  // values below are their own bucket
    static constexpr std::size_t kBuckets = kExact + (64 - kSubBits - 1) * (1u << kSubBits);
    static std::size_t bucket_of(std::uint64_t value);
    static std::uint64_t middle_of(std::size_t bucket);

    std::array<std::uint64_t, kBuckets> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
    std::uint64_t sum_ = 0;
};

}  // namespace exchanged::tools
