#include "tools/client/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace exchanged::tools {

std::size_t LatencyHistogram::bucket_of(std::uint64_t value) {
    if (value < kExact) {
        return static_cast<std::size_t>(value);
    }
    const int exponent = std::bit_width(value) - 1;  // >= kSubBits + 1
    const std::uint64_t sub = (value >> (exponent - kSubBits)) & ((1u << kSubBits) - 1);
    return kExact + static_cast<std::size_t>(exponent - kSubBits - 1) * (1u << kSubBits) +
           static_cast<std::size_t>(sub);
}

std::uint64_t LatencyHistogram::middle_of(std::size_t bucket) {
    if (bucket < kExact) {
        return bucket;
    }
    const std::size_t offset = bucket - kExact;
    const int exponent = static_cast<int>(offset >> kSubBits) + kSubBits + 1;
    const std::uint64_t sub = offset & ((1u << kSubBits) - 1);
    const int shift = exponent - kSubBits;
    const std::uint64_t low = ((std::uint64_t{1} << kSubBits) | sub) << shift;
    return low + ((std::uint64_t{1} << shift) >> 1);
}

void LatencyHistogram::record(std::uint64_t nanoseconds) {
    ++counts_[bucket_of(nanoseconds)];
    ++count_;
    sum_ += nanoseconds;
    max_ = std::max(max_, nanoseconds);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) {
        counts_[i] += other.counts_[i];
    }
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
}

std::uint64_t LatencyHistogram::percentile(double fraction) const {
    if (count_ == 0) {
        return 0;
    }
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        seen += counts_[i];
        if (seen >= rank) {
            return std::min(middle_of(i), max_);
        }
    }
    return max_;
}

}  // namespace exchanged::tools
