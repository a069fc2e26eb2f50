#include "service/unflushed_window.hpp"

#include <algorithm>

namespace exchanged::service {

UnflushedWindow::UnflushedWindow(TimestampNs max_age_ns, std::size_t capacity)
    : max_age_ns_(max_age_ns),
      bucket_span_ns_(std::max<TimestampNs>(1, max_age_ns / kBucketsPerWindow)),
      ring_(max_age_ns > 0 ? std::max<std::size_t>(capacity, 2) : 0) {}

void UnflushedWindow::logged(wal::Lsn last_lsn, TimestampNs now) {
    if (!enabled()) {
        return;
    }
    if (size_ > 0) {
        Bucket& newest = at(size_ - 1);
        if (now - newest.first_stamp < bucket_span_ns_ || size_ == ring_.size()) {
            newest.last_lsn = std::max(newest.last_lsn, last_lsn);
            publish(newest.last_lsn);
            return;
        }
    }
    Bucket& fresh = at(size_);
    fresh.first_stamp = now;
    fresh.last_lsn = last_lsn;
    ++size_;
    publish(last_lsn);
}

void UnflushedWindow::publish(wal::Lsn newest) {
    if (newest != 0) {
        newest_lsn_.store(newest, std::memory_order_relaxed);
    }
    oldest_stamp_.store(size_ == 0 ? 0 : at(0).first_stamp, std::memory_order_relaxed);
}

TimestampNs UnflushedWindow::age_at(wal::Lsn store_lsn, TimestampNs now) const {
    const TimestampNs oldest = oldest_stamp_.load(std::memory_order_relaxed);
    if (oldest == 0 || newest_lsn_.load(std::memory_order_relaxed) <= store_lsn) {
        return 0;
    }
    return std::max<TimestampNs>(0, now - oldest);
}

TimestampNs UnflushedWindow::age(wal::Lsn store_lsn, TimestampNs now) {
    while (size_ > 0 && at(0).last_lsn <= store_lsn) {
        head_ = (head_ + 1) % ring_.size();
        --size_;
    }
    publish(0);
    return size_ == 0 ? 0 : std::max<TimestampNs>(0, now - at(0).first_stamp);
}

}  // namespace exchanged::service
