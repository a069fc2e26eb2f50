#include "service/quorum_point.hpp"

#include <chrono>

#include "common/invariant.hpp"
#include "common/test_fault.hpp"

namespace exchanged::service {

QuorumPoint::QuorumPoint(const engine::CommandLog& log, repl::QuorumTracker tracker)
    : log_(log), tracker_(std::move(tracker)), frontier_(tracker_.frontier()) {}

bool QuorumPoint::wait(wal::Lsn lsn) const {
    std::unique_lock lock(mutex_);
    moved_.wait_for(lock, std::chrono::milliseconds(1),
                    [&] { return frontier() >= lsn || failed(); });
    return !failed() || frontier() >= lsn;
}

bool QuorumPoint::publish() {
    const wal::Lsn before = frontier_.load(std::memory_order_relaxed);
    wal::Lsn now = tracker_.frontier();
    EXCHANGED_INVARIANT(now >= before, "quorum frontier never decreases", now, before);
    if (now != before && lease_lapsed()) {
        now = before;  // acknowledges nothing more; the watchdog deposes the point
    }
    frontier_.store(now, std::memory_order_release);
    const bool deposed = tracker_.deposed();
    const bool was_deposed = deposed_.exchange(deposed, std::memory_order_acq_rel);
    return now != before || deposed != was_deposed;
}

bool QuorumPoint::lease_lapsed() const {
    const std::atomic<std::chrono::steady_clock::rep>* valid_until =
        lease_valid_until_.load(std::memory_order_acquire);
    if (valid_until == nullptr || test_fault::armed(test_fault::Fault::LeaseIgnoreExpiry)) {
        return false;
    }
    const std::chrono::steady_clock::rep until = valid_until->load(std::memory_order_acquire);
    return until == 0 || std::chrono::steady_clock::now().time_since_epoch().count() >= until;
}

void QuorumPoint::limit_by_lease(const std::atomic<std::chrono::steady_clock::rep>* valid_until) {
    lease_valid_until_.store(valid_until, std::memory_order_release);
}

void QuorumPoint::notify(bool changed) {
    if (changed) {
        moved_.notify_all();
        advanced();
    }
}

void QuorumPoint::leader_durable(wal::Lsn lsn) {
    bool changed = false;
    {
        std::lock_guard lock(mutex_);
        tracker_.leader_durable(lsn);
        changed = publish();
    }
    notify(changed);
}

void QuorumPoint::shipped(wal::Lsn lsn) {
    std::lock_guard lock(mutex_);
    tracker_.shipped(lsn);
}

repl::AckResult QuorumPoint::ack(repl::NodeId node, repl::Epoch epoch, wal::Lsn durable_lsn) {
    repl::AckResult result;
    bool changed = false;
    {
        std::lock_guard lock(mutex_);
        result = tracker_.ack(node, epoch, durable_lsn);
        changed = publish();
    }
    notify(changed);
    return result;
}

void QuorumPoint::readmit(repl::NodeId node, wal::Lsn durable_lsn) {
    bool changed = false;
    {
        std::lock_guard lock(mutex_);
        tracker_.readmit(node, durable_lsn);
        changed = publish();
    }
    notify(changed);
}

void QuorumPoint::depose(repl::Epoch epoch) {
    bool changed = false;
    {
        std::lock_guard lock(mutex_);
        tracker_.depose(epoch);
        changed = publish();
    }
    notify(changed);
}

repl::QuorumTracker QuorumPoint::snapshot() const {
    std::lock_guard lock(mutex_);
    return tracker_;
}

}  // namespace exchanged::service
