#include "wal/segment_preparer.hpp"

#include <pthread.h>

#include "wal/segment_format.hpp"

namespace exchanged::wal {

SegmentPreparer::SegmentPreparer(Storage& storage, std::uint64_t segment_bytes)
    : storage_(storage), segment_bytes_(segment_bytes) {}

SegmentPreparer::~SegmentPreparer() {
    stop();
}

void SegmentPreparer::start() {
    // Whatever spare a previous run left may be half written; make a fresh one.
    storage_.create_zeroed(std::string(kSpareSegmentName), segment_bytes_);
    spare_ready_ = true;
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "wal-prepare");
        run();
    });
}

void SegmentPreparer::stop() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

bool SegmentPreparer::take_spare(const std::string& name, std::string* error, bool* stalled) {
    std::unique_lock lock(mutex_);
    *stalled = !spare_ready_ && error_.empty();
    if (!spare_ready_) {
        spare_requested_ = true;
        changed_.notify_all();
    }
    changed_.wait(lock, [this] { return spare_ready_ || !error_.empty() || stop_; });
    if (!spare_ready_) {
        *error = error_.empty() ? std::string("WAL is stopping") : error_;
        return false;
    }
    // Renamed under the lock: the thread only starts writing the next spare (same file name)
    // once spare_ready_ is false, i.e. after this one has left that name.
    try {
        storage_.rename(std::string(kSpareSegmentName), name, false);
    } catch (const WalError& e) {
        *error = e.what();
        return false;
    }
    spare_ready_ = false;
    lock.unlock();
    changed_.notify_all();
    return true;
}

void SegmentPreparer::request_spare() {
    {
        std::lock_guard lock(mutex_);
        spare_requested_ = true;
    }
    changed_.notify_all();
}

void SegmentPreparer::remove_later(std::vector<std::string> names) {
    {
        std::lock_guard lock(mutex_);
        to_remove_.insert(to_remove_.end(), names.begin(), names.end());
    }
    changed_.notify_all();
}

void SegmentPreparer::wait_idle() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] {
        return stop_ || !thread_.joinable() ||
               (!busy_ && to_remove_.empty() &&
                !(spare_requested_ && !spare_ready_ && error_.empty()));
    });
}

void SegmentPreparer::run() {
    std::unique_lock lock(mutex_);
    while (true) {
        changed_.wait(lock, [this] {
            return stop_ || (spare_requested_ && !spare_ready_ && error_.empty()) ||
                   !to_remove_.empty();
        });
        if (stop_) {
            // Released segments still go, so that a close right after release_below() leaves
            // the log as released; a failure here only leaves an obsolete file for the next
            // start's release to remove.
            std::vector<std::string> remaining;
            remaining.swap(to_remove_);
            lock.unlock();
            for (const std::string& name : remaining) {
                try {
                    storage_.remove(name);
                } catch (const WalError&) {
                }
            }
            return;
        }
        std::vector<std::string> remove_now;
        remove_now.swap(to_remove_);
        const bool make_spare = spare_requested_ && !spare_ready_ && error_.empty();
        busy_ = true;
        lock.unlock();
        std::string failure;
        try {
            for (const std::string& name : remove_now) {
                storage_.remove(name);
            }
            if (make_spare) {
                storage_.create_zeroed(std::string(kSpareSegmentName), segment_bytes_);
            }
        } catch (const WalError& e) {
            failure = e.what();
        }
        lock.lock();
        busy_ = false;
        if (!failure.empty()) {
            error_ = "preparing the spare WAL segment failed: " + failure;
        } else if (make_spare) {
            spare_ready_ = true;
            spare_requested_ = false;
        }
        changed_.notify_all();
    }
}

}  // namespace exchanged::wal
