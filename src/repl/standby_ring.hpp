// The records a follower's receiver appended, handed to its standby applier without reading them
// back from the disk: one bounded ring, single producer (the receiver), single consumer (the
// applier), allocated once. The producer never waits: a record that does not fit (the applier is
// behind, or the record is larger than a slot) is left out, and the applier, finding the gap in
// the LSNs, reads the missing records from the WAL files instead. So the receiver, and with it the
// follower's acks to the leader, never depends on how fast the follower applies.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <vector>

#include "wal/wal_types.hpp"

namespace exchanged::repl {

class StandbyRing {
  public:
    // Command and checkpoint records fit with room to spare; larger ones take the WAL's way.
    static constexpr std::size_t kSlotPayloadBytes = 128;

    struct Slot {
        wal::Lsn lsn = 0;
        std::uint16_t type = 0;
        std::uint16_t size = 0;
        std::array<std::byte, kSlotPayloadBytes> payload{};
        std::span<const std::byte> bytes() const { return {payload.data(), size}; }
    };

    explicit StandbyRing(std::size_t capacity)
        : slots_(std::bit_ceil(capacity)), mask_(slots_.size() - 1) {
        if (capacity == 0) {
            throw std::invalid_argument("standby ring capacity must be above 0");
        }
    }
    StandbyRing(const StandbyRing&) = delete;
    StandbyRing& operator=(const StandbyRing&) = delete;

    std::size_t capacity() const { return slots_.size(); }

    // Producer. False (nothing kept) when the ring is full or the payload exceeds a slot.
    bool try_push(wal::Lsn lsn, std::uint16_t type, std::span<const std::byte> payload) noexcept {
        if (payload.size() > kSlotPayloadBytes) {
            return false;
        }
        const std::uint64_t head = head_.load(std::memory_order_relaxed);
        if (head - tail_.load(std::memory_order_acquire) == slots_.size()) {
            return false;
        }
        Slot& slot = slots_[head & mask_];
        slot.lsn = lsn;
        slot.type = type;
        slot.size = static_cast<std::uint16_t>(payload.size());
        if (!payload.empty()) {
            std::memcpy(slot.payload.data(), payload.data(), payload.size());
        }
        head_.store(head + 1, std::memory_order_release);
        return true;
    }

    // Consumer. The oldest record kept, or null when empty; valid until pop().
    const Slot* front() const noexcept {
        const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        if (head_.load(std::memory_order_acquire) == tail) {
            return nullptr;
        }
        return &slots_[tail & mask_];
    }
    // Producer: how many records were ever pushed (the index the next one gets).
    std::uint64_t pushed() const noexcept { return head_.load(std::memory_order_relaxed); }
    // Consumer: the index of the front slot.
    std::uint64_t front_index() const noexcept { return tail_.load(std::memory_order_relaxed); }
    // Consumer. Frees the front slot.
    void pop() noexcept {
        tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

  private:
    std::vector<Slot> slots_;
    const std::size_t mask_;
    alignas(64) std::atomic<std::uint64_t> head_{0};  // written by the producer
    alignas(64) std::atomic<std::uint64_t> tail_{0};  // written by the consumer
};

}  // namespace exchanged::repl
