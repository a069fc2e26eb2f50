// The hand-over between producers (any threads) and the writer thread: a bounded multi-producer,
// single-consumer ring in the style of the LMAX disruptor. A producer claims the next LSN with one
// CAS, but only while the ring has a free slot, so the claim never blocks and never allocates; it
// encodes its record into the slot and publishes it. The writer consumes slots strictly in LSN
// order, so the log's order is LSN order and a producer knows its record's LSN at hand-over.
//
// Slot i holds LSN lsn with lsn % capacity == i. A slot is free for LSN `lsn` once the writer has
// released every LSN below lsn - capacity + 1, which is what the claim checks.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "wal/wal_types.hpp"

namespace exchanged::wal {

class RecordRing {
  public:
    enum class Claim : std::uint8_t {
        Ok,
        Full,
        Closed,
        NotNext,  // try_claim_exact only: the LSN asked for is not the next one
    };

    // capacity: a power of two. slot_bytes: the largest encoded record.
    RecordRing(std::uint32_t capacity, std::uint32_t slot_bytes, Lsn first_lsn)
        : capacity_(capacity),
          mask_(capacity - 1),
          slot_bytes_(slot_bytes),
          slots_(std::make_unique<Slot[]>(capacity)),
          // Not zeroed: a slot's bytes are read only after a producer wrote and published them.
          // Zeroing 16 MiB (65536 slots) cost a promoted leader's start 50-150 ms of page faults
          // on this project's test machines; the WAL writer faults the pages in behind it.
          data_(std::make_unique_for_overwrite<std::byte[]>(static_cast<std::size_t>(capacity) *
                                                            slot_bytes)),
          next_(first_lsn),
          released_(first_lsn) {
        assert(capacity >= 2 && (capacity & (capacity - 1)) == 0);
        assert(first_lsn > 0 && (first_lsn & kClosedBit) == 0);
        // A slot's LSN starts below every LSN that can map to it, so it reads as unpublished.
        for (std::uint32_t i = 0; i < capacity; ++i) {
            slots_[i].published.store(0, std::memory_order_relaxed);
        }
    }

    // --- producers ---
    Claim try_claim(Lsn* lsn) noexcept {
        Lsn next = next_.load(std::memory_order_relaxed);
        do {
            if ((next & kClosedBit) != 0) {
                return Claim::Closed;
            }
            if (next - released_.load(std::memory_order_acquire) >= capacity_) {
                return Claim::Full;
            }
        } while (!next_.compare_exchange_weak(next, next + 1, std::memory_order_acq_rel,
                                              std::memory_order_relaxed));
        *lsn = next;
        return Claim::Ok;
    }
    // Claims exactly `lsn`, for a log that copies another log's records (a replication follower):
    // NotNext unless `lsn` is the next LSN, so a gap or a repeat is never written.
    Claim try_claim_exact(Lsn lsn) noexcept {
        Lsn next = next_.load(std::memory_order_relaxed);
        do {
            if ((next & kClosedBit) != 0) {
                return Claim::Closed;
            }
            if (next != lsn) {
                return Claim::NotNext;
            }
            if (next - released_.load(std::memory_order_acquire) >= capacity_) {
                return Claim::Full;
            }
        } while (!next_.compare_exchange_weak(next, next + 1, std::memory_order_acq_rel,
                                              std::memory_order_relaxed));
        return Claim::Ok;
    }
    std::span<std::byte> slot(Lsn lsn) noexcept {
        return {data_.get() + static_cast<std::size_t>(lsn & mask_) * slot_bytes_, slot_bytes_};
    }
    // seq_cst pairs with the writer's "going to sleep" flag (see WalWriter): either the writer sees
    // this record before sleeping, or the producer sees the flag and wakes it.
    void publish(Lsn lsn, std::uint32_t record_bytes) noexcept {
        Slot& s = slots_[lsn & mask_];
        s.record_bytes = record_bytes;
        s.published.store(lsn, std::memory_order_seq_cst);
    }

    // --- writer ---
    bool ready(Lsn lsn) const noexcept {
        return slots_[lsn & mask_].published.load(std::memory_order_seq_cst) == lsn;
    }
    std::span<const std::byte> record(Lsn lsn) const noexcept {
        assert(ready(lsn));
        const Slot& s = slots_[lsn & mask_];
        return {data_.get() + static_cast<std::size_t>(lsn & mask_) * slot_bytes_, s.record_bytes};
    }
    // Every LSN below `lsn` has been copied out; their slots may be reused.
    void release_below(Lsn lsn) noexcept { released_.store(lsn, std::memory_order_release); }
    // No claim succeeds after this. Returns the first LSN never claimed.
    Lsn close() noexcept {
        return next_.fetch_or(kClosedBit, std::memory_order_acq_rel) & ~kClosedBit;
    }
    Lsn claimed_end() const noexcept { return next_.load(std::memory_order_acquire) & ~kClosedBit; }
    bool closed() const noexcept {
        return (next_.load(std::memory_order_acquire) & kClosedBit) != 0;
    }
    std::uint32_t capacity() const noexcept { return capacity_; }
    // The slots' bytes (to fault their pages in ahead of the producers).
    std::span<std::byte> memory() noexcept {
        return {data_.get(), static_cast<std::size_t>(capacity_) * slot_bytes_};
    }

  private:
    static constexpr Lsn kClosedBit = 1ull << 63;

    struct Slot {
        std::atomic<Lsn> published{0};
        std::uint32_t record_bytes = 0;
    };

    const std::uint32_t capacity_;
    const std::uint32_t mask_;
    const std::uint32_t slot_bytes_;
    std::unique_ptr<Slot[]> slots_;
    std::unique_ptr<std::byte[]> data_;
    alignas(64) std::atomic<Lsn> next_;
    alignas(64) std::atomic<Lsn> released_;
};

}  // namespace exchanged::wal
