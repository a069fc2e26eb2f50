#include "repl/ship_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace exchanged::repl {

ShipBuffer::ShipBuffer(std::size_t capacity_bytes, std::size_t max_batches)
    : capacity_(capacity_bytes),
      // Not zeroed: only published bytes are read, and zeroing 64 MiB (max_lag_bytes) took
      // about 0.3 s of a promoted leader's start.
      bytes_(std::make_unique_for_overwrite<std::byte[]>(capacity_bytes)),
      batches_(max_batches) {
    if (capacity_bytes == 0 || max_batches == 0) {
        throw std::invalid_argument("ship buffer: capacity " + std::to_string(capacity_bytes) +
                                    " bytes, " + std::to_string(max_batches) +
                                    " batches: both must be positive");
    }
}

void ShipBuffer::drop_oldest() {
    dropped_through_ = std::max(dropped_through_, batches_[tail_].last);
    tail_ = (tail_ + 1) % batches_.size();
    --count_;
}

void ShipBuffer::publish(wal::Lsn first, wal::Lsn last, std::span<const std::byte> records) {
    {
        std::lock_guard lock(mutex_);
        if (records.size() > capacity_) {
            // Too large to keep: every sender reads these records from the disk.
            while (count_ > 0) {
                drop_oldest();
            }
            dropped_through_ = std::max(dropped_through_, last);
            last_lsn_ = last;
        } else {
            // Batches lie one after another around the ring; the oldest are right after
            // write_at_. One that does not fit before the end starts again at 0, and the old
            // batches in the unused end go with it.
            if (write_at_ + records.size() > capacity_) {
                while (count_ > 0 && at(0).offset >= write_at_) {
                    drop_oldest();
                }
                write_at_ = 0;
            }
            const std::size_t end = write_at_ + records.size();
            while (count_ > 0 && at(0).offset >= write_at_ && at(0).offset < end) {
                drop_oldest();
            }
            if (count_ == batches_.size()) {
                drop_oldest();
            }
            std::memcpy(bytes_.get() + write_at_, records.data(), records.size());
            batches_[(tail_ + count_) % batches_.size()] =
                Batch{first, last, write_at_, records.size()};
            ++count_;
            write_at_ = end;
            last_lsn_ = last;
        }
    }
    published_.notify_all();
}

void ShipBuffer::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    published_.notify_all();
}

ShipBuffer::Copy ShipBuffer::copy_from(wal::Lsn from, std::span<std::byte> out) const {
    std::lock_guard lock(mutex_);
    Copy copy;
    if (closed_) {
        copy.status = Status::Closed;
        return copy;
    }
    if (from > last_lsn_) {
        copy.status = Status::NotYet;
        return copy;
    }
    // The batches are in LSN order: find the one holding `from`.
    std::size_t lo = 0;
    std::size_t hi = count_;
    while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (at(mid).last < from) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == count_ || at(lo).first > from) {
        copy.status = Status::Gone;
        return copy;
    }
    copy.first = at(lo).first;
    for (std::size_t i = lo; i < count_; ++i) {
        const Batch& batch = at(i);
        // In steps: the WAL writer's publish waits for this lock, so one copy stays short.
        if (copy.bytes + batch.bytes > out.size() || (i > lo && batch.first != copy.last + 1) ||
            (i > lo && copy.bytes >= kCopyStepBytes)) {
            break;
        }
        std::memcpy(out.data() + copy.bytes, bytes_.get() + batch.offset, batch.bytes);
        copy.bytes += batch.bytes;
        copy.last = batch.last;
    }
    copy.status = copy.bytes > 0 ? Status::Copied : Status::Gone;
    return copy;
}

void ShipBuffer::wait_for(wal::Lsn from, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    published_.wait_for(lock, timeout, [&] { return closed_ || last_lsn_ >= from; });
}

wal::Lsn ShipBuffer::last_lsn() const {
    std::lock_guard lock(mutex_);
    return last_lsn_;
}

}  // namespace exchanged::repl
