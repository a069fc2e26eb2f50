#include "repl/quorum_tracker.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>

#include "common/test_fault.hpp"

namespace exchanged::repl {

const char* to_string(AckOutcome outcome) {
    switch (outcome) {
        case AckOutcome::Counted:
            return "counted";
        case AckOutcome::StaleEpoch:
            return "stale epoch";
        case AckOutcome::NewerEpoch:
            return "newer epoch";
        case AckOutcome::WentBackwards:
            return "went backwards";
        case AckOutcome::SetAside:
            return "set aside";
        case AckOutcome::UnknownNode:
            return "unknown node";
        case AckOutcome::BeyondShipped:
            return "beyond shipped";
    }
    return "unknown";
}

QuorumTracker::QuorumTracker(std::uint32_t factor, const std::vector<NodeId>& followers,
                             Epoch epoch, wal::Lsn frontier)
    : factor_(factor), epoch_(epoch), shipped_lsn_(frontier), frontier_(frontier) {
    if (factor < 1 || factor > kMaxReplicationFactor || factor % 2 == 0) {
        throw std::invalid_argument("replication factor " + std::to_string(factor) +
                                    " must be odd and in [1, " +
                                    std::to_string(kMaxReplicationFactor) + "]");
    }
    if (followers.size() != factor - 1) {
        throw std::invalid_argument("replication factor " + std::to_string(factor) + " needs " +
                                    std::to_string(factor - 1) + " followers, got " +
                                    std::to_string(followers.size()));
    }
    for (std::size_t i = 0; i < followers.size(); ++i) {
        if (std::count(followers.begin(), followers.end(), followers[i]) != 1) {
            throw std::invalid_argument("follower node " + std::to_string(followers[i]) +
                                        " is listed twice");
        }
        followers_[i].node = followers[i];
    }
}

QuorumTracker::Follower* QuorumTracker::find(NodeId node) {
    for (std::uint32_t i = 0; i + 1 < factor_; ++i) {
        if (followers_[i].node == node) {
            return &followers_[i];
        }
    }
    return nullptr;
}

const QuorumTracker::Follower* QuorumTracker::find(NodeId node) const {
    return const_cast<QuorumTracker*>(this)->find(node);
}

wal::Lsn QuorumTracker::follower_lsn(NodeId node) const {
    const Follower* follower = find(node);
    return follower == nullptr || follower->set_aside ? 0 : follower->acked;
}

bool QuorumTracker::set_aside(NodeId node) const {
    const Follower* follower = find(node);
    return follower != nullptr && follower->set_aside;
}

bool QuorumTracker::recompute() {
    // A deposed leader acknowledges nothing more: the new leader's log is the one that counts.
    if (deposed()) {
        return false;
    }
    // The majority-th highest durable LSN: at least `majority` nodes hold every LSN up to it.
    std::array<wal::Lsn, kMaxReplicationFactor> lsns{};
    lsns[0] = leader_lsn_;
    for (std::uint32_t i = 0; i + 1 < factor_; ++i) {
        lsns[i + 1] = followers_[i].set_aside ? 0 : followers_[i].acked;
    }
    const auto end = lsns.begin() + factor_;
    const auto kth = lsns.begin() + (majority() - 1);
    std::nth_element(lsns.begin(), kth, end, std::greater<>());
    // Mutation check: the leader alone counts as a majority.
    const wal::Lsn reached =
        test_fault::armed(test_fault::Fault::QuorumLeaderOnly) ? leader_lsn_ : *kth;
    if (reached > frontier_) {
        frontier_ = reached;
        return true;
    }
    return false;
}

bool QuorumTracker::leader_durable(wal::Lsn lsn) {
    if (lsn <= leader_lsn_) {
        return false;
    }
    leader_lsn_ = lsn;
    // What the leader holds durably it has logged: acks up to it are no claim about the future.
    shipped(lsn);
    return recompute();
}

void QuorumTracker::shipped(wal::Lsn lsn) {
    shipped_lsn_ = std::max(shipped_lsn_, lsn);
}

AckResult QuorumTracker::ack(NodeId node, Epoch epoch, wal::Lsn durable_lsn) {
    const std::string who = "follower " + std::to_string(node);
    Follower* follower = find(node);
    if (follower == nullptr) {
        return {AckOutcome::UnknownNode, false, who + " is not a follower of this leader"};
    }
    if (epoch < epoch_) {
        return {AckOutcome::StaleEpoch, false,
                who + " acknowledged under epoch " + std::to_string(epoch) +
                    " below the leader's " + std::to_string(epoch_) + "; ignored"};
    }
    if (epoch > epoch_) {
        deposed_by_ = std::max(deposed_by_, epoch);
        return {AckOutcome::NewerEpoch, false,
                who + " has promised epoch " + std::to_string(epoch) + " above the leader's " +
                    std::to_string(epoch_) + ": this leader is deposed"};
    }
    if (follower->set_aside) {
        return {AckOutcome::SetAside, false,
                who +
                    " was set aside after its acknowledgements went backwards; it counts again "
                    "only after a re-sync"};
    }
    if (durable_lsn > shipped_lsn_) {
        follower->set_aside = true;
        return {AckOutcome::BeyondShipped, recompute(),
                who + " acknowledged durable LSN " + std::to_string(durable_lsn) +
                    " above the highest the leader shipped, " + std::to_string(shipped_lsn_) +
                    " in epoch " + std::to_string(epoch) +
                    ": it claims records that do not exist; set aside, not counted"};
    }
    if (durable_lsn < follower->acked) {
        const std::string error = who + " acknowledged durable LSN " + std::to_string(durable_lsn) +
                                  " after " + std::to_string(follower->acked) + " in epoch " +
                                  std::to_string(epoch) +
                                  ": it lost records it had confirmed; set aside, not counted";
        follower->set_aside = true;
        return {AckOutcome::WentBackwards, recompute(), error};
    }
    follower->acked = durable_lsn;
    return {AckOutcome::Counted, recompute(), {}};
}

void QuorumTracker::depose(Epoch epoch) {
    if (epoch > epoch_) {
        deposed_by_ = std::max(deposed_by_, epoch);
    }
}

void QuorumTracker::readmit(NodeId node, wal::Lsn durable_lsn) {
    Follower* follower = find(node);
    if (follower == nullptr) {
        throw std::invalid_argument("follower " + std::to_string(node) +
                                    " is not a follower of this leader");
    }
    follower->set_aside = false;
    // A re-synced follower holds at most what the leader shipped it.
    follower->acked = std::min(durable_lsn, shipped_lsn_);
    recompute();
}

}  // namespace exchanged::repl
