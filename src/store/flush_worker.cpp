#include "store/flush_worker.hpp"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "common/test_fault.hpp"

namespace exchanged::store {

namespace {

// How often an idle worker looks at the frontier: a quarter of the batch timeout, within bounds.
// Polling keeps the shards free of wake-up system calls; 200 µs is noise next to a commit.
constexpr std::chrono::microseconds kAwaitedPoll{200};

std::chrono::microseconds poll_interval(std::chrono::milliseconds timeout) {
    const auto quarter = std::chrono::duration_cast<std::chrono::microseconds>(timeout) / 4;
    return std::clamp(quarter, std::chrono::microseconds(200), std::chrono::microseconds(2000));
}

// A damaged file cannot be repaired by retrying; neither can a failed fsync (its dirty pages may
// be gone). Whatever the worker was doing, it must stop.
bool beyond_retry(const StoreError& error) {
    if (dynamic_cast<const StoreCorruptError*>(&error) != nullptr) {
        return true;
    }
    const auto* io = dynamic_cast<const StoreIoError*>(&error);
    return io != nullptr && io->sync_failed();
}

}  // namespace

FlushWorker::FlushWorker(Store& store, std::vector<EventFeed*> feeds, FlushOptions options)
    : store_(store),
      feeds_(std::move(feeds)),
      options_(std::move(options)),
      staging_(feeds_.size()),
      staged_pos_(feeds_.size(), 0) {
    if (!options_.frontier) {
        throw std::invalid_argument("flush worker: no frontier");
    }
    const StoreLsn start = store_.store_lsn();
    store_lsn_.store(start, std::memory_order_release);
    stats_.store_lsn = start;
    stats_.frontier = start;
    batch_.events.reserve(std::size_t{options_.batch_lsns} * 4);
    if (options_.resume_from > start + 1) {
        if (!options_.catch_up) {
            throw std::invalid_argument("flush worker: the store is at LSN " +
                                        std::to_string(start) + " but the feeds start at LSN " +
                                        std::to_string(options_.resume_from) +
                                        ", and there is no WAL to fill the gap from");
        }
        mode_ = Mode::Resuming;
        resume_from_ = options_.resume_from;
        starting_up_ = true;
        stats_.catching_up = true;
    }
}

FlushWorker::~FlushWorker() {
    if (thread_.joinable()) {
        flush_and_stop(std::chrono::milliseconds(0));
    }
}

void FlushWorker::start() {
    if (starting_up_ && options_.info) {
        options_.info("the store is at LSN " + std::to_string(store_lsn()) +
                      "; writing the WAL tail up to LSN " + std::to_string(resume_from_ - 1) +
                      " into it in the background");
    }
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "store-flush");
        run();
    });
}

bool FlushWorker::flush_and_stop(std::chrono::milliseconds give_up_after) {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        give_up_at_ = Clock::now() + give_up_after;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
    return drained_;
}

FlushStats FlushWorker::stats() const {
    std::lock_guard lock(mutex_);
    FlushStats out = stats_;
    if (out.uncommitted > 0 && pending_since_ != Clock::time_point{}) {
        out.lag_seconds = std::chrono::duration<double>(Clock::now() - pending_since_).count();
    }
    return out;
}

SnapshotRequest FlushWorker::request_snapshot(std::filesystem::path target,
                                              std::function<void(const SnapshotResult&)> done) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            return SnapshotRequest::Stopped;
        }
        if (snapshot_busy_) {
            return SnapshotRequest::Busy;
        }
        snapshot_busy_ = true;
        snapshot_pending_ = true;
        snapshot_target_ = std::move(target);
        snapshot_done_ = std::move(done);
    }
    cv_.notify_all();
    return SnapshotRequest::Accepted;
}

void FlushWorker::serve_snapshot(const std::string& refusal) {
    SnapshotResult result;
    std::function<void(const SnapshotResult&)> done;
    {
        std::lock_guard lock(mutex_);
        if (!snapshot_pending_) {
            return;
        }
        snapshot_pending_ = false;
        result.path = snapshot_target_;
        done = std::move(snapshot_done_);
    }
    if (!refusal.empty()) {
        result.error = refusal;
    } else {
        // Between two batches on the store's own thread: nothing writes while it copies.
        try {
            result.store_lsn = store_.snapshot_into(result.path);
            result.ok = true;
        } catch (const StoreError& error) {
            result.error = error.what();
            // Reading the live store found it damaged, or an fsync failed on the data's disk:
            // as for a batch, never carry on (a write error, say a full disk, only fails the
            // copy, whatever the profile: the copy is not a durability point).
            if (beyond_retry(error)) {
                fail_fatally(error);
            }
        } catch (const std::exception& error) {
            result.error = error.what();
        }
    }
    {
        // Free before answering: whoever got the answer may ask again at once.
        std::lock_guard lock(mutex_);
        snapshot_busy_ = false;
    }
    try {
        done(result);
    } catch (const std::exception& error) {
        if (options_.warn) {
            options_.warn(std::string("store snapshot: answering the request failed: ") +
                          error.what());
        }
    }
}

void FlushWorker::run() {
    const auto poll = poll_interval(options_.batch_timeout);
    for (;;) {
        bool stopping;
        {
            std::lock_guard lock(mutex_);
            stopping = stopping_;
        }
        if (stopping) {
            serve_snapshot("store snapshot: the daemon is stopping");
            drain();
            return;
        }
        serve_snapshot(fatal_ ? "store snapshot: the flush worker stopped after a fatal store "
                                "error (see the daemon's log)"
                              : "");
        if (!step(false)) {
            std::unique_lock lock(mutex_);
            if (fatal_) {
                cv_.wait(lock, [this] { return stopping_ || snapshot_pending_; });
            } else {
                // A held ack waits for records the WAL has not made durable yet: look again soon
                // rather than a quarter of the batch timeout later.
                const bool awaited = options_.awaited && options_.awaited() > store_lsn();
                cv_.wait_for(lock, awaited ? kAwaitedPoll : poll,
                             [this] { return stopping_ || snapshot_pending_; });
            }
        }
    }
}

void FlushWorker::drain() {
    for (;;) {
        if (fatal_) {
            drained_ = false;
            return;
        }
        if (!batch_ready_ && store_lsn() >= options_.frontier()) {
            drained_ = true;
            return;
        }
        Clock::time_point give_up_at;
        {
            std::lock_guard lock(mutex_);
            give_up_at = give_up_at_;
        }
        if (step(true)) {
            continue;
        }
        if (Clock::now() >= give_up_at) {
            drained_ = false;
            return;
        }
        wait_backoff(give_up_at);
    }
}

bool FlushWorker::any_dropping() const {
    for (const EventFeed* feed : feeds_) {
        if (feed->dropping()) {
            return true;
        }
    }
    return false;
}

void FlushWorker::committed_by_catch_up(StoreLsn lsn) {
    store_lsn_.store(lsn, std::memory_order_release);
    const bool was_down = backoff_.count() > 0;
    backoff_ = std::chrono::milliseconds(0);
    {
        std::lock_guard lock(mutex_);
        stats_.store_lsn = lsn;
        stats_.store_up = true;
    }
    note_frontier(options_.frontier(), lsn);
    if (was_down && options_.info) {
        options_.info("store is back (" + store_.describe() + "): caught up to LSN " +
                      std::to_string(lsn));
    }
    failures_since_warning_ = 0;
    last_warning_ = Clock::time_point{};
    if (options_.on_committed) {
        options_.on_committed(lsn);
    }
}

// Drop mode: the feeds lost events, so the WAL supplies them. Dropping: discard what the feeds
// hold, replay the WAL into the store up to the frontier, then let the shards push again and note
// the log's next LSN as the point from which the feeds are whole. Resuming: discard what arrived
// below that point, replay the WAL up to just below it, and go back to batching from the feeds.
bool FlushWorker::catch_up_step(bool draining) {
    batch_ready_ = false;
    if (mode_ == Mode::Dropping) {
        for (std::size_t i = 0; i < feeds_.size(); ++i) {
            feeds_[i]->discard_all();
            staging_[i].clear();
            staged_pos_[i] = 0;
        }
    } else {
        pull();
        for (std::size_t i = 0; i < feeds_.size(); ++i) {
            std::size_t below = 0;
            while (below < staging_[i].size() && staging_[i][below].lsn < resume_from_) {
                ++below;
            }
            staging_[i].erase(staging_[i].begin(),
                              staging_[i].begin() + static_cast<std::ptrdiff_t>(below));
            staged_pos_[i] = 0;
        }
    }
    const StoreLsn frontier = options_.frontier();
    note_frontier(frontier, store_lsn());
    const StoreLsn goal = mode_ == Mode::Dropping ? frontier : resume_from_ - 1;
    if (frontier < goal) {
        return false;  // commands below the resume point are still being matched
    }
    if (goal > store_lsn()) {
        // In one call when no reply waits for the store (start-up's tail, or a profile whose acks
        // never wait for it): each call loads the log from the store's segment on, and catch_up
        // commits in transactions of its own size. Otherwise in steps, so those replies go sooner.
        const bool reply_waits = options_.awaited && options_.awaited() > store_lsn();
        const StoreLsn step = starting_up_ || !reply_waits
                                  ? goal
                                  : std::min<StoreLsn>(goal, store_lsn() + options_.max_batch_lsns);
        try {
            options_.catch_up(step);
        } catch (const StoreError& error) {
            if (is_fatal(error)) {
                fail_fatally(error);
                return false;
            }
            note_failure(error);
            if (!draining) {
                wait_backoff(Clock::time_point::max());
            }
            return false;
        } catch (const std::exception& error) {
            note_failure(StoreError(std::string("catching up from the WAL: ") + error.what()));
            if (!draining) {
                wait_backoff(Clock::time_point::max());
            }
            return false;
        }
        committed_by_catch_up(step);
        starting_up_ = false;
        if (step < goal && (mode_ == Mode::Resuming || goal - step > options_.max_batch_lsns)) {
            return true;  // more steps before the feeds may fill again
        }
    }
    if (mode_ == Mode::Dropping) {
        for (EventFeed* feed : feeds_) {
            feed->set_dropping(false);
        }
        resume_from_ = options_.next_lsn();
        mode_ = Mode::Resuming;
        return true;
    }
    if (store_lsn() < goal) {
        return true;
    }
    if (any_dropping()) {
        mode_ = Mode::Dropping;  // overflowed again before the feeds were whole
        return true;
    }
    mode_ = Mode::Normal;
    {
        std::lock_guard lock(mutex_);
        stats_.catching_up = false;
    }
    if (options_.catch_up_done) {
        options_.catch_up_done();
    }
    if (options_.info) {
        options_.info("store caught up from the WAL to LSN " + std::to_string(store_lsn()) +
                      "; batching from the shards again");
    }
    return true;
}

// One attempt: collect a batch when one is due, then try to commit it. True when it committed.
bool FlushWorker::step(bool draining) {
    if (fatal_) {
        return false;
    }
    if (options_.catch_up && mode_ == Mode::Normal && any_dropping()) {
        mode_ = Mode::Dropping;
        {
            std::lock_guard lock(mutex_);
            ++stats_.catch_ups;
            stats_.catching_up = true;
        }
        if (options_.warn) {
            options_.warn("the store fell behind by more than a feed holds (store_lsn " +
                          std::to_string(store_lsn()) +
                          "): catching it up from the WAL; trading continues");
        }
    }
    if (mode_ != Mode::Normal) {
        return catch_up_step(draining);
    }
    if (!batch_ready_) {
        // The frontier first: every event at or below it is then in a feed, and pull takes it.
        StoreLsn frontier = options_.frontier();
        pull();
        // When staging is full, events at or below the frontier may still sit in a feed: the
        // batch must stop before them.
        for (const EventFeed* feed : feeds_) {
            const StoreLsn waiting = feed->front_lsn();
            if (waiting != 0 && waiting <= frontier) {
                frontier = waiting - 1;
            }
        }
        const StoreLsn committed = store_lsn();
        note_frontier(frontier, committed);
        if (frontier <= committed) {
            return false;
        }
        const Clock::time_point now = Clock::now();
        const bool due = draining || frontier - committed >= options_.batch_lsns ||
                         now - pending_since_ >= options_.batch_timeout ||
                         (options_.awaited && options_.awaited() > committed);
        if (!due) {
            return false;
        }
        collect(std::min<StoreLsn>(frontier, committed + options_.max_batch_lsns));
    } else {
        // Retrying a batch: the frontier still moves, and the metrics should say so.
        note_frontier(options_.frontier(), store_lsn());
    }
    if (commit()) {
        return true;
    }
    if (!draining) {
        wait_backoff(Clock::time_point::max());
    }
    return false;
}

void FlushWorker::note_frontier(StoreLsn frontier, StoreLsn committed) {
    const Clock::time_point now = Clock::now();
    std::lock_guard lock(mutex_);
    if (frontier > stats_.frontier) {
        // When the records above the last frontier first became flushable: the lag clock of the
        // next batch starts at the first of them still waiting.
        if (arrivals_.size() == kMaxArrivals) {
            arrivals_.pop_front();
        }
        arrivals_.push_back({frontier, now});
        stats_.frontier = frontier;
    }
    stats_.uncommitted = frontier > committed ? frontier - committed : 0;
    while (!arrivals_.empty() && arrivals_.front().first <= committed) {
        arrivals_.pop_front();
    }
    if (stats_.uncommitted == 0) {
        pending_since_ = Clock::time_point{};
    } else if (pending_since_ == Clock::time_point{} ||
               (!arrivals_.empty() && arrivals_.front().second > pending_since_)) {
        pending_since_ = arrivals_.empty() ? now : arrivals_.front().second;
    }
}

// Moves what the feeds hold into the staging vectors, each up to its feed's size, so a store that
// is slow or down fills the feeds: with a WAL they then switch to drop mode and the WAL supplies
// the events later; without one the shards refuse new orders until there is room. Beyond the
// bound it still takes the rest of a command whose first events it took, so a batch never waits
// for events it cannot take: without a WAL a command may have more events than its feed holds
// (a sweep or mass cancel of thousands of orders), and it could not finish pushing otherwise.
// That is at most one command's events.
void FlushWorker::pull() {
    for (std::size_t i = 0; i < feeds_.size(); ++i) {
        std::vector<StoreEvent>& staged = staging_[i];
        const std::size_t waiting = staged.size() - staged_pos_[i];
        if (waiting < feeds_[i]->capacity()) {
            feeds_[i]->pop_up_to(std::numeric_limits<StoreLsn>::max(), staged,
                                 feeds_[i]->capacity() - waiting);
        }
        if (staged.size() > staged_pos_[i]) {
            feeds_[i]->pop_up_to(staged.back().lsn, staged,
                                 std::numeric_limits<std::size_t>::max());
        }
    }
}

void FlushWorker::collect(StoreLsn last) {
    batch_.first_lsn = store_lsn() + 1;
    batch_.last_lsn = last;
    batch_.events.clear();
    // Each feed is in LSN order and an LSN belongs to one shard: merge by LSN.
    for (;;) {
        std::size_t best = feeds_.size();
        StoreLsn best_lsn = 0;
        for (std::size_t i = 0; i < feeds_.size(); ++i) {
            if (staged_pos_[i] == staging_[i].size()) {
                continue;
            }
            const StoreLsn lsn = staging_[i][staged_pos_[i]].lsn;
            if (lsn <= last && (best == feeds_.size() || lsn < best_lsn)) {
                best = i;
                best_lsn = lsn;
            }
        }
        if (best == feeds_.size()) {
            break;
        }
        std::vector<StoreEvent>& staged = staging_[best];
        while (staged_pos_[best] < staged.size() && staged[staged_pos_[best]].lsn == best_lsn) {
            batch_.events.push_back(staged[staged_pos_[best]++]);
        }
    }
    for (std::size_t i = 0; i < feeds_.size(); ++i) {
        staging_[i].erase(staging_[i].begin(),
                          staging_[i].begin() + static_cast<std::ptrdiff_t>(staged_pos_[i]));
        staged_pos_[i] = 0;
    }
    batch_ready_ = true;
}

bool FlushWorker::commit() {
    if (test_fault::armed(test_fault::Fault::StoreAckBeforeCommit) && options_.on_committed) {
        // Mutation check: the store point, and the acks that wait for it, move before the commit,
        // which then comes a second late, as from a slow store.
        options_.on_committed(batch_.last_lsn);
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    const Clock::time_point begin = Clock::now();
    try {
        store_.apply(batch_);
    } catch (const StoreError& error) {
        if (is_fatal(error)) {
            fail_fatally(error);
        } else {
            note_failure(error);
        }
        return false;
    }
    const Clock::time_point end = Clock::now();
    commit_seconds_.observe(std::chrono::duration<double>(end - begin).count());
    batch_ready_ = false;
    store_lsn_.store(batch_.last_lsn, std::memory_order_release);
    const bool was_down = backoff_.count() > 0;
    backoff_ = std::chrono::milliseconds(0);
    {
        std::lock_guard lock(mutex_);
        ++stats_.batches;
        stats_.events += batch_.events.size();
        stats_.store_lsn = batch_.last_lsn;
        stats_.store_up = true;
        stats_.last_commit_seconds = std::chrono::duration<double>(end - begin).count();
    }
    note_frontier(stats().frontier, batch_.last_lsn);
    if (was_down && options_.info) {
        options_.info("store is back (" + store_.describe() + "): committed up to LSN " +
                      std::to_string(batch_.last_lsn) + " after " +
                      std::to_string(failures_since_warning_) + " failed attempt(s)");
    }
    failures_since_warning_ = 0;
    last_warning_ = Clock::time_point{};
    if (options_.on_committed) {
        options_.on_committed(batch_.last_lsn);
    }
    return true;
}

void FlushWorker::note_failure(const StoreError& error) {
    backoff_ =
        backoff_.count() == 0 ? options_.retry_initial : std::min(backoff_ * 2, options_.retry_max);
    ++failures_since_warning_;
    FlushStats snapshot;
    {
        std::lock_guard lock(mutex_);
        ++stats_.failures;
        stats_.store_up = false;
        snapshot = stats_;
    }
    const Clock::time_point now = Clock::now();
    if (options_.warn &&
        (last_warning_ == Clock::time_point{} || now - last_warning_ >= options_.warn_every)) {
        last_warning_ = now;
        options_.warn("store unavailable: " + std::string(error.what()) + "; " +
                      std::to_string(snapshot.uncommitted) + " records wait for it (store_lsn " +
                      std::to_string(snapshot.store_lsn) + "), retrying every " +
                      std::to_string(backoff_.count()) + " ms");
    }
}

// beyond_retry, and any I/O error where the store is a durability point. The rest is retried.
bool FlushWorker::is_fatal(const StoreError& error) const {
    return beyond_retry(error) ||
           (options_.io_errors_fatal && dynamic_cast<const StoreIoError*>(&error) != nullptr);
}

void FlushWorker::fail_fatally(const StoreError& error) {
    fatal_ = true;
    batch_ready_ = false;
    {
        std::lock_guard lock(mutex_);
        ++stats_.failures;
        stats_.store_up = false;
    }
    if (options_.on_fatal) {
        options_.on_fatal(error.what());
    }
}

void FlushWorker::wait_backoff(Clock::time_point not_after) {
    const Clock::time_point until = std::min(Clock::now() + backoff_, not_after);
    std::unique_lock lock(mutex_);
    // A stop request does not cut the wait short while draining (the drain has its own deadline),
    // but does while serving, so the drain starts at once.
    cv_.wait_until(lock, until, [this, not_after] {
        return stopping_ && not_after == Clock::time_point::max();
    });
}

}  // namespace exchanged::store
