#include "wal/segment_preparer.hpp"

#include <pthread.h>

#include <algorithm>
#include <charconv>

#include "wal/segment_format.hpp"

namespace exchanged::wal {
namespace {

std::optional<std::uint64_t> parse_recycled_name(std::string_view name) {
    if (!name.starts_with(kRecycledSegmentPrefix) || !name.ends_with(kRecycledSegmentSuffix)) {
        return std::nullopt;
    }
    const std::string_view digits =
        name.substr(kRecycledSegmentPrefix.size(),
                    name.size() - kRecycledSegmentPrefix.size() - kRecycledSegmentSuffix.size());
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

SegmentPreparer::SegmentPreparer(Storage& storage, std::uint64_t segment_bytes,
                                 std::uint32_t max_recycled)
    : storage_(storage), segment_bytes_(segment_bytes), max_recycled_(max_recycled) {}

SegmentPreparer::~SegmentPreparer() {
    stop();
}

void SegmentPreparer::start() {
    std::vector<std::pair<std::uint64_t, std::string>> leftovers;
    for (const std::string& name : storage_.list_files()) {
        if (auto number = parse_recycled_name(name)) {
            leftovers.emplace_back(*number, name);
        }
    }
    std::sort(leftovers.begin(), leftovers.end());
    const std::vector<std::byte> zero_header(kSegmentHeaderBytes);
    for (const auto& [number, name] : leftovers) {
        next_recycled_number_ = std::max(next_recycled_number_, number + 1);
        if (recycled_ready_.size() < max_recycled_ && storage_.file_bytes(name) == segment_bytes_) {
            // A crash may have come between the rename and the header's zeroing.
            storage_.write_durable(name, 0, zero_header);
            recycled_ready_.push_back(name);
        } else {
            storage_.remove(name);
        }
    }
    // Whatever spare a previous run left may be half written; the thread makes a fresh one.
    // Not here: zero-filling a 64 MiB segment took 1-1.5 s of a promoted leader's start on a
    // busy machine (docs/failover.md), and the first rotation is a segment's worth of records
    // away. A rotation that comes first waits for it (take_spare); a failure is the WAL's error
    // there.
    {
        std::lock_guard lock(mutex_);
        spare_requested_ = recycled_ready_.empty();
    }
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

PreparerStats SegmentPreparer::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

bool SegmentPreparer::take_spare(const std::string& name, std::string* error, bool* stalled) {
    std::unique_lock lock(mutex_);
    const auto ready = [this] { return spare_ready_ || !recycled_ready_.empty(); };
    *stalled = !ready() && error_.empty();
    if (!ready()) {
        spare_requested_ = true;
        changed_.notify_all();
    }
    changed_.wait(lock, [&] { return ready() || !error_.empty() || stop_; });
    if (!ready()) {
        *error = error_.empty() ? std::string("WAL is stopping") : error_;
        return false;
    }
    // Renamed under the lock: the thread only starts writing the next zero-filled spare (same
    // file name) once spare_ready_ is false, i.e. after this one has left that name.
    const bool recycled = !recycled_ready_.empty();
    const std::string from = recycled ? recycled_ready_.front() : std::string(kSpareSegmentName);
    try {
        storage_.rename(from, name, false);
    } catch (const WalError& e) {
        *error = e.what();
        return false;
    }
    spare_requested_ = false;  // the writer asks again once the new segment is half full
    if (recycled) {
        recycled_ready_.pop_front();
        ++stats_.took_recycled;
    } else {
        spare_ready_ = false;
        ++stats_.took_zero_filled;
    }
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

void SegmentPreparer::retire_later(std::vector<std::string> names) {
    {
        std::lock_guard lock(mutex_);
        to_retire_.insert(to_retire_.end(), names.begin(), names.end());
    }
    changed_.notify_all();
}

std::string SegmentPreparer::recycle(const std::string& name) {
    std::string recycled = std::string(kRecycledSegmentPrefix) +
                           std::to_string(next_recycled_number_++) +
                           std::string(kRecycledSegmentSuffix);
    // Renamed first, durably: a crash before the header is zeroed leaves a file no scan reads
    // (not a segment name), never a segment with a zeroed header and old records in the log.
    storage_.rename(name, recycled, true);
    const std::vector<std::byte> zero_header(kSegmentHeaderBytes);
    storage_.write_durable(recycled, 0, zero_header);
    return recycled;
}

void SegmentPreparer::wait_idle() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] {
        return stop_ || !thread_.joinable() ||
               (!busy_ && to_retire_.empty() &&
                !(spare_requested_ && !spare_ready_ && recycled_ready_.empty() && error_.empty()));
    });
}

void SegmentPreparer::run() {
    std::unique_lock lock(mutex_);
    while (true) {
        const auto zero_fill_needed = [this] {
            return spare_requested_ && !spare_ready_ && recycled_ready_.empty() && error_.empty();
        };
        changed_.wait(lock, [&] { return stop_ || zero_fill_needed() || !to_retire_.empty(); });
        std::vector<std::string> retire_now;
        retire_now.swap(to_retire_);
        if (stop_) {
            // Released segments still go, so that a close right after release_below() leaves
            // the log as released; a failure here only leaves an obsolete file for the next
            // start's release to remove. Recycling them now would only delay the close.
            lock.unlock();
            for (const std::string& name : retire_now) {
                try {
                    storage_.remove(name);
                } catch (const WalError&) {
                }
            }
            return;
        }
        busy_ = true;
        std::string failure;
        for (const std::string& name : retire_now) {
            const bool keep = recycled_ready_.size() < max_recycled_ && error_.empty();
            lock.unlock();
            try {
                if (keep && storage_.file_bytes(name) == segment_bytes_) {
                    const std::string recycled = recycle(name);
                    lock.lock();
                    recycled_ready_.push_back(recycled);
                    ++stats_.recycled;
                    changed_.notify_all();
                    continue;
                }
                storage_.remove(name);
            } catch (const WalError& e) {
                failure = e.what();
            }
            lock.lock();
        }
        if (!failure.empty()) {
            error_ = "recycling or removing an obsolete WAL segment failed: " + failure;
            busy_ = false;
            changed_.notify_all();
            continue;
        }
        if (!zero_fill_needed()) {
            busy_ = false;
            changed_.notify_all();
            continue;
        }
        lock.unlock();
        try {
            storage_.create_zeroed(std::string(kSpareSegmentName), segment_bytes_);
        } catch (const WalError& e) {
            failure = e.what();
        }
        lock.lock();
        busy_ = false;
        if (!failure.empty()) {
            error_ = "preparing the spare WAL segment failed: " + failure;
        } else {
            spare_ready_ = true;
            spare_requested_ = false;
            ++stats_.zero_filled;
        }
        changed_.notify_all();
    }
}

}  // namespace exchanged::wal
