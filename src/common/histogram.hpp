// A fixed-bucket histogram for the daemon's latency and size distributions (docs/operations.md:
// The metrics), written by one thread and read by any. Percentiles are computed by the scraper
// (Prometheus's histogram_quantile) from the cumulative bucket counts, so the writer only counts.
//
// observe() is wait-free and costs the writer a short scan of the bounds and two relaxed
// load/store pairs: no lock, no allocation, no system call, no read-modify-write. That is why it
// needs a single writer; give each writing thread its own histogram (one per shard) and let the
// scrape add them up.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace exchanged {

struct HistogramSnapshot {
    std::vector<double> upper_bounds;   // ascending and finite; the +Inf bucket is implicit
    std::vector<std::uint64_t> counts;  // cumulative, one per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count() const { return counts.empty() ? 0 : counts.back(); }
    // Adds another snapshot with the same bounds (throws std::invalid_argument otherwise).
    void merge(const HistogramSnapshot& other);
};

class Histogram {
  public:
    // `upper_bounds` must be non-empty, finite and strictly ascending (std::invalid_argument).
    explicit Histogram(std::vector<double> upper_bounds);
    Histogram(const Histogram&) = delete;
    Histogram& operator=(const Histogram&) = delete;

    // The single writer's thread only.
    void observe(double value) noexcept;

    // Any thread. Buckets only grow, so successive snapshots never go back; a snapshot taken
    // while the writer observes may miss that one value, in the buckets and the sum alike.
    HistogramSnapshot snapshot() const;
    const std::vector<double>& upper_bounds() const { return bounds_; }

  private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket, not cumulative
    std::atomic<double> sum_{0};
};

// Bounds for the distributions the daemon exports, chosen once so every shard's histogram of
// one kind shares them.
std::vector<double> latency_bounds_seconds();  // 10 us .. 10 s
std::vector<double> count_bounds();            // 1, 2, 4 .. 65536

}  // namespace exchanged
