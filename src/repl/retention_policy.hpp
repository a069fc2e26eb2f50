// How far a replication leader may release its WAL (docs/replication.md "Retention and snapshot
// re-sync"): the store lets go of everything below its LSN, but a follower that has not
// acknowledged those records yet (connected or not) still needs them. The leader keeps them for
// the slowest followers as long as what it keeps for them stays within a bound; a follower that
// would need more is out of date (it re-syncs by snapshot) and holds nothing back any more, so a
// dead follower never fills the leader's disk.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "repl/frame_format.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::repl {

using wal::HeldSegment;

struct FollowerNeed {
    NodeId node = 0;
    wal::Lsn acked_lsn = 0;  // it holds everything up to here; it needs acked_lsn + 1 on
    bool known = false;      // false: not heard from since the leader started (holds nothing)
    bool out_of_date = false;
};

struct RetentionDecision {
    wal::Lsn release_below = 0;           // pass to WalWriter::release_below
    std::uint64_t held_bytes = 0;         // kept for followers beyond what the store allows
    std::vector<NodeId> now_out_of_date;  // followers this decision gave up on
};

// The bytes of the segments releasing below `store_floor` would drop but releasing below `floor`
// keeps (the same rule as WalWriter::release_below: a segment goes once the next one starts at or
// below the LSN; the last segment always stays).
std::uint64_t bytes_kept_between(std::span<const HeldSegment> segments, wal::Lsn floor,
                                 wal::Lsn store_floor);

// `store_floor`: the LSN the store would release below (its LSN + 1). Pure.
RetentionDecision plan_retention(std::span<const HeldSegment> segments, wal::Lsn store_floor,
                                 std::span<const FollowerNeed> followers,
                                 std::uint64_t bound_bytes);

}  // namespace exchanged::repl
