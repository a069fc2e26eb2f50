// A bounded multi-producer, single-consumer FIFO of fixed capacity (D. Vyukov's bounded queue):
// the engine's shard threads push replies for one session, the session's strand pops them. All
// memory is allocated by the constructor; push and pop never allocate, lock or block.
//
// Each cell carries a sequence number saying whose turn it is: a producer claims a position by a
// compare-and-swap on the tail, writes the cell, then publishes it by storing position + 1. Pushes
// from one thread therefore come out in the order they were made. A pop stops at a claimed but not
// yet published cell; the producer publishing it schedules the next drain (gateway.cpp).
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace exchanged::net {

template <typename T>
class DeliveryQueue {
  public:
    // Rounded up to a power of two, at least 2.
    explicit DeliveryQueue(std::size_t capacity)
        : capacity_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)),
          mask_(capacity_ - 1),
          cells_(std::make_unique<Cell[]>(capacity_)) {
        for (std::size_t i = 0; i < capacity_; ++i) {
            cells_[i].sequence.store(i, std::memory_order_relaxed);
        }
    }
    DeliveryQueue(const DeliveryQueue&) = delete;
    DeliveryQueue& operator=(const DeliveryQueue&) = delete;

    std::size_t capacity() const { return capacity_; }

    // Any thread. False when the queue is full; the value is then not taken.
    bool try_push(const T& value) {
        std::size_t position = tail_.load(std::memory_order_relaxed);
        for (;;) {
            Cell& cell = cells_[position & mask_];
            const std::size_t sequence = cell.sequence.load(std::memory_order_acquire);
            const auto lag = static_cast<std::intptr_t>(sequence - position);
            if (lag == 0) {
                if (tail_.compare_exchange_weak(position, position + 1,
                                                std::memory_order_relaxed)) {
                    cell.value = value;
                    cell.sequence.store(position + 1, std::memory_order_release);
                    return true;
                }
            } else if (lag < 0) {
                return false;  // the consumer has not yet emptied this cell of the previous lap
            } else {
                position = tail_.load(std::memory_order_relaxed);
            }
        }
    }

    // One consumer at a time (callers serialise: a strand, or a thread that knows no one else
    // pops). False when empty, or when the oldest claimed cell is still being written.
    bool try_pop(T& out) {
        Cell& cell = cells_[head_ & mask_];
        if (cell.sequence.load(std::memory_order_acquire) != head_ + 1) {
            return false;
        }
        out = cell.value;
        cell.sequence.store(head_ + capacity_, std::memory_order_release);
        ++head_;
        return true;
    }

  private:
    struct Cell {
        std::atomic<std::size_t> sequence{0};
        T value{};
    };

    const std::size_t capacity_;
    const std::size_t mask_;
    std::unique_ptr<Cell[]> cells_;
    // Apart, so the producers' compare-and-swap does not keep evicting the consumer's line.
    alignas(64) std::atomic<std::size_t> tail_{0};
    alignas(64) std::size_t head_ = 0;
};

}  // namespace exchanged::net
