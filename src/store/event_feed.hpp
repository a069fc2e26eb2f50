// The bounded ring that carries one shard's matcher events to the flush worker: single producer
// (the shard thread), single consumer (the flush worker). Preallocated; pushing copies into slots
// and never allocates, locks or makes a system call.
//
// Besides the events, the feed publishes which LSN the shard is working on (`in_flight`), so the
// flush worker can tell when every event at or below an LSN has arrived from every shard (see
// engine/store_frontier.hpp).
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "common/raw_array.hpp"
#include "store/store.hpp"

namespace exchanged::store {

class EventFeed {
  public:
    explicit EventFeed(std::size_t capacity)
        : slots_(std::bit_ceil(std::max<std::size_t>(capacity, 1))), mask_(slots_.size() - 1) {
        // Slots are written before they are read and freed without destructors: no slot is
        // constructed up front, so a feed of 2^18 events costs no 32 MiB of page faults at start
        // (a promoted leader's pipeline is on the failover's clock); each page is touched once,
        // by the first lap of the ring.
        static_assert(std::is_trivially_copyable_v<StoreEvent>);
        if (capacity == 0) {
            throw std::invalid_argument("event feed capacity must be above 0");
        }
    }
    EventFeed(const EventFeed&) = delete;
    EventFeed& operator=(const EventFeed&) = delete;

    std::size_t capacity() const { return slots_.size(); }

    // Producer. How many events fit now (the consumer may free more at any time).
    std::size_t free_space() const {
        return slots_.size() -
               (head_.load(std::memory_order_relaxed) - tail_.load(std::memory_order_acquire));
    }
    // Producer. All or nothing: false (and nothing pushed) when they do not fit.
    bool try_push(std::span<const StoreEvent> events) {
        const std::uint64_t head = head_.load(std::memory_order_relaxed);
        if (slots_.size() - (head - tail_.load(std::memory_order_acquire)) < events.size()) {
            return false;
        }
        for (std::size_t i = 0; i < events.size(); ++i) {
            slots_[(head + i) & mask_] = events[i];
        }
        head_.store(head + events.size(), std::memory_order_release);
        return true;
    }

    // Producer. `lower_bound` is at most the LSN the command about to be logged will get (the
    // log's next LSN read before appending), or kIdle once the command's events are pushed. The
    // store is sequentially consistent so that a consumer reading the log's next LSN and then
    // this sees any command that had claimed an LSN below it.
    static constexpr std::uint64_t kIdle = 0;
    void set_in_flight(std::uint64_t lower_bound) {
        in_flight_.store(lower_bound, std::memory_order_seq_cst);
    }
    std::uint64_t in_flight() const { return in_flight_.load(std::memory_order_seq_cst); }

    // Consumer. The LSN of the oldest waiting event, or 0 when empty.
    StoreLsn front_lsn() const {
        const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        if (head_.load(std::memory_order_acquire) == tail) {
            return 0;
        }
        return slots_[tail & mask_].lsn;
    }
    // Consumer. Appends to `out` the waiting events with lsn <= up_to, at most `max` of them, and
    // frees their slots. Returns how many.
    std::size_t pop_up_to(StoreLsn up_to, std::vector<StoreEvent>& out, std::size_t max) {
        std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        const std::uint64_t head = head_.load(std::memory_order_acquire);
        std::size_t taken = 0;
        while (tail != head && taken < max && slots_[tail & mask_].lsn <= up_to) {
            out.push_back(slots_[tail & mask_]);
            ++tail;
            ++taken;
        }
        tail_.store(tail, std::memory_order_release);
        return taken;
    }
    // Consumer. Drops everything waiting (the events will be rebuilt from the WAL).
    std::size_t discard_all() {
        const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        const std::uint64_t head = head_.load(std::memory_order_acquire);
        tail_.store(head, std::memory_order_release);
        return static_cast<std::size_t>(head - tail);
    }
    // Drop mode (profiles with a WAL): set by the producer when a command's events did not fit,
    // cleared by the consumer once it has rebuilt the dropped events from the WAL. While set the
    // producer pushes nothing. Sequentially consistent: the producer reads it after its command
    // has claimed an LSN, the consumer reads the log's next LSN after clearing it, so every
    // command at or above that LSN pushes its events again.
    bool dropping() const { return dropping_.load(std::memory_order_seq_cst); }
    void set_dropping(bool on) { dropping_.store(on, std::memory_order_seq_cst); }

  private:
    RawArray<StoreEvent> slots_;
    const std::size_t mask_;
    alignas(64) std::atomic<std::uint64_t> head_{0};  // written by the producer
    alignas(64) std::atomic<std::uint64_t> tail_{0};  // written by the consumer
    alignas(64) std::atomic<std::uint64_t> in_flight_{kIdle};
    std::atomic<bool> dropping_{false};
};

}  // namespace exchanged::store
