// `quorum`: the durability point of a replicated leader (docs/replication.md). Its frontier is the
// QuorumTracker's: the highest LSN durable on a majority of the replicas, this node included. The
// leader's WAL (on_durable) and the replication connections (their followers' Acks) feed it; each
// move of the frontier wakes the release gates.
//
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "engine/command_log.hpp"
#include "repl/quorum_tracker.hpp"
#include "service/durability_point.hpp"

namespace exchanged::service {

class QuorumPoint final : public DurabilityPoint {
  public:
    QuorumPoint(const engine::CommandLog& log, repl::QuorumTracker tracker);

    wal::Lsn frontier() const noexcept override {
        return frontier_.load(std::memory_order_acquire);
    }
    // The local WAL failed, or a follower has promised a newer leader: what is above the frontier
    // will never be acknowledged by this node.
    bool failed() const noexcept override {
        return log_.failed() || deposed_.load(std::memory_order_acquire);
    }
    // Sleeps until the frontier covers `lsn` or the point fails, a millisecond at most.
    bool wait(wal::Lsn lsn) const override;

    // Producers (the WAL writer's on_durable, the replication connections' threads).
    void leader_durable(wal::Lsn lsn);
    // The replication sender shipped every record up to `lsn` (the bound on followers' acks).
    void shipped(wal::Lsn lsn);
    repl::AckResult ack(repl::NodeId node, repl::Epoch epoch, wal::Lsn durable_lsn);
    void readmit(repl::NodeId node, wal::Lsn durable_lsn);
    // This leader promised a newer epoch: it fails at once (see QuorumTracker::depose).
    void depose(repl::Epoch epoch);
    // Under automatic failover: the frontier moves only while the steady clock is below
    // `*valid_until` (steady_clock ticks since its epoch; 0: no lease), the leader lease's
    // validity end, which the failover loop publishes after each renewal. Its watchdog deposes
    // the point once the lease has lapsed, but a leader resumed after a pause runs its
    // replication threads as soon as its watchdog: follower acks read from the socket then must
    // not release anything. The pointee must outlive the point.
    void limit_by_lease(const std::atomic<std::chrono::steady_clock::rep>* valid_until);
    // A lease limits the point and its validity has ended (or is unknown). Lock-free, for the
    // gateway's check right before it writes replies (GatewayOptions::may_write): a reply the
    // point released before a pause must not leave the process after the lease lapsed.
    bool lease_lapsed() const;
    // The tracker's state, copied under its lock (for status and metrics).
    repl::QuorumTracker snapshot() const;

  private:
    // With mutex_ held: publishes the tracker's frontier and state; true when either changed.
    bool publish();
    void notify(bool changed);

    const engine::CommandLog& log_;
    mutable std::mutex mutex_;
    mutable std::condition_variable moved_;
    repl::QuorumTracker tracker_;
    std::atomic<wal::Lsn> frontier_;
    std::atomic<bool> deposed_{false};
    std::atomic<const std::atomic<std::chrono::steady_clock::rep>*> lease_valid_until_{nullptr};
};

}  // namespace exchanged::service
