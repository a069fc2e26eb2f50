#include "engine/service/shard_runner.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <span>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace exchanged::engine {

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

TimestampNs now_ns() {
    // The realtime clock through the vDSO: no system call.
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

ShardRunner::ShardRunner(Shard& shard, ReplySink& sink, const CommandLog& log, AckPoint normal,
                         AckPoint critical, const ShardRunnerOptions& options)
    : shard_(shard),
      options_(options),
      refuse_critical_(critical != AckPoint::Match && !log.persists() && options.feed == nullptr),
      log_(log),
      queue_(options.queue_capacity, 0, options.producers),
      gate_(sink, log, options.store_lsn, normal, critical, options.gate_capacity) {
    // A command's events: accepted, trades, a cancel. Sweeps of many makers grow it once.
    events_.reserve(256);
    store_events_.reserve(256);
}

ShardRunnerStats ShardRunner::stats() const {
    return {refused_store_behind_.load(std::memory_order_relaxed),
            feed_full_waits_.load(std::memory_order_relaxed),
            feed_overflows_.load(std::memory_order_relaxed)};
}

ShardRunner::~ShardRunner() {
    if (thread_.joinable()) {
        drain_and_join();
    }
}

void ShardRunner::start() {
    thread_ = std::thread([this] {
        const std::string name = "shard-" + std::to_string(shard_.id());
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
                         shard_.id(), options_.cpu, error);
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
    return queue_.size_approx() > 0 || gate_.has_ready() ||
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
                handle(batch[i]);
            }
            gate_.release();
            idle = 0;
            continue;
        }
        gate_.release();
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

void ShardRunner::handle(const ShardRequest& request) {
    if (request.kind == ShardRequest::Kind::Status) {
        answer_status(request);
        return;
    }
    const book::Command& command = request.command;
    ReplyOrigin origin;
    origin.session = request.session;
    origin.request_type = request.request_type;
    origin.client_request_id = request.client_request_id;
    origin.critical = command.type == book::CommandType::NewOrder &&
                      ((command.flags & book::order_flags::kLiquidation) != 0 ||
                       (options_.critical_order_threshold > 0 &&
                        command.quantity > options_.critical_order_threshold));
    events_.clear();
    if (origin.critical && refuse_critical_) {
        Shard::refuse(command, book::RejectReason::Unavailable, events_);
    } else if (!feed_has_room()) {
        refused_store_behind_.fetch_add(1, std::memory_order_relaxed);
        Shard::refuse(command, book::RejectReason::Unavailable, events_);
    } else if (options_.feed != nullptr) {
        options_.feed->set_in_flight(log_.next_lsn());
        shard_.process(command, now_ns(), events_);
        feed_store(command);
        options_.feed->set_in_flight(store::EventFeed::kIdle);
    } else {
        shard_.process(command, now_ns(), events_);
    }
    bool traded = false;
    if (options_.sync_all_trades) {
        for (const ShardEvent& event : events_) {
            traded = traded || event.event.type == book::EventType::Trade;
        }
    }
    origin.store_sync = traded;
    for (const ShardEvent& event : events_) {
        if (event.lsn > last_lsn_) {
            last_lsn_ = event.lsn;
        }
        gate_.push(event, origin);
    }
}

// A command's events must fit in the feed; a command is only taken when a few thousand events
// fit, so that only a rare giant (a sweep or mass cancel of thousands of orders) ever waits.
bool ShardRunner::feed_has_room() const {
    if (options_.feed == nullptr || options_.feed_may_drop) {
        return true;
    }
    const std::size_t reserve = std::min<std::size_t>(4096, options_.feed->capacity() / 4);
    return options_.feed->free_space() >= reserve;
}

void ShardRunner::feed_store(const book::Command& command) {
    store_events_.clear();
    for (const ShardEvent& event : events_) {
        if (event.lsn != 0) {
            store_events_.push_back(
                store::StoreEvent{event.lsn, shard_.id(), command.flags, event.event});
        }
    }
    if (store_events_.empty()) {
        return;
    }
    if (options_.feed_may_drop) {
        // Read after the command claimed its LSN (see EventFeed::dropping).
        if (options_.feed->dropping()) {
            return;
        }
        if (!options_.feed->try_push(store_events_)) {
            feed_overflows_.fetch_add(1, std::memory_order_relaxed);
            options_.feed->set_dropping(true);
        }
        return;
    }
    // Usually one push. A giant (a mass cancel or sweep of more orders than the feed holds) goes
    // in pieces: the flush worker stages what it takes, so the rest finds room.
    std::span<const store::StoreEvent> rest(store_events_);
    bool waited = false;
    while (!rest.empty()) {
        const std::size_t room = std::min(rest.size(), options_.feed->free_space());
        if (room > 0 && options_.feed->try_push(rest.first(room))) {
            rest = rest.subspan(room);
            continue;
        }
        waited = true;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    if (waited) {
        feed_full_waits_.fetch_add(1, std::memory_order_relaxed);
    }
}

void ShardRunner::answer_status(const ShardRequest& request) {
    const book::Command& q = request.command;
    net::OrderStatus status;
    status.instrument = q.instrument;
    status.client_order_id = q.client_order_id;
    const book::ClientOrderLookup lookup =
        shard_.matcher().find_by_client_order_id(q.account, q.client_order_id);
    if (lookup.state == book::ClientOrderLookup::State::Resting &&
        lookup.resting->instrument == q.instrument) {
        status.state = net::OrderState::Resting;
        status.order_id = lookup.order_id;
        status.price = lookup.resting->price;
        status.leaves = lookup.resting->leaves;
        status.side = lookup.resting->side;
    } else if (lookup.state == book::ClientOrderLookup::State::Finished) {
        // Inside the client order id window the shard knows the order finished, not how.
        status.state = net::OrderState::Done;
        status.order_id = lookup.order_id;
    }
    // It reads state that may include commands not yet durable: it waits behind their acks.
    gate_.push_reply(last_lsn_, request.session, status);
}

}  // namespace exchanged::engine
