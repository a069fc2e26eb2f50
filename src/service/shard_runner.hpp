// One shard thread (docs/architecture.md: Threads and hand-offs): pops requests from its queue and
// hands each to its ShardStage (sequence, log, match, feed the store, gate the replies) stamped
// with the pipeline's clock (the one clock read per command), then releases what the gate may send.
//
// Waiting: the thread spins briefly when its queue runs dry (a burst usually continues), then
// sleeps on a futex (std::atomic::wait) until a producer or a durability point wakes it.
// Producers only make the wake-up system call when the thread is actually asleep, so a busy shard
// costs no system call per command.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "service/pipeline_clock.hpp"
#include "service/shard_queue.hpp"
#include "service/shard_stage.hpp"

namespace exchanged::service {

struct ShardRunnerOptions {
    std::size_t queue_capacity = 65536;
    std::size_t producers = 1;  // io threads that enqueue
    bool pin_cpu = false;
    int cpu = 0;
};

class ShardRunner {
  public:
    // `stage` and `clock` must outlive the runner.
    ShardRunner(ShardStage& stage, const PipelineClock& clock, const ShardRunnerOptions& options);
    ~ShardRunner();
    ShardRunner(const ShardRunner&) = delete;
    ShardRunner& operator=(const ShardRunner&) = delete;

    void start();
    // Any thread. False when the queue is full.
    bool try_push(const ShardRequest& request);
    // Any thread: a durability point moved; wake the thread if it sleeps.
    void notify();
    // Finishes what is queued, then ends the thread. The owner stops producers first.
    void drain_and_join();
    // After join and after the WAL closed: sends what the gate still holds (now durable).
    void release_remaining() { stage_.gate().release(); }

    const ShardStage& stage() const { return stage_; }

  private:
    void run();
    void sleep();
    bool has_work() const;

    ShardStage& stage_;
    const PipelineClock& clock_;
    const ShardRunnerOptions options_;
    ShardQueue queue_;

    std::atomic<bool> stopping_{false};
    std::atomic<bool> sleeping_{false};
    std::atomic<std::uint32_t> wake_epoch_{0};
    std::thread thread_;
};

}  // namespace exchanged::service
