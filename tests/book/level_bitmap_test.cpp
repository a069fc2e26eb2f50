// The hierarchical level bitmap against std::set on random operations, across layer boundaries.
#include <catch2/catch.hpp>

#include <set>

#include "book/level_bitmap.hpp"
#include "common/random.hpp"

using exchanged::SplitMix64;
using exchanged::book::LevelBitmap;

TEST_CASE("level bitmap finds neighbours like an ordered set", "[book][bitmap]") {
    for (std::size_t bits : {1u, 63u, 64u, 65u, 4096u, 4097u, 300'000u}) {
        LevelBitmap bitmap(bits);
        std::set<std::int64_t> reference;
        SplitMix64 rng(bits);
        const auto n = static_cast<std::int64_t>(bits);
        for (int step = 0; step < 20'000; ++step) {
            const std::int64_t i = rng.between(0, n - 1);
            if (rng.percent(55)) {
                bitmap.set(i);
                reference.insert(i);
            } else {
                bitmap.clear(i);
                reference.erase(i);
            }
            const std::int64_t probe = rng.between(0, n - 1);
            auto above = reference.lower_bound(probe);
            const std::int64_t want_above = above == reference.end() ? LevelBitmap::kNone : *above;
            REQUIRE(bitmap.next_at_or_above(probe) == want_above);
            auto below = reference.upper_bound(probe);
            const std::int64_t want_below =
                below == reference.begin() ? LevelBitmap::kNone : *std::prev(below);
            REQUIRE(bitmap.next_at_or_below(probe) == want_below);
            REQUIRE(bitmap.test(probe) == (reference.count(probe) == 1));
        }
        CHECK(bitmap.next_at_or_above(n) == LevelBitmap::kNone);
        CHECK(bitmap.next_at_or_below(-1) == LevelBitmap::kNone);
    }
}
