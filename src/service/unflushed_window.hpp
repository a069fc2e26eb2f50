// The loss window in time ([safety] max_unflushed_ms): for a profile that acknowledges before the
// store commits, how long the oldest acknowledged record the store has not committed has waited.
// The shard stage asks before each new order; while the age is above the window the order is
// refused, so that a slow or stalled store cannot turn into an ever longer stretch of
// acknowledged orders a crash would take.
//
// Commands are remembered in buckets of a fixed span (window / kBucketsPerWindow): a bucket keeps
// the stamp of its first command and the LSN of its last, and goes once the store committed that
// LSN. The age read from the oldest bucket is never below the true age and at most one bucket
// span above it. The ring is allocated once; when it is full the newest bucket absorbs further
// commands (older stamp, so still an over-estimate). One shard thread only; no locks.
#pragma once

#include <atomic>
#include <cstddef>
#include <vector>

#include "common/types.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::service {

class UnflushedWindow {
  public:
    static constexpr std::size_t kBucketsPerWindow = 64;

    // `max_age_ns` 0: no window (every call is cheap and nothing is ever exceeded).
    explicit UnflushedWindow(TimestampNs max_age_ns, std::size_t capacity = 1024);

    bool enabled() const { return max_age_ns_ > 0; }
    TimestampNs max_age_ns() const { return max_age_ns_; }

    // A command acknowledged at `now` logged records up to `last_lsn`.
    void logged(wal::Lsn last_lsn, TimestampNs now);
    // Forgets what the store committed (everything up to `store_lsn`) and returns the age at
    // `now` of the oldest record it has not; 0 when it has everything.
    TimestampNs age(wal::Lsn store_lsn, TimestampNs now);
    // Whether a new order at `now` would widen a window already past its bound.
    bool exceeded(wal::Lsn store_lsn, TimestampNs now) {
        return enabled() && age(store_lsn, now) > max_age_ns_;
    }
    // Any thread (the metrics): the age at `now` of the oldest record uncommitted when the shard
    // last looked, 0 once the store has everything the shard logged. Between commands it may
    // over-estimate (the store may since have committed that record, not the newer ones) but
    // never under-estimates, and it keeps growing while a stalled store holds a record.
    TimestampNs age_at(wal::Lsn store_lsn, TimestampNs now) const;

  private:
    struct Bucket {
        TimestampNs first_stamp = 0;
        wal::Lsn last_lsn = 0;
    };

    Bucket& at(std::size_t index) { return ring_[(head_ + index) % ring_.size()]; }
    void publish(wal::Lsn newest);

    TimestampNs max_age_ns_;
    TimestampNs bucket_span_ns_;
    std::vector<Bucket> ring_;
    std::size_t head_ = 0;  // the oldest bucket
    std::size_t size_ = 0;
    // For age_at(): the oldest bucket's stamp (0: none) and the newest LSN logged.
    std::atomic<TimestampNs> oldest_stamp_{0};
    std::atomic<wal::Lsn> newest_lsn_{0};
};

}  // namespace exchanged::service
