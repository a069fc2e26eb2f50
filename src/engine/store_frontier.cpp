#include "engine/store_frontier.hpp"

#include <algorithm>

namespace exchanged::engine {

store::StoreLsn store_frontier(const CommandLog& log, const std::vector<store::EventFeed*>& feeds) {
    // An acquire load (the logs' next_lsn) keeps the in_flight loads after it.
    const wal::Lsn next = log.next_lsn();
    store::StoreLsn frontier = next - 1;
    for (const store::EventFeed* feed : feeds) {
        const std::uint64_t in_flight = feed->in_flight();
        if (in_flight != store::EventFeed::kIdle) {
            frontier = std::min<store::StoreLsn>(frontier, in_flight - 1);
        }
    }
    if (log.persists()) {
        frontier = std::min<store::StoreLsn>(frontier, log.durable_lsn());
    }
    return frontier;
}

}  // namespace exchanged::engine
