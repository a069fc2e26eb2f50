// The leader's record of what each follower still needs from its WAL, and the floor below which
// the WAL may go (retention_policy.hpp). The senders report each follower's Hello and Acks; the
// store's commits ask for the floor. Thread-safe: acks arrive on each connection's reader thread,
// the floor is asked on the flush worker's.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "repl/retention_policy.hpp"

namespace exchanged::repl {

class FollowerRetention {
  public:
    // `warn` gets one line per follower marked out of date (any thread; may be empty).
    FollowerRetention(std::vector<NodeId> followers, std::uint64_t bound_bytes,
                      std::function<void(const std::string&)> warn = {});

    // The follower holds everything up to `lsn` durably (its Hello or an Ack). One out of date
    // that continues from what the WAL still holds (after a snapshot, say) is held again.
    void acked(NodeId node, wal::Lsn lsn);
    // The LSN to release the WAL below, given what the store allows and the segments held.
    // Followers that would need more than the bound are marked out of date here.
    wal::Lsn release_floor(wal::Lsn store_floor, std::span<const HeldSegment> segments);

    bool out_of_date(NodeId node) const;
    std::uint64_t held_bytes() const;
    std::uint64_t bound_bytes() const { return bound_bytes_; }

  private:
    FollowerNeed* find(NodeId node);
    const FollowerNeed* find(NodeId node) const;

    const std::uint64_t bound_bytes_;
    const std::function<void(const std::string&)> warn_;
    mutable std::mutex mutex_;
    std::vector<FollowerNeed> followers_;
    std::uint64_t held_bytes_ = 0;
    wal::Lsn last_floor_ = 0;  // the WAL holds nothing below it any more
};

}  // namespace exchanged::repl
