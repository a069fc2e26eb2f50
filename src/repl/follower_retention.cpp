#include "repl/follower_retention.hpp"

#include <algorithm>

namespace exchanged::repl {

FollowerRetention::FollowerRetention(std::vector<NodeId> followers, std::uint64_t bound_bytes,
                                     std::function<void(const std::string&)> warn)
    : bound_bytes_(bound_bytes), warn_(std::move(warn)) {
    for (const NodeId node : followers) {
        followers_.push_back(FollowerNeed{node, 0, false, false});
    }
}

FollowerNeed* FollowerRetention::find(NodeId node) {
    for (FollowerNeed& follower : followers_) {
        if (follower.node == node) {
            return &follower;
        }
    }
    return nullptr;
}

const FollowerNeed* FollowerRetention::find(NodeId node) const {
    for (const FollowerNeed& follower : followers_) {
        if (follower.node == node) {
            return &follower;
        }
    }
    return nullptr;
}

void FollowerRetention::acked(NodeId node, wal::Lsn lsn) {
    std::lock_guard lock(mutex_);
    if (FollowerNeed* follower = find(node)) {
        follower->acked_lsn = lsn;
        follower->known = true;
        if (lsn + 1 >= last_floor_) {
            follower->out_of_date = false;
        }
    }
}

wal::Lsn FollowerRetention::release_floor(wal::Lsn store_floor,
                                          std::span<const HeldSegment> segments) {
    std::vector<std::string> lines;
    wal::Lsn floor = store_floor;
    {
        std::lock_guard lock(mutex_);
        const RetentionDecision decision =
            plan_retention(segments, store_floor, followers_, bound_bytes_);
        for (const NodeId node : decision.now_out_of_date) {
            FollowerNeed* follower = find(node);
            follower->out_of_date = true;
            lines.push_back("replication: follower " + std::to_string(node) + " (acked LSN " +
                            std::to_string(follower->acked_lsn) +
                            ") is out of date: keeping its records would hold more than "
                            "[replication] follower_retention_bytes = " +
                            std::to_string(bound_bytes_) +
                            " of WAL; releasing them, it will re-sync by snapshot");
        }
        held_bytes_ = decision.held_bytes;
        floor = decision.release_below;
        last_floor_ = std::max(last_floor_, floor);
    }
    if (warn_) {
        for (const std::string& line : lines) {
            warn_(line);
        }
    }
    return floor;
}

bool FollowerRetention::out_of_date(NodeId node) const {
    std::lock_guard lock(mutex_);
    const FollowerNeed* follower = find(node);
    return follower != nullptr && follower->out_of_date;
}

std::uint64_t FollowerRetention::held_bytes() const {
    std::lock_guard lock(mutex_);
    return held_bytes_;
}

}  // namespace exchanged::repl
