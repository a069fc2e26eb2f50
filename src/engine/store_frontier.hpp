// How far the flush worker may write the store: the highest LSN at or below which every logged
// command has its events in its shard's EventFeed, capped (with a WAL) at what the WAL holds
// durably, because a store ahead of the WAL would, after a crash, hold records whose LSNs the
// restarted WAL hands out again.
//
// Each shard, before appending a command, publishes a lower bound of the LSN it is about to get
// (the log's next LSN) in its feed's in_flight, and clears it once the command's events are in the
// feed. Reading the log's next LSN n first and the in_flight marks after it, any command holding
// an LSN below n either shows its mark (so the frontier stays below it) or has finished pushing.
#pragma once

#include <vector>

#include "engine/command_log.hpp"
#include "store/event_feed.hpp"

namespace exchanged::engine {

store::StoreLsn store_frontier(const CommandLog& log, const std::vector<store::EventFeed*>& feeds);

}  // namespace exchanged::engine
