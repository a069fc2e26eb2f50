#include "service/shard_runner.hpp"

#include <pthread.h>
#include <sched.h>

#include <array>
#include <cstdio>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace exchanged::service {

namespace {

// 2000 pauses: about 40 µs on the standard machine's CPU (about 100 µs per idle spell with the
// queue polls), long enough to catch the next message of a burst, short enough that an idle shard
// on a 2-core machine gives its core back soon. Waking a sleeping thread costs ~40 µs in that guest
// (docs/benchmarks.md), so a shorter spin trades latency for CPU; measure before changing it.
constexpr int kSpinIterations = 2000;
constexpr std::size_t kBatch = 64;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

}  // namespace

ShardRunner::ShardRunner(ShardStage& stage, const PipelineClock& clock,
                         const ShardRunnerOptions& options)
    : stage_(stage),
      clock_(clock),
      options_(options),
      queue_(options.queue_capacity, 0, options.producers) {
    stage_.gate().measure_ack_latency(clock_);
}

ShardRunner::~ShardRunner() {
    if (thread_.joinable()) {
        drain_and_join();
    }
}

void ShardRunner::start() {
    thread_ = std::thread([this] {
        const std::string name = "shard-" + std::to_string(stage_.shard().id());
        pthread_setname_np(pthread_self(), name.c_str());
        run();
    });
    if (options_.pin_cpu) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(options_.cpu, &set);
        const int error = pthread_setaffinity_np(thread_.native_handle(), sizeof(set), &set);
        if (error != 0) {
            std::fprintf(stderr, "exchanged: shard %u: cannot pin to cpu %d (error %d)\n",
                         stage_.shard().id(), options_.cpu, error);
        }
    }
}

bool ShardRunner::try_push(const ShardRequest& request) {
    if (!queue_.try_enqueue(request)) {
        return false;
    }
    notify();
    return true;
}

void ShardRunner::notify() {
    // Pairs with the fence in sleep(): either the thread sees the new work before it sleeps, or
    // this sees it asleep and wakes it.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_relaxed)) {
        wake_epoch_.fetch_add(1, std::memory_order_release);
        wake_epoch_.notify_one();
    }
}

void ShardRunner::drain_and_join() {
    stopping_.store(true, std::memory_order_release);
    notify();
    if (thread_.joinable()) {
        thread_.join();
    }
}

bool ShardRunner::has_work() const {
    return queue_.size_approx() > 0 || stage_.gate().has_ready() ||
           stopping_.load(std::memory_order_acquire);
}

void ShardRunner::sleep() {
    const std::uint32_t epoch = wake_epoch_.load(std::memory_order_acquire);
    sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!has_work()) {
        wake_epoch_.wait(epoch, std::memory_order_acquire);
    }
    sleeping_.store(false, std::memory_order_relaxed);
}

void ShardRunner::run() {
    std::array<ShardRequest, kBatch> batch;
    int idle = 0;
    for (;;) {
        const std::size_t n = queue_.try_dequeue_bulk(batch.data(), batch.size());
        if (n > 0) {
            for (std::size_t i = 0; i < n; ++i) {
                stage_.handle(batch[i], clock_.now());
            }
            stage_.gate().release();
            idle = 0;
            continue;
        }
        stage_.gate().release();
        if (stopping_.load(std::memory_order_acquire)) {
            if (queue_.size_approx() == 0) {
                return;
            }
            continue;
        }
        if (++idle < kSpinIterations) {
            cpu_relax();
            continue;
        }
        idle = 0;
        sleep();
    }
}

}  // namespace exchanged::service
