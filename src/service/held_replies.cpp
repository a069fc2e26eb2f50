#include "service/held_replies.hpp"

#include <stdexcept>

#include "common/invariant.hpp"

namespace exchanged::service {

HeldReplies::HeldReplies(std::size_t capacity) : slots_(capacity), chains_(capacity) {
    if (capacity == 0 || capacity >= kNoSlot) {
        throw std::invalid_argument("release gate capacity must be between 1 and 2^32 - 2");
    }
    free_.reserve(capacity);
    // Slot 0 on top: the first replies use the first slots.
    for (std::size_t i = capacity; i-- > 0;) {
        free_.push_back(static_cast<SlotIndex>(i));
    }
    // Every held reply may be a chain head of one point at once (one reply per account).
    for (Heap& heap : waiting_) {
        heap.reserve(capacity);
    }
}

void HeldReplies::hold(const HeldReply& reply) {
    EXCHANGED_INVARIANT(!full(), "a release gate holds a reply only when it has room", count_,
                        slots_.size());
    const SlotIndex slot = free_.back();
    free_.pop_back();
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
    Heap& heap = heap_of(s.reply.point);
    heap.push_back(Waiting{s.reply.lsn, s.seq, slot});
    std::push_heap(heap.begin(), heap.end(), after);
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
    for (const Heap& heap : waiting_) {
        if (!heap.empty() && (oldest == nullptr || after(*oldest, heap.front()))) {
            oldest = &heap.front();
        }
    }
    EXCHANGED_INVARIANT(oldest != nullptr, "a release gate that holds replies has a chain head",
                        count_, 0);
    return oldest->slot;
}

void HeldReplies::discard_oldest_blocked() {
    const SlotIndex slot = oldest_head();
    Heap& heap = heap_of(slots_[slot].reply.point);
    std::pop_heap(heap.begin(), heap.end(), after);
    heap.pop_back();
    const AccountId account = slots_[slot].reply.account;
    const SlotIndex next = free_head(account, *chains_.find(account), slot);
    if (next != kNoSlot) {
        wait_for_point(next);
    }
}

}  // namespace exchanged::service
