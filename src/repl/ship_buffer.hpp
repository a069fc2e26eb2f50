// The leader's recent WAL batches, kept in memory for its followers' senders: the WAL writer
// publishes each batch as it goes to the disk (WalOptions::on_submitted), the senders copy them
// out. Bounded: the bytes live in one ring allocated at construction; a new batch overwrites the
// oldest, so a follower that falls further behind than the ring holds is told its records are
// gone and catches up from the WAL files instead. The writer never waits for a sender.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "wal/wal_types.hpp"

namespace exchanged::repl {

class ShipBuffer {
  public:
    // `capacity_bytes` must hold the largest batch the writer submits (batch_bytes_max).
    ShipBuffer(std::size_t capacity_bytes, std::size_t max_batches = 1u << 16);

    // The writer thread: the batch of records first..last, encoded. No allocation; a batch larger
    // than the ring is dropped (its records are then read from the disk).
    void publish(wal::Lsn first, wal::Lsn last, std::span<const std::byte> records);
    // Wakes every waiting reader for good (shutdown).
    void close();

    // A copy takes more batches after the first only while it holds fewer bytes than this.
    static constexpr std::size_t kCopyStepBytes = 256 * 1024;

    enum class Status : std::uint8_t { Copied, NotYet, Gone, Closed };
    struct Copy {
        Status status = Status::NotYet;
        wal::Lsn first = 0;  // the first LSN of the first batch copied (at or below `from`)
        wal::Lsn last = 0;   // the last LSN copied
        std::size_t bytes = 0;
    };
    // Copies whole batches, starting with the one holding `from`, into `out` (at least one batch
    // when it fits, then more up to kCopyStepBytes or out's size). NotYet: nothing at or above
    // `from` yet. Gone: `from` is older than what the ring still holds.
    Copy copy_from(wal::Lsn from, std::span<std::byte> out) const;
    // Blocks until a batch holding `from` or later is published, the buffer closes, or `timeout`.
    void wait_for(wal::Lsn from, std::chrono::milliseconds timeout) const;

    // The highest LSN published (0: none).
    wal::Lsn last_lsn() const;

  private:
    struct Batch {
        wal::Lsn first = 0;
        wal::Lsn last = 0;
        std::size_t offset = 0;
        std::size_t bytes = 0;
    };
    const Batch& at(std::size_t i) const { return batches_[(tail_ + i) % batches_.size()]; }
    void drop_oldest();

    const std::size_t capacity_;
    std::unique_ptr<std::byte[]> bytes_;
    std::vector<Batch> batches_;  // a ring: tail_ is the oldest, count_ of them live
    mutable std::mutex mutex_;
    mutable std::condition_variable published_;
    std::size_t tail_ = 0;
    std::size_t count_ = 0;
    std::size_t write_at_ = 0;
    wal::Lsn last_lsn_ = 0;
    wal::Lsn dropped_through_ = 0;  // the highest LSN no longer held
    bool closed_ = false;
};

}  // namespace exchanged::repl
