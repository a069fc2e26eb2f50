// Durability points (docs/architecture.md: Durability points): each is a frontier of LSNs that
// have reached one kind of safety. `match` is reached at once, `wal` when the WAL's group commit
// has fdatasync'ed the record, `store` when the flush worker committed it to the primary store.
// A release gate holds a reply until the frontier of the point its profile names covers the
// reply's LSN; the producer of a point (the WAL writer, the flush worker) calls advanced(), which
// wakes the shard threads whose gates wait.
//
// A new point (a quorum of replicas, a Redis mirror) is one more subclass, an AckPoint value the
// profile can name (config/), its slot in DurabilityPoints, and its construction in OrderPath with
// the shard threads' wake-up registered in Pipeline (docs/architecture.md: Durability points).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <vector>

#include "config/config.hpp"
#include "engine/command_log.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::service {

class DurabilityPoint {
  public:
    virtual ~DurabilityPoint() = default;

    // Every LSN at or below this has reached the point. Never decreases. Any thread.
    virtual wal::Lsn frontier() const noexcept = 0;
    // The records above frontier() will never reach the point (the WAL failed): replies held for
    // them were never acknowledged and must be dropped, not sent.
    virtual bool failed() const noexcept = 0;
    // Blocks while `lsn` is above the frontier, for a while at most; false once it never will be
    // reached. The shard thread calls it only when its gate is full.
    virtual bool wait(wal::Lsn lsn) const = 0;
    // A reply is now held until `lsn` reaches the point. A point whose producer batches (the
    // store) uses it to commit sooner; the others need not know. Shard threads; no system call.
    virtual void awaited_by_reply(wal::Lsn /*lsn*/) const noexcept {}

    // Before any thread starts: what to call when the frontier moved (wakes a shard thread).
    void on_advance(std::function<void()> waker) { wakers_.push_back(std::move(waker)); }
    // The producer's thread, after the frontier moved or the point failed.
    void advanced() const {
        for (const auto& wake : wakers_) {
            wake();
        }
    }

  private:
    std::vector<std::function<void()>> wakers_;
};

// `match`: reached as soon as the command is matched.
class MatchPoint final : public DurabilityPoint {
  public:
    wal::Lsn frontier() const noexcept override { return ~wal::Lsn{0}; }
    bool failed() const noexcept override { return false; }
    bool wait(wal::Lsn /*lsn*/) const override { return true; }
};

// `wal`: the command log's durable LSN; `mirror` too when the log is the Redis mirror. A log that
// keeps nothing (enable_wal = false) never advances it; start-up refuses profiles whose normal acks
// would wait for it, and the shard refuses critical orders that would.
class LogPoint final : public DurabilityPoint {
  public:
    explicit LogPoint(const engine::CommandLog& log) : log_(log) {}
    wal::Lsn frontier() const noexcept override { return log_.durable_lsn(); }
    bool failed() const noexcept override { return log_.failed(); }
    bool wait(wal::Lsn lsn) const override { return log_.wait_durable(lsn); }

  private:
    const engine::CommandLog& log_;
};

// `store`: the primary store's committed LSN, advanced by whoever writes the store (the flush
// worker in the daemon, the simulation's explicit flushes). With a WAL it never passes the WAL's
// durable LSN: a store ahead of the log would, after a crash, hold records whose LSNs the
// restarted log hands out again.
class StorePoint final : public DurabilityPoint {
  public:
    StorePoint(const engine::CommandLog& log, wal::Lsn store_lsn) : log_(log), lsn_(store_lsn) {}
    wal::Lsn frontier() const noexcept override { return lsn_.load(std::memory_order_acquire); }
    bool failed() const noexcept override { return log_.failed(); }
    bool wait(wal::Lsn lsn) const override;
    void awaited_by_reply(wal::Lsn lsn) const noexcept override;
    // The highest LSN a held reply waits for (the flush worker cuts its batch early below it).
    wal::Lsn awaited() const noexcept { return awaited_.load(std::memory_order_relaxed); }
    // The store committed everything up to `lsn`; checks the invariants, then wakes the gates.
    void advance(wal::Lsn lsn);

  private:
    const engine::CommandLog& log_;
    std::atomic<wal::Lsn> lsn_;
    // Raised by the shard threads' gates, read by the flush worker: a hint about urgency, so
    // relaxed order is enough (the LSN's events reach the worker through the feeds).
    mutable std::atomic<wal::Lsn> awaited_{0};
};

// The points a release gate may wait for, by AckPoint.
class DurabilityPoints {
  public:
    // Without replication nothing may wait for `quorum` (the config refuses it); its slot then
    // holds the `wal` point, which is what a quorum of one would be. Without a Redis mirror no
    // profile names `mirror` (config/ refuses it), so its slot holds the log's point too.
    DurabilityPoints(const DurabilityPoint& match, const DurabilityPoint& wal,
                     const DurabilityPoint& store, const DurabilityPoint* quorum = nullptr,
                     const DurabilityPoint* mirror = nullptr)
        : by_point_{&match, &wal, &store, quorum != nullptr ? quorum : &wal,
                    mirror != nullptr ? mirror : &wal} {}
    const DurabilityPoint& operator[](AckPoint point) const {
        return *by_point_[static_cast<std::size_t>(point)];
    }
    static constexpr std::size_t kCount = 5;

  private:
    std::array<const DurabilityPoint*, kCount> by_point_;
};

}  // namespace exchanged::service
