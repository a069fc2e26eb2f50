// One shard thread (design §5): pops requests from its queue, sequences and applies commands
// through its Shard (the one clock read per command is here), answers status questions from the
// matcher, and hands every event to the shard's release gate.
//
// Waiting: the thread spins briefly when its queue runs dry (a burst usually continues), then
// sleeps on a futex (std::atomic::wait) until a producer or the WAL's durable callback wakes it.
// Producers only make the wake-up system call when the thread is actually asleep, so a busy shard
// costs no system call per command.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "engine/service/release_gate.hpp"
#include "engine/service/shard_queue.hpp"
#include "engine/shard.hpp"
#include "store/event_feed.hpp"

namespace exchanged::engine {

struct ShardRunnerOptions {
    std::size_t queue_capacity = 65536;
    std::size_t producers = 1;  // io threads that enqueue
    std::size_t gate_capacity = 1 << 18;
    bool pin_cpu = false;
    int cpu = 0;
    Quantity critical_order_threshold = 0;  // 0: only liquidations are critical
    // Where the shard's events go to the store (null: no store), and the store's committed LSN
    // for replies that wait for it.
    store::EventFeed* feed = nullptr;
    const std::atomic<std::uint64_t>* store_lsn = nullptr;
    bool sync_all_trades = false;  // every reply of a command that traded waits for the store
    // With a WAL the flush worker can rebuild events from it, so a full feed switches the feed to
    // drop mode instead of making the shard wait or refuse (store::EventFeed::dropping).
    bool feed_may_drop = false;
};

struct ShardRunnerStats {
    std::uint64_t refused_store_behind = 0;  // refused: the store feed had no room
    std::uint64_t feed_full_waits = 0;       // a command's events waited for room in the feed
    std::uint64_t feed_overflows = 0;        // the feed switched to drop mode
};

class ShardRunner {
  public:
    ShardRunner(Shard& shard, ReplySink& sink, const CommandLog& log, AckPoint normal,
                AckPoint critical, const ShardRunnerOptions& options);
    ~ShardRunner();
    ShardRunner(const ShardRunner&) = delete;
    ShardRunner& operator=(const ShardRunner&) = delete;

    void start();
    // Any thread. False when the queue is full.
    bool try_push(const ShardRequest& request);
    // Any thread: the WAL's durable point moved; wake the thread if it sleeps.
    void notify();
    // Finishes what is queued, then ends the thread. The owner stops producers first.
    void drain_and_join();
    // After join and after the WAL closed: sends what the gate still holds (now durable).
    void release_remaining() { gate_.release(); }

    const ReleaseGate& gate() const { return gate_; }
    // Any thread (relaxed counters).
    ShardRunnerStats stats() const;

  private:
    void run();
    void handle(const ShardRequest& request);
    void answer_status(const ShardRequest& request);
    void sleep();
    bool has_work() const;
    bool feed_has_room() const;
    void feed_store(const book::Command& command);

    Shard& shard_;
    ShardRunnerOptions options_;
    // A critical order's ack must wait for a durable point nothing reaches (no WAL and no store):
    // such orders are refused as unavailable before they are logged.
    const bool refuse_critical_;
    const CommandLog& log_;
    ShardQueue queue_;
    ReleaseGate gate_;
    std::vector<ShardEvent> events_;               // one command's events, reused
    std::vector<store::StoreEvent> store_events_;  // the same for the feed, reused
    std::atomic<std::uint64_t> refused_store_behind_{0};
    std::atomic<std::uint64_t> feed_full_waits_{0};
    std::atomic<std::uint64_t> feed_overflows_{0};
    wal::Lsn last_lsn_ = 0;  // the newest LSN this shard logged

    std::atomic<bool> stopping_{false};
    std::atomic<bool> sleeping_{false};
    std::atomic<std::uint32_t> wake_epoch_{0};
    std::thread thread_;
};

}  // namespace exchanged::engine
