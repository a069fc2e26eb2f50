#include "repl/retention_policy.hpp"

#include <algorithm>

namespace exchanged::repl {

std::uint64_t bytes_kept_between(std::span<const HeldSegment> segments, wal::Lsn floor,
                                 wal::Lsn store_floor) {
    std::uint64_t kept = 0;
    for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
        const wal::Lsn next_first = segments[i + 1].first_lsn;
        const bool store_drops = next_first <= store_floor;
        const bool floor_drops = next_first <= floor;
        if (store_drops && !floor_drops) {
            kept += segments[i].bytes;
        }
    }
    return kept;
}

RetentionDecision plan_retention(std::span<const HeldSegment> segments, wal::Lsn store_floor,
                                 std::span<const FollowerNeed> followers,
                                 std::uint64_t bound_bytes) {
    std::vector<const FollowerNeed*> holding;
    for (const FollowerNeed& follower : followers) {
        if (follower.known && !follower.out_of_date && follower.acked_lsn + 1 < store_floor) {
            holding.push_back(&follower);
        }
    }
    // The slowest first: once one fits the bound, every faster one fits too.
    std::sort(holding.begin(), holding.end(), [](const FollowerNeed* a, const FollowerNeed* b) {
        return a->acked_lsn != b->acked_lsn ? a->acked_lsn < b->acked_lsn : a->node < b->node;
    });
    RetentionDecision decision;
    decision.release_below = store_floor;
    for (const FollowerNeed* follower : holding) {
        const wal::Lsn floor = follower->acked_lsn + 1;
        const std::uint64_t kept = bytes_kept_between(segments, floor, store_floor);
        if (kept <= bound_bytes) {
            decision.release_below = floor;
            decision.held_bytes = kept;
            break;
        }
        decision.now_out_of_date.push_back(follower->node);
    }
    return decision;
}

}  // namespace exchanged::repl
