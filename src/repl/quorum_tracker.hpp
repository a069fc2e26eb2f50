// The leader's view of how far its log is durable across the replicas: its own WAL's durable LSN
// and each follower's acknowledged durable LSN in the leader's epoch. The quorum frontier is the
// highest LSN durable on a majority of the replication factor, the leader counted; every LSN at or
// below it survives the loss of any minority of nodes (docs/replication.md: The quorum rule).
//
// Pure: no threads, no clock, no allocation after construction. The owner serialises the calls
// (service::QuorumPoint holds a mutex around it).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "repl/frame_format.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::repl {

inline constexpr std::uint32_t kMaxReplicationFactor = 7;

enum class AckOutcome : std::uint8_t {
    Counted,        // in the leader's epoch, not below the follower's previous ack
    StaleEpoch,     // sent under an older epoch: ignored (that log may hold another leader's tail)
    NewerEpoch,     // the follower has promised a newer leader: this one is deposed
    WentBackwards,  // below what the follower acknowledged before: it is set aside, not trusted
    SetAside,       // from a follower set aside earlier, until readmit()
    UnknownNode,    // not one of this leader's followers
    BeyondShipped,  // above the highest LSN the leader shipped: it claims records that do not
                    // exist yet; set aside like WentBackwards (a follower not to be trusted)
};
const char* to_string(AckOutcome outcome);

struct AckResult {
    AckOutcome outcome = AckOutcome::Counted;
    bool frontier_moved = false;
    std::string error;  // for the outcomes other than Counted: what happened, naming the node
};

// A follower's Hello counts as an Ack. When the leader's plan for that Hello succeeded, the
// follower's log continues the leader's from its durable LSN (it was cut back, re-synced, or lost
// only a tail it is sent again), so one the Hello's ack left set aside (now or earlier) is to be
// readmitted from that LSN (QuorumTracker::readmit). Not for the other outcomes: an older epoch is
// ignored, a newer one deposes the leader, an unknown node is no follower.
constexpr bool readmits_on_join(AckOutcome outcome) {
    return outcome == AckOutcome::WentBackwards || outcome == AckOutcome::BeyondShipped ||
           outcome == AckOutcome::SetAside;
}

class QuorumTracker {
  public:
    // `factor` counts the leader: an odd number in [1, kMaxReplicationFactor], with factor - 1
    // distinct `followers`. `frontier` starts where the new term's adopted log is already known to
    // be on a majority. Throws std::invalid_argument naming what is wrong.
    QuorumTracker(std::uint32_t factor, const std::vector<NodeId>& followers, Epoch epoch,
                  wal::Lsn frontier = 0);

    // The leader's own WAL made everything up to `lsn` durable. A lower value than before is
    // ignored (the WAL's durable LSN never decreases; callers may race to report it).
    bool leader_durable(wal::Lsn lsn);
    // The leader shipped (or logged) every record up to `lsn`: a follower's ack above it is a
    // lie about records that do not exist yet and sets the follower aside. Never decreases.
    void shipped(wal::Lsn lsn);
    AckResult ack(NodeId node, Epoch epoch, wal::Lsn durable_lsn);
    // A follower set aside (WentBackwards) counts again, from `durable_lsn`, after it re-synced.
    void readmit(NodeId node, wal::Lsn durable_lsn);
    // This node promised a candidate `epoch` (docs/replication.md: Promotion): deposed as by an
    // Ack of that epoch. An epoch at or below the leader's own changes nothing.
    void depose(Epoch epoch);

    // Never decreases; frozen once deposed.
    wal::Lsn frontier() const { return frontier_; }
    Epoch epoch() const { return epoch_; }
    // A follower answered under a newer epoch: this leader can acknowledge nothing more (the
    // frontier stops where it was).
    bool deposed() const { return deposed_by_ != 0; }
    Epoch deposed_by() const { return deposed_by_; }
    std::uint32_t factor() const { return factor_; }
    std::uint32_t majority() const { return factor_ / 2 + 1; }
    wal::Lsn leader_lsn() const { return leader_lsn_; }
    // The bound on acks: the highest LSN shipped (or, at least, the leader's own durable LSN).
    wal::Lsn shipped_lsn() const { return shipped_lsn_; }
    // What the follower's acks count for now (0 while set aside).
    wal::Lsn follower_lsn(NodeId node) const;
    bool set_aside(NodeId node) const;

  private:
    struct Follower {
        NodeId node = 0;
        wal::Lsn acked = 0;
        bool set_aside = false;
    };
    Follower* find(NodeId node);
    const Follower* find(NodeId node) const;
    bool recompute();

    std::uint32_t factor_;
    Epoch epoch_;
    Epoch deposed_by_ = 0;
    wal::Lsn leader_lsn_ = 0;
    wal::Lsn shipped_lsn_ = 0;
    wal::Lsn frontier_;
    std::array<Follower, kMaxReplicationFactor - 1> followers_{};
};

}  // namespace exchanged::repl
