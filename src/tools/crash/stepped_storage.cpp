#include "tools/crash/stepped_storage.hpp"

namespace exchanged::tools {

bool SteppedStorage::wait_idle() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return (idle_ && !go_) || failed_; });
    return !failed_;
}

bool SteppedStorage::commit() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return (idle_ && !go_) || failed_; });
    if (failed_) {
        return false;
    }
    go_ = true;
    changed_.notify_all();
    // The writer clears idle_ when it takes the go and sets it again only once nothing is in
    // flight, so this cannot return before the commit it let happen has completed.
    changed_.wait(lock, [this] { return (idle_ && !go_) || failed_; });
    return !failed_;
}

void SteppedStorage::run_freely() {
    std::lock_guard lock(mutex_);
    free_ = true;
    changed_.notify_all();
}

void SteppedStorage::set_background_wait(std::function<void()> wait) {
    std::lock_guard lock(mutex_);
    background_wait_ = std::move(wait);
}

void SteppedStorage::submit(std::uint64_t offset, std::span<const std::byte> data) {
    {
        std::lock_guard lock(mutex_);
        in_flight_ = true;
    }
    inner_.submit(offset, data);
}

std::optional<wal::BatchOutcome> SteppedStorage::wait(std::int64_t timeout_ns) {
    std::unique_lock lock(mutex_);
    if (in_flight_ || free_) {
        // A batch in flight completes as the inner storage says; holding it back would only
        // stall the writer, not change what the batch holds.
        const std::function<void()> background_wait = free_ ? nullptr : background_wait_;
        lock.unlock();
        if (background_wait) {
            background_wait();
        }
        std::optional<wal::BatchOutcome> outcome = inner_.wait(timeout_ns);
        if (outcome) {
            lock.lock();
            in_flight_ = false;
            failed_ = failed_ || !outcome->ok;
            changed_.notify_all();
        }
        return outcome;
    }
    // Nothing in flight: the writer would sleep until a producer wakes it. Here it sleeps until
    // the owner's go instead, so it sees every record of the step at once.
    idle_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return go_ || free_; });
    idle_ = false;
    go_ = false;
    changed_.notify_all();
    return std::nullopt;
}

}  // namespace exchanged::tools
