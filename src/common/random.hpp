// A small deterministic random generator for workloads and tests. The standard distributions are
// implementation-defined, so seeded streams built on them could differ between library versions;
// these helpers are fully specified here and give the same stream everywhere.
#pragma once

#include <cstdint>

namespace exchanged {

class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    // Uniform in [0, bound); bound > 0. Lemire's multiply-shift, bias negligible for our bounds.
    std::uint64_t below(std::uint64_t bound) {
        return static_cast<std::uint64_t>((static_cast<__uint128_t>(next()) * bound) >> 64);
    }

    // Uniform in [low, high].
    std::int64_t between(std::int64_t low, std::int64_t high) {
        return low + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(high - low) + 1));
    }

    // True with probability percent/100.
    bool percent(std::uint64_t percent_chance) { return below(100) < percent_chance; }

private:
    std::uint64_t state_;
};

}  // namespace exchanged
