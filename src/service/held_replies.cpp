#include "service/held_replies.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "common/invariant.hpp"

namespace exchanged::service {

namespace {

// Chain heads that arrive in LSN order fit here; the rest go to a heap of the gate's capacity,
// whose memory is reserved but touched only when used.
constexpr std::size_t kFifoCapacity = 4096;

}  // namespace

HeldReplies::PointQueue::PointQueue(std::size_t fifo_capacity, std::size_t heap_capacity)
    : fifo_(fifo_capacity) {
    heap_.reserve(heap_capacity);
}

void HeldReplies::PointQueue::push(const Waiting& waiting) {
    if (fifo_count_ < fifo_.size()) {
        const std::size_t back = (fifo_head_ + fifo_count_ + fifo_.size() - 1) % fifo_.size();
        if (fifo_count_ == 0 || !after(fifo_[back], waiting)) {
            fifo_[(fifo_head_ + fifo_count_) % fifo_.size()] = waiting;
            ++fifo_count_;
            return;
        }
    }
    heap_.push_back(waiting);
    std::push_heap(heap_.begin(), heap_.end(), after);
}

void HeldReplies::PointQueue::pop() {
    if (from_fifo()) {
        fifo_head_ = (fifo_head_ + 1) % fifo_.size();
        --fifo_count_;
        return;
    }
    std::pop_heap(heap_.begin(), heap_.end(), after);
    heap_.pop_back();
}

HeldReplies::HeldReplies(std::size_t capacity)
    : slots_(capacity),
      chains_(capacity),
      waiting_{PointQueue(std::min(capacity, kFifoCapacity), capacity),
               PointQueue(std::min(capacity, kFifoCapacity), capacity),
               PointQueue(std::min(capacity, kFifoCapacity), capacity),
               PointQueue(std::min(capacity, kFifoCapacity), capacity),
               PointQueue(std::min(capacity, kFifoCapacity), capacity)} {
    if (capacity == 0 || capacity >= kNoSlot) {
        throw std::invalid_argument("release gate capacity must be between 1 and 2^32 - 2");
    }
    free_.reserve(capacity);
}

void HeldReplies::hold(const HeldReply& reply) {
    EXCHANGED_INVARIANT(!full(), "a release gate holds a reply only when it has room", count_,
                        slots_.size());
    SlotIndex slot = 0;
    if (free_.empty()) {
        // The first replies use the first slots.
        slot = static_cast<SlotIndex>(fresh_++);
        std::construct_at(&slots_[slot]);
    } else {
        slot = free_.back();
        free_.pop_back();
    }
    ++count_;
    Slot& s = slots_[slot];
    s.reply = reply;
    s.seq = next_seq_++;
    s.next = kNoSlot;
    if (Chain* chain = chains_.find(reply.account)) {
        slots_[chain->tail].next = slot;
        chain->tail = slot;
        return;
    }
    // As many chains as held replies at most, and the map is sized for capacity: never full.
    const bool inserted = chains_.insert(reply.account, Chain{slot, slot});
    EXCHANGED_INVARIANT(inserted, "a release gate has room for every account's chain",
                        chains_.size(), chains_.max_entries());
    wait_for_point(slot);
}

void HeldReplies::wait_for_point(SlotIndex slot) {
    const Slot& s = slots_[slot];
    queue_of(s.reply.point).push(Waiting{s.reply.lsn, s.seq, slot});
}

HeldReplies::SlotIndex HeldReplies::free_head(AccountId account, Chain& chain, SlotIndex slot) {
    const SlotIndex next = slots_[slot].next;
    free_.push_back(slot);
    --count_;
    if (next == kNoSlot) {
        chains_.erase(account);
    } else {
        chain.head = next;
    }
    return next;
}

HeldReplies::SlotIndex HeldReplies::oldest_head() const {
    const Waiting* oldest = nullptr;
    for (const PointQueue& queue : waiting_) {
        if (!queue.empty() && (oldest == nullptr || after(*oldest, queue.front()))) {
            oldest = &queue.front();
        }
    }
    EXCHANGED_INVARIANT(oldest != nullptr, "a release gate that holds replies has a chain head",
                        count_, 0);
    return oldest->slot;
}

void HeldReplies::discard_oldest_blocked() {
    const SlotIndex slot = oldest_head();
    queue_of(slots_[slot].reply.point).pop();
    const AccountId account = slots_[slot].reply.account;
    const SlotIndex next = free_head(account, *chains_.find(account), slot);
    if (next != kNoSlot) {
        wait_for_point(next);
    }
}

}  // namespace exchanged::service
