// One shard's part of the order path, without a thread of its own: a request in, the command
// sequenced, logged and matched by the Shard, its events handed to the store's feed and its
// replies to the release gate. ShardRunner drives a stage from the shard thread; the power-loss
// simulation and the tests drive the same stage from theirs, one request at a time.
//
// Which orders are critical, which replies wait for the store, and how shard events become store
// events are decided here and nowhere else.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "config/config.hpp"
#include "engine/command_log.hpp"
#include "engine/shard.hpp"
#include "service/durability_point.hpp"
#include "service/release_gate.hpp"
#include "service/shard_queue.hpp"
#include "service/unflushed_window.hpp"
#include "store/event_feed.hpp"
#include "store/store.hpp"

namespace exchanged::service {

struct ShardStageOptions {
    std::size_t gate_capacity = 1 << 18;
    Quantity critical_order_threshold = 0;  // 0: only liquidations are critical
    // Where the shard's events go to the store (null: the caller collects store_events()).
    store::EventFeed* feed = nullptr;
    bool sync_all_trades = false;  // every reply of a command that traded waits for the store
    // With a WAL the flush worker can rebuild events from it, so a full feed switches the feed to
    // drop mode instead of making the shard wait or refuse (store::EventFeed::dropping).
    bool feed_may_drop = false;
    // Whether a critical order can ever be acknowledged: false when its point is the WAL and
    // there is none, nor a store behind the shard. Such orders are refused as unavailable.
    bool critical_reachable = true;
    // [safety] max_unflushed_ms in ns (0: none): while the oldest acknowledged record the store
    // has not committed is older, new orders and replaces that raise a quantity are refused as
    // unavailable; cancels still go through (service/unflushed_window.hpp).
    TimestampNs max_unflushed_ns = 0;
    // [replication] quorum_timeout_ms in ns (0: none), for ack_after = quorum: while the oldest
    // command a majority of the replicas does not yet hold is older, new orders are refused as
    // unavailable (the followers are down or cut off: nothing new could be acknowledged).
    TimestampNs max_quorum_wait_ns = 0;
};

struct ShardStageStats {
    std::uint64_t refused_store_behind = 0;  // refused: the store feed had no room
    std::uint64_t feed_full_waits = 0;       // a command's events waited for room in the feed
    std::uint64_t feed_overflows = 0;        // the feed switched to drop mode
    std::uint64_t refused_unflushed = 0;     // refused: the loss window reached max_unflushed_ms
    TimestampNs unflushed_age_ns = 0;        // the oldest uncommitted record's age, now
    // Every command refused before it was logged, whatever refused it (the WAL queue, the WAL
    // failing, the store feed, a critical order with no reachable point): what the client saw.
    std::uint64_t refused_busy = 0;
    std::uint64_t refused_unavailable = 0;
    std::uint64_t refused_no_quorum = 0;  // refused: no quorum within quorum_timeout_ms
};

class ShardStage {
  public:
    // `shard`, `sink`, `log` and `points` must outlive the stage.
    ShardStage(engine::Shard& shard, ReplySink& sink, const engine::CommandLog& log,
               const DurabilityPoints& points, AckPoint normal, AckPoint critical,
               const ShardStageOptions& options);
    ShardStage(const ShardStage&) = delete;
    ShardStage& operator=(const ShardStage&) = delete;

    // One request, stamped with `now` (the only clock value the matcher sees). Returns the
    // command's events (empty for a status request), valid until the next call.
    std::span<const engine::ShardEvent> handle(const ShardRequest& request, TimestampNs now);
    // The last command's events as the store takes them (those that were logged).
    std::span<const store::StoreEvent> store_events() const { return store_events_; }

    ReleaseGate& gate() { return gate_; }
    const ReleaseGate& gate() const { return gate_; }
    engine::Shard& shard() { return shard_; }
    // Any thread (relaxed counters).
    ShardStageStats stats() const;

  private:
    ReplyOrigin origin_of(const ShardRequest& request) const;
    bool widens_window(const book::Command& command) const;
    bool feed_has_room() const;
    void collect_store_events(const book::Command& command);
    void feed_store();
    static void add_one(std::atomic<std::uint64_t>& counter);
    void count_refusal(book::RejectReason reason);
    void answer_status(const ShardRequest& request);

    engine::Shard& shard_;
    const engine::CommandLog& log_;
    const ShardStageOptions options_;
    const DurabilityPoint& store_point_;
    UnflushedWindow unflushed_;
    const DurabilityPoint& quorum_point_;
    UnflushedWindow quorum_wait_;  // the same bound in time, against the quorum frontier
    ReleaseGate gate_;
    std::vector<engine::ShardEvent> events_;       // one command's events, reused
    std::vector<store::StoreEvent> store_events_;  // the same for the store, reused
    std::atomic<std::uint64_t> refused_store_behind_{0};
    std::atomic<std::uint64_t> feed_full_waits_{0};
    std::atomic<std::uint64_t> feed_overflows_{0};
    std::atomic<std::uint64_t> refused_unflushed_{0};
    std::atomic<std::uint64_t> refused_no_quorum_{0};
    std::atomic<std::uint64_t> refused_busy_{0};
    std::atomic<std::uint64_t> refused_unavailable_{0};
    wal::Lsn last_lsn_ = 0;  // the newest LSN this shard logged
};

}  // namespace exchanged::service
