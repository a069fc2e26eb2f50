// The replies a release gate holds, ordered per account (docs/durability.md: Reply order): a
// reply may leave once its own durability point covers its LSN and every earlier reply of the
// same account has left. A session belongs to one account and a maker fill goes to its account's
// sessions, so ordering per account keeps every session's replies in order without making one
// account wait for another's critical orders.
//
// The replies of one account form a chain (a singly-linked list through fixed slots, in the order
// they were held). Only a chain's head can be blocked by its point alone; the heads wait in one
// queue per point ordered by LSN, since each point's frontier covers LSNs in ascending order.
// Releasing looks at the queues' fronts only and walks a chain while its replies are ready, so
// its cost is the replies that leave plus a queue step per chain head that changes, however many
// wait. A head usually arrives in LSN order (replies are held in LSN order) and goes to a FIFO;
// one that does not (the next reply of a chain whose head just left) goes to a min-heap.
// Memory is fixed at construction; nothing allocates afterwards.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/fixed_hash_map.hpp"
#include "common/raw_array.hpp"
#include "common/types.hpp"
#include "config/config.hpp"
#include "net/protocol.hpp"
#include "service/durability_point.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::service {

struct HeldReply {
    wal::Lsn lsn = 0;
    AckPoint point = AckPoint::Match;
    AccountId account = 0;  // whose replies it must not overtake
    bool to_account = false;
    std::uint64_t target = 0;    // a session id, or an account id when to_account
    TimestampNs stamped_ns = 0;  // the command's stamp; 0: not timed
    net::Message message;
};

class HeldReplies {
  public:
    explicit HeldReplies(std::size_t capacity);

    std::size_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    bool full() const { return count_ == slots_.size(); }
    // Whether `account` has a reply waiting: a new reply of it must queue behind.
    bool holds(AccountId account) const { return count_ != 0 && chains_.find(account) != nullptr; }

    // Queues `reply` behind its account's earlier replies. Not when full().
    void hold(const HeldReply& reply);

    // Hands every reply whose turn has come to `leave` (removing it), in chain order per account.
    // `ready(reply)` says whether its point allows it to go; for one point it must hold for every
    // LSN up to some bound and for none above (a frontier, or everything once the point failed).
    template <typename Ready, typename Leave>
    void release(const Ready& ready, const Leave& leave);
    // Whether release() would hand out something under `ready`.
    template <typename Ready>
    bool any_ready(const Ready& ready) const;

    // The blocked chain head with the lowest LSN: what a full gate waits for. Not when empty().
    const HeldReply& oldest_blocked() const { return slots_[oldest_head()].reply; }
    // Removes oldest_blocked() without checking its point (its point failed and it will never be
    // sent); the next reply of its account becomes the head.
    void discard_oldest_blocked();

  private:
    using SlotIndex = std::uint32_t;
    static constexpr SlotIndex kNoSlot = UINT32_MAX;

    struct Slot {
        HeldReply reply;
        std::uint64_t seq = 0;  // the order replies were held in: ties between equal LSNs
        SlotIndex next = kNoSlot;
    };
    struct Chain {
        SlotIndex head = kNoSlot;
        SlotIndex tail = kNoSlot;
    };
    // A chain head waiting for its point. The key is copied so the queues compare without
    // touching the slots.
    struct Waiting {
        wal::Lsn lsn = 0;
        std::uint64_t seq = 0;
        SlotIndex slot = kNoSlot;
    };
    // Whether `a` comes after `b`: by LSN, then by the order they were held.
    static bool after(const Waiting& a, const Waiting& b) {
        return a.lsn != b.lsn ? a.lsn > b.lsn : a.seq > b.seq;
    }

    // The chain heads waiting for one point, lowest LSN first: a FIFO of the heads that arrived
    // in LSN order (O(1)), and a min-heap for the others and for a full FIFO (O(log n)).
    class PointQueue {
      public:
        PointQueue(std::size_t fifo_capacity, std::size_t heap_capacity);
        bool empty() const { return fifo_count_ == 0 && heap_.empty(); }
        void push(const Waiting& waiting);
        // The lowest. Not when empty().
        const Waiting& front() const { return from_fifo() ? fifo_[fifo_head_] : heap_.front(); }
        void pop();

      private:
        bool from_fifo() const {
            return fifo_count_ != 0 && (heap_.empty() || !after(fifo_[fifo_head_], heap_.front()));
        }
        std::vector<Waiting> fifo_;  // a ring
        std::size_t fifo_head_ = 0;
        std::size_t fifo_count_ = 0;
        std::vector<Waiting> heap_;  // std heaps keep the greatest on top: ordered by after()
    };

    void wait_for_point(SlotIndex slot);
    PointQueue& queue_of(AckPoint point) { return waiting_[static_cast<std::size_t>(point)]; }
    SlotIndex oldest_head() const;
    // Frees the head `slot` of `chain` (whose account is `account`); returns the next slot.
    SlotIndex free_head(AccountId account, Chain& chain, SlotIndex slot);

    // Slots are constructed when first handed out ([0, fresh_) have been): a gate of 2^18
    // replies costs no 44 MB of page faults at start.
    RawArray<Slot> slots_;
    std::size_t fresh_ = 0;
    std::vector<SlotIndex> free_;  // a stack of slots used and freed again
    FixedHashMap<AccountId, Chain> chains_;
    std::array<PointQueue, DurabilityPoints::kCount> waiting_;
    std::size_t count_ = 0;
    std::uint64_t next_seq_ = 0;
};

template <typename Ready, typename Leave>
void HeldReplies::release(const Ready& ready, const Leave& leave) {
    for (PointQueue& queue : waiting_) {
        while (!queue.empty() && ready(slots_[queue.front().slot].reply)) {
            SlotIndex slot = queue.front().slot;
            queue.pop();
            const AccountId account = slots_[slot].reply.account;
            Chain* chain = chains_.find(account);
            // Walk the chain while its replies may go. One that may not becomes the head and
            // waits in its point's queue, where this pass will not look again: under the same
            // frontiers it stays blocked.
            while (slot != kNoSlot) {
                leave(slots_[slot].reply);
                slot = free_head(account, *chain, slot);
                if (slot != kNoSlot && !ready(slots_[slot].reply)) {
                    wait_for_point(slot);
                    break;
                }
            }
        }
    }
}

template <typename Ready>
bool HeldReplies::any_ready(const Ready& ready) const {
    return std::any_of(waiting_.begin(), waiting_.end(), [&](const PointQueue& queue) {
        return !queue.empty() && ready(slots_[queue.front().slot].reply);
    });
}

}  // namespace exchanged::service
