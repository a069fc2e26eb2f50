#include "service/durability_point.hpp"

#include <chrono>
#include <thread>

#include "common/invariant.hpp"

namespace exchanged::service {

static_assert(static_cast<std::size_t>(AckPoint::Match) == 0 &&
                  static_cast<std::size_t>(AckPoint::Wal) == 1 &&
                  static_cast<std::size_t>(AckPoint::Store) == 2 &&
                  static_cast<std::size_t>(AckPoint::Quorum) == 3 &&
                  static_cast<std::size_t>(AckPoint::Mirror) == 4,
              "DurabilityPoints indexes its points by AckPoint");

bool StorePoint::wait(wal::Lsn lsn) const {
    // The flush worker commits it unless the store is down; the shard waits meanwhile (its queue
    // fills and new orders are refused as busy), as acks that wait for the store must.
    if (frontier() < lsn && !failed()) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return !failed() || frontier() >= lsn;
}

void StorePoint::awaited_by_reply(wal::Lsn lsn) const noexcept {
    wal::Lsn seen = awaited_.load(std::memory_order_relaxed);
    while (lsn > seen && !awaited_.compare_exchange_weak(seen, lsn, std::memory_order_relaxed)) {
    }
}

void StorePoint::advance(wal::Lsn lsn) {
    const wal::Lsn before = lsn_.load(std::memory_order_relaxed);
    EXCHANGED_INVARIANT(lsn >= before, "store LSN never decreases", lsn, before);
    if (log_.persists()) {
        const wal::Lsn durable = log_.durable_lsn();
        EXCHANGED_INVARIANT(lsn <= durable, "store LSN <= WAL durable LSN", lsn, durable);
    }
    lsn_.store(lsn, std::memory_order_release);
    advanced();
}

}  // namespace exchanged::service
