#include "common/histogram.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace exchanged {

void HistogramSnapshot::merge(const HistogramSnapshot& other) {
    if (other.upper_bounds != upper_bounds || other.counts.size() != counts.size()) {
        throw std::invalid_argument("histograms with different bucket bounds cannot be added");
    }
    for (std::size_t i = 0; i < counts.size(); ++i) {
        counts[i] += other.counts[i];
    }
    sum += other.sum;
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
    if (bounds_.empty()) {
        throw std::invalid_argument("a histogram needs at least one bucket bound");
    }
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        if (!std::isfinite(bounds_[i])) {
            throw std::invalid_argument("histogram bound " + std::to_string(i) +
                                        " is not finite (+Inf is implicit)");
        }
        if (i > 0 && !(bounds_[i] > bounds_[i - 1])) {
            throw std::invalid_argument("histogram bounds must be strictly ascending (bound " +
                                        std::to_string(i) + ")");
        }
    }
    buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        buckets_[i].store(0, std::memory_order_relaxed);
    }
}

void Histogram::observe(double value) noexcept {
    std::size_t i = 0;
    while (i < bounds_.size() && !(value <= bounds_[i])) {
        ++i;
    }
    // Single writer: a plain load and store is enough, and cheaper than a locked increment.
    auto& bucket = buckets_[i];
    bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (std::isfinite(value)) {
        sum_.store(sum_.load(std::memory_order_relaxed) + value, std::memory_order_relaxed);
    }
}

HistogramSnapshot Histogram::snapshot() const {
    HistogramSnapshot out;
    out.upper_bounds = bounds_;
    out.counts.resize(bounds_.size() + 1);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        cumulative += buckets_[i].load(std::memory_order_relaxed);
        out.counts[i] = cumulative;
    }
    out.sum = sum_.load(std::memory_order_relaxed);
    return out;
}

std::vector<double> latency_bounds_seconds() {
    return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
            0.025,   0.05,     0.1,     0.25,   0.5,     1,      2.5,   5,      10};
}

std::vector<double> count_bounds() {
    std::vector<double> bounds;
    for (double b = 1; b <= 65536; b *= 2) {
        bounds.push_back(b);
    }
    return bounds;
}

}  // namespace exchanged
