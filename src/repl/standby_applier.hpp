// A follower's hot standby (docs/replication.md, "Hot standby"): one applier thread runs every
// record the follower's WAL has made durable and the leader reports committed through its shard's
// matcher, with the replay code of engine/recovery (engine::RecordReplayer: the same checks, the
// same matchers), and checks each checkpoint record's state hash against its own state. The events
// go to the follower's own store through one EventFeed and a FlushWorker, as a leader's do; the WAL
// tail the store lacks at start is written by the worker's catch-up from the WAL, as on a leader's
// start.
//
//   receiver --append_replicated--> WAL --on_durable--> durable LSN
//       |                                                    |
//       +--appended--> StandbyRing --(LSN <= durable)--> applier thread --> EventFeed -->
//       FlushWorker
//                         (gap: read the WAL files)           |                        --> store
//                                                            +--> checkpoint mismatch: failed
//
// The receiver never waits for the applier (a full ring only means a read from the WAL files), so
// the follower's acks depend on its WAL alone. The applier waits when the store lags (a full feed).
// A mismatch, a record replay refuses, or a fatal store error stops applying and calls `failed`
// once with a message naming the LSN (and, for a mismatch, the shard and both hashes).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/recovery.hpp"
#include "engine/shard_layout.hpp"
#include "repl/standby_ring.hpp"
#include "store/event_feed.hpp"
#include "store/flush_worker.hpp"
#include "store/store.hpp"

namespace exchanged::repl {

struct StandbyApplierOptions {
    std::filesystem::path wal_dir;  // the follower's WAL: records the ring left out, the catch-up
    std::size_t ring_records = 16384;
    std::size_t feed_events = 1u << 18;  // [persistence] store_queue_events
    // Batching from the profile (engine::flush_options); the applier sets frontier, catch-up,
    // on_committed and on_fatal.
    store::FlushOptions flush;
};

struct StandbyApplierHooks {
    // Once, on the applier's or the flush worker's thread: applying stopped for good.
    std::function<void(const std::string& error)> failed;
    // After each store commit (the WAL may release the segments below it).
    std::function<void(store::StoreLsn store_lsn)> stored;
    std::function<void(const std::string& line)> info;
    std::function<void(const std::string& line)> warn;
};

struct StandbyStats {
    wal::Lsn applied_lsn = 0;
    wal::Lsn durable_lsn = 0;  // as the applier last heard
    wal::Lsn commit_lsn = 0;   // the leader's commit frontier as the applier last heard
    store::StoreLsn store_lsn = 0;
    std::uint64_t records_applied = 0;
    std::uint64_t checkpoints_verified = 0;
    std::uint64_t records_read_back = 0;  // from the WAL files (the ring had left them out)
    std::uint64_t store_waits = 0;        // times applying waited for room in the feed
};

class StandbyApplier {
  public:
    // `start` is the state the follower's log was recovered to (store plus WAL tail): its
    // after_lsn is the last record in the WAL. `layout` and `store` must outlive the applier.
    StandbyApplier(const engine::ShardLayout& layout, engine::ReplayStart start,
                   store::Store& store, StandbyApplierOptions options, StandbyApplierHooks hooks);
    ~StandbyApplier();
    StandbyApplier(const StandbyApplier&) = delete;
    StandbyApplier& operator=(const StandbyApplier&) = delete;

    void start();
    // Stops applying, then lets the store take what was applied (up to `store_give_up`). False
    // when the store did not take it all (the next start writes the rest from the WAL).
    bool stop(std::chrono::milliseconds store_give_up);

    // After stop(): the books (matchers and next seqs) as they stand after the last record
    // applied, moved out for the leader this node becomes (docs/failover.md: The books handed
    // over); their after_lsn may be one above applied_lsn() when the stop cut a record's events
    // short (the store then lacks that record; the leader's flush worker writes it from the
    // WAL). Empty, with `why`, when they must not be used: applying failed (a checkpoint
    // mismatch, a record replay refused, the store), the applier still runs, or they were taken.
    std::optional<engine::ReplayStart> take_books(std::string& why);

    // The receiver, after each record its WAL took. Never blocks.
    void appended(wal::Lsn lsn, std::uint16_t type, std::span<const std::byte> payload) noexcept;
    // The WAL's on_durable. Quick. An LSN below the applied one (the log was truncated under the
    // standby) fails it.
    void durable(wal::Lsn lsn);
    // The receiver cut the WAL to end at `keep_lsn` (divergence repair), before appending anything
    // more: the records the ring holds are dropped (those at or below keep_lsn are read back from
    // the WAL files) and the durable LSN goes back to keep_lsn. A cut below the applied LSN (the
    // standby took a record that was not committed) fails it.
    void truncated(wal::Lsn keep_lsn);
    // The leader's commit frontier as the receiver heard it (ascending; a lower one is ignored).
    // Records are applied only up to min(durable, committed): a record a quorum does not hold
    // may be cut by divergence repair, and the books and the store must never have taken it.
    void committed(wal::Lsn lsn);

    wal::Lsn applied_lsn() const { return applied_.load(std::memory_order_acquire); }
    wal::Lsn commit_lsn() const { return commit_.load(std::memory_order_acquire); }
    store::StoreLsn store_lsn() const { return flush_->store_lsn(); }
    bool failed() const { return failed_.load(); }
    std::string failure() const;
    StandbyStats stats() const;

  private:
    void run();
    // What may be applied now: min(durable, committed).
    wal::Lsn apply_limit() const;
    void wait_for_records(std::chrono::milliseconds at_most);
    void apply(const wal::RecordView& record);
    void read_back(wal::Lsn up_to);
    void push_events(wal::Lsn lsn, engine::ShardId shard, std::uint8_t flags,
                     std::span<const book::Event> events);
    void fail(const std::string& error);

    const StandbyApplierOptions options_;
    const StandbyApplierHooks hooks_;
    StandbyRing ring_;
    store::EventFeed feed_;
    std::unique_ptr<engine::RecordReplayer> replayer_;
    std::unique_ptr<store::FlushWorker> flush_;
    std::vector<store::StoreEvent> chunk_;  // one push's events, reused
    std::vector<std::byte> fault_payload_;  // the standby_apply_skip fault's altered command
    bool fault_done_ = false;

    std::atomic<wal::Lsn> applied_{0};
    std::atomic<wal::Lsn> durable_{0};
    std::atomic<wal::Lsn> commit_{0};
    // Ring records with an index below this were pushed before a cut: dropped, never applied.
    std::atomic<std::uint64_t> stale_before_{0};
    std::atomic<bool> stopping_{false};
    std::atomic<bool> failed_{false};
    std::atomic<std::uint64_t> records_applied_{0};
    std::atomic<std::uint64_t> checkpoints_verified_{0};
    std::atomic<std::uint64_t> records_read_back_{0};
    std::atomic<std::uint64_t> store_waits_{0};
    mutable std::mutex mutex_;  // failure_, and the applier's sleep with cv_
    std::condition_variable cv_;
    std::string failure_;
    std::thread thread_;
};

}  // namespace exchanged::repl
