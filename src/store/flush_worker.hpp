// The flush worker of docs/architecture.md (The path of one order): one thread that moves the
// shards' matcher events from their EventFeeds into the primary store in batches, each batch one
// transaction that advances store_lsn. It is the only writer of the store while the daemon serves.
//
// A batch covers the LSNs (store_lsn, frontier], where the frontier is the highest LSN whose
// events have all arrived in the feeds (and, with a WAL, are durable in it: the store must never
// hold a record the WAL could lose, or the next start would reuse its LSN). A batch is written
// once batch_lsns records wait or the oldest waited batch_timeout; when the worker falls behind
// it takes everything waiting, up to max_batch_lsns per transaction.
//
// When the store fails (down, locked, disk full) the worker keeps the batch and retries it with
// exponential backoff, logging a warning each warn_every; the feeds fill meanwhile and the shards
// decide what to refuse (service/shard_stage.cpp). A damaged database file
// (StoreCorruptError) is different: no retry can help, so the worker stops writing and calls
// on_fatal once. So is a failed write or sync under the store (StoreIoError) when the store is a
// durability point (io_errors_fatal), and a failed sync always: a retried fsync can succeed
// without the data having reached the disk.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/histogram.hpp"
#include "store/event_feed.hpp"
#include "store/store.hpp"

namespace exchanged::store {

struct FlushOptions {
    std::uint32_t batch_lsns = 1000;
    std::chrono::milliseconds batch_timeout{50};
    std::uint32_t max_batch_lsns = 65536;
    std::chrono::milliseconds retry_initial{10};
    std::chrono::milliseconds retry_max{2000};
    std::chrono::milliseconds warn_every{10000};
    // A StoreIoError (a failed write, a full disk) is fatal instead of retried: set where acks
    // wait for the store, or the store is the only durable copy (engine::flush_options). A
    // failed sync is fatal either way.
    bool io_errors_fatal = false;
    // Every LSN at or below the returned one has all its events in the feeds. Called on the
    // worker thread.
    std::function<StoreLsn()> frontier;
    // The highest LSN an acknowledgement is held for until the store commits it (critical and
    // store-gated orders). While it is above store_lsn a batch is due at once, whatever its size
    // or age: such an ack waits for one commit, not for batch_timeout on top. Unset: none wait.
    std::function<StoreLsn()> awaited;
    // After each commit, on the worker thread: wake the release gates, recycle the WAL.
    std::function<void(StoreLsn store_lsn)> on_committed;
    // With a WAL: rebuilds the events of records store_lsn+1 .. up_to from it and writes them to
    // the store (throws StoreError, or std::exception when the WAL cannot supply them), and the
    // log's next LSN. When set, a feed in drop mode is caught up this way instead of waited for.
    // Called in steps of at most max_batch_lsns records while a reply waits for the store (see
    // awaited), so progress (and those acks) shows step by step, else up to the goal in one call;
    // catch_up_done when the feeds are whole again.
    std::function<void(StoreLsn up_to)> catch_up;
    // The first LSN the feeds will carry (the log's next LSN at start). When the store is below
    // it at start (start-up rebuilt the books from the WAL tail without writing the tail into the
    // store: engine::rebuild_from_store), the worker first writes store_lsn+1 .. resume_from-1
    // with catch_up, in one call, then batches from the feeds. 0: the feeds continue the store.
    StoreLsn resume_from = 0;
    std::function<void()> catch_up_done;
    std::function<StoreLsn()> next_lsn;
    // The store file is damaged (StoreCorruptError), or its storage failed where that is fatal
    // (StoreIoError, see io_errors_fatal): the worker writes nothing more, and its
    // owner should stop (with a WAL nothing is lost: the next start replays the tail once the
    // store is repaired). Called once, on the worker thread.
    std::function<void(const std::string& error)> on_fatal;
    // Warnings and recoveries of the store, on the worker thread.
    std::function<void(const std::string& line)> warn;
    std::function<void(const std::string& line)> info;
};

struct FlushStats {
    std::uint64_t batches = 0;
    std::uint64_t events = 0;
    std::uint64_t failures = 0;  // failed attempts (each retried)
    StoreLsn store_lsn = 0;
    StoreLsn frontier = 0;           // as last seen
    std::uint64_t uncommitted = 0;   // frontier - store_lsn
    double lag_seconds = 0;          // how long the oldest uncommitted record has waited
    bool store_up = true;            // the last attempt succeeded
    double last_commit_seconds = 0;  // duration of the last successful transaction
    std::uint64_t catch_ups = 0;     // times a feed overflowed and the WAL filled the gap
    bool catching_up = false;
};

// A store snapshot taken between two batches (online backups, docs/operations.md "Backups").
struct SnapshotResult {
    bool ok = false;
    std::string error;  // when !ok: what failed, naming the file
    std::filesystem::path path;
    StoreLsn store_lsn = 0;  // the store_lsn the copy holds
};

enum class SnapshotRequest : std::uint8_t {
    Accepted,  // `done` will be called once, on the worker thread
    Busy,      // another snapshot is pending or running; `done` is not called
    Stopped,   // the worker is stopping; `done` is not called
};

class FlushWorker {
  public:
    // `store` must be migrated and at `store.store_lsn()` no later than the feeds' first event.
    FlushWorker(Store& store, std::vector<EventFeed*> feeds, FlushOptions options);
    ~FlushWorker();
    FlushWorker(const FlushWorker&) = delete;
    FlushWorker& operator=(const FlushWorker&) = delete;

    void start();
    // Writes everything up to the frontier (the shards must have stopped), then ends the thread.
    // Returns false when the store stayed down past `give_up_after`: what was not written stays
    // only in the WAL (or, without one, is lost; the caller says so).
    bool flush_and_stop(std::chrono::milliseconds give_up_after);

    // Any thread: asks for Store::snapshot_into(target) between two batches, so the copy holds
    // exactly the store at one store_lsn. The worker writes no batch while it copies (the feeds
    // buffer meanwhile); the caller is not blocked. One at a time. A copy that finds the store
    // damaged (StoreCorruptError) or whose fsync fails is fatal, as a batch's would be.
    SnapshotRequest request_snapshot(std::filesystem::path target,
                                     std::function<void(const SnapshotResult&)> done);

    // Any thread.
    StoreLsn store_lsn() const { return store_lsn_.load(std::memory_order_acquire); }
    const std::atomic<StoreLsn>& store_lsn_atomic() const { return store_lsn_; }
    FlushStats stats() const;
    // Seconds per successful batch transaction (catch-up steps from the WAL are not in it); any
    // thread reads.
    const Histogram& commit_seconds() const { return commit_seconds_; }

  private:
    using Clock = std::chrono::steady_clock;

    enum class Mode : std::uint8_t {
        Normal,    // batches from the feeds
        Dropping,  // a feed dropped events: catch the store up from the WAL
        Resuming,  // feeds push again from resume_from_; the WAL fills the store below it
    };

    void run();
    void drain();
    bool any_dropping() const;
    bool catch_up_step(bool draining);
    void committed_by_catch_up(StoreLsn lsn);
    bool step(bool draining);
    void note_frontier(StoreLsn frontier, StoreLsn committed);
    void pull();
    void collect(StoreLsn last);
    bool commit();
    void note_failure(const StoreError& error);
    void fail_fatally(const StoreError& error);
    // Whether `error` ends the worker (fail_fatally) rather than being retried.
    bool is_fatal(const StoreError& error) const;
    void wait_backoff(Clock::time_point not_after);
    // Takes a requested snapshot, if any, and answers it (with `refusal` as the error instead of
    // taking it when not empty).
    void serve_snapshot(const std::string& refusal = {});

    static constexpr std::size_t kMaxArrivals = 4096;

    Store& store_;
    std::vector<EventFeed*> feeds_;
    const FlushOptions options_;
    std::atomic<StoreLsn> store_lsn_{0};

    // Worker thread state.
    StoreBatch batch_;
    bool batch_ready_ = false;                      // collected, not yet committed
    std::vector<std::vector<StoreEvent>> staging_;  // by feed: taken, not yet in a batch
    std::vector<std::size_t> staged_pos_;
    std::deque<std::pair<StoreLsn, Clock::time_point>> arrivals_;  // frontier rises, with mutex_
    Clock::time_point pending_since_{};  // the oldest uncommitted record's arrival, with mutex_
    bool drained_ = false;
    bool fatal_ = false;  // the store is damaged: write nothing more
    Mode mode_ = Mode::Normal;
    StoreLsn resume_from_ = 0;
    bool starting_up_ = false;  // the catch-up of the tail start-up left to the worker
    std::chrono::milliseconds backoff_{0};
    Clock::time_point last_warning_{};
    std::uint64_t failures_since_warning_ = 0;

    mutable std::mutex mutex_;  // stats_, stopping_ with cv_
    std::condition_variable cv_;
    bool stopping_ = false;
    // A snapshot asked for: pending until the worker takes it, busy until it has answered.
    bool snapshot_pending_ = false;
    bool snapshot_busy_ = false;
    std::filesystem::path snapshot_target_;
    std::function<void(const SnapshotResult&)> snapshot_done_;
    Clock::time_point give_up_at_{};
    FlushStats stats_;
    Histogram commit_seconds_{latency_bounds_seconds()};
    std::thread thread_;
};

}  // namespace exchanged::store
