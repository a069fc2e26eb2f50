#include "repl/standby_applier.hpp"

#include <pthread.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "common/test_fault.hpp"
#include "engine/command_record.hpp"
#include "engine/store_recovery.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::repl {

namespace {

// Events handed to the feed at once; a command with more goes in several pushes.
constexpr std::size_t kChunkEvents = 256;
// How long an empty ring may trail the durable LSN before the applier reads the WAL files: the
// receiver pushes a record just after its append, so the writer may report it durable first.
constexpr int kEmptyRingWaits = 2;
constexpr std::chrono::milliseconds kRingRaceWait{1};
constexpr std::chrono::milliseconds kIdleWait{20};
constexpr std::chrono::microseconds kStoreWait{100};

}  // namespace

StandbyApplier::StandbyApplier(const engine::ShardLayout& layout, engine::ReplayStart start,
                               store::Store& store, StandbyApplierOptions options,
                               StandbyApplierHooks hooks)
    : options_(std::move(options)),
      hooks_(std::move(hooks)),
      ring_(options_.ring_records),
      feed_(options_.feed_events) {
    const wal::Lsn after = start.after_lsn;
    applied_.store(after);
    durable_.store(after);
    commit_.store(after);  // the start state holds only committed records (its store's)
    chunk_.reserve(kChunkEvents);
    fault_payload_.reserve(wal::kMaxPayloadBytesLimit);
    replayer_ = std::make_unique<engine::RecordReplayer>(
        layout, std::move(start),
        [this](wal::Lsn lsn, engine::ShardId shard, std::uint8_t flags,
               std::span<const book::Event> events) { push_events(lsn, shard, flags, events); });

    store::FlushOptions flush = options_.flush;
    flush.frontier = [this] { return applied_.load(std::memory_order_acquire); };
    auto catch_up = std::make_shared<engine::StoreCatchUp>(store, options_.wal_dir, layout);
    flush.catch_up = [catch_up](store::StoreLsn up_to) { catch_up->advance(up_to); };
    flush.catch_up_done = [catch_up] { catch_up->reset(); };
    flush.next_lsn = [this] { return applied_.load(std::memory_order_acquire) + 1; };
    // Recovery rebuilt the matchers from the WAL tail without writing it into the store: the
    // worker writes it from the WAL first, then batches the feed.
    flush.resume_from = after + 1;
    flush.on_committed = [this](store::StoreLsn lsn) {
        if (hooks_.stored) {
            hooks_.stored(lsn);
        }
    };
    flush.on_fatal = [this](const std::string& error) {
        fail("standby: the store failed: " + error);
    };
    flush.warn = hooks_.warn;
    flush.info = hooks_.info;
    flush_ = std::make_unique<store::FlushWorker>(store, std::vector<store::EventFeed*>{&feed_},
                                                  std::move(flush));
}

StandbyApplier::~StandbyApplier() {
    stop(std::chrono::milliseconds(0));
}

void StandbyApplier::start() {
    flush_->start();
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "standby-apply");
        run();
    });
}

bool StandbyApplier::stop(std::chrono::milliseconds store_give_up) {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
    return flush_->flush_and_stop(store_give_up);
}

std::optional<engine::ReplayStart> StandbyApplier::take_books(std::string& why) {
    if (thread_.joinable() || !stopping_.load()) {
        why = "the standby was not stopped";
        return std::nullopt;
    }
    if (failed_.load()) {
        why = "the standby stopped applying: " + failure();
        return std::nullopt;
    }
    if (!replayer_->result().ok()) {
        why = "the standby's books are not usable: " + replayer_->result().error;
        return std::nullopt;
    }
    return replayer_->take_books();
}

void StandbyApplier::appended(wal::Lsn lsn, std::uint16_t type,
                              std::span<const std::byte> payload) noexcept {
    ring_.try_push(lsn, type, payload);  // left out: read back from the WAL files
}

void StandbyApplier::durable(wal::Lsn lsn) {
    const wal::Lsn applied = applied_.load(std::memory_order_acquire);
    if (lsn < applied) {
        // The log was cut below what the matchers hold (divergence repair truncated it): they
        // can only be rebuilt from the store and the WAL.
        fail("standby: the WAL's durable LSN went back to " + std::to_string(lsn) +
             ", below the applied LSN " + std::to_string(applied) +
             ": the standby must be rebuilt from its store and WAL");
        return;
    }
    {
        std::lock_guard lock(mutex_);
        durable_.store(lsn, std::memory_order_release);
    }
    cv_.notify_all();
}

void StandbyApplier::truncated(wal::Lsn keep_lsn) {
    const wal::Lsn applied = applied_.load(std::memory_order_acquire);
    if (applied > keep_lsn) {
        fail("standby: the WAL was cut to end at LSN " + std::to_string(keep_lsn) +
             " (divergence repair) below the applied LSN " + std::to_string(applied) +
             ": the standby applied a record the leader had not reported committed");
        return;
    }
    // Before the next push (this is the ring's producer): the applier sees the mark with it.
    stale_before_.store(ring_.pushed(), std::memory_order_release);
    std::lock_guard lock(mutex_);
    durable_.store(std::min(durable_.load(std::memory_order_relaxed), keep_lsn),
                   std::memory_order_release);
}

void StandbyApplier::committed(wal::Lsn lsn) {
    // No lock on the receiver's path: a wakeup lost to the race with wait_for_records costs at
    // most its kIdleWait.
    wal::Lsn heard = commit_.load(std::memory_order_relaxed);
    while (lsn > heard && !commit_.compare_exchange_weak(heard, lsn, std::memory_order_release,
                                                         std::memory_order_relaxed)) {
    }
    if (lsn > heard) {
        cv_.notify_all();
    }
}

wal::Lsn StandbyApplier::apply_limit() const {
    const wal::Lsn durable = durable_.load(std::memory_order_acquire);
    if (test_fault::armed(test_fault::Fault::StandbyApplyUncommitted)) {
        return durable;  // mutation check: the gate is gone, the standby applies what may be cut
    }
    return std::min(durable, commit_.load(std::memory_order_acquire));
}

std::string StandbyApplier::failure() const {
    std::lock_guard lock(mutex_);
    return failure_;
}

StandbyStats StandbyApplier::stats() const {
    StandbyStats out;
    out.applied_lsn = applied_lsn();
    out.durable_lsn = durable_.load(std::memory_order_acquire);
    out.commit_lsn = commit_.load(std::memory_order_acquire);
    out.store_lsn = store_lsn();
    out.records_applied = records_applied_.load();
    out.checkpoints_verified = checkpoints_verified_.load();
    out.records_read_back = records_read_back_.load();
    out.store_waits = store_waits_.load();
    return out;
}

void StandbyApplier::wait_for_records(std::chrono::milliseconds at_most) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, at_most,
                 [this] { return stopping_.load() || apply_limit() > applied_.load(); });
}

void StandbyApplier::run() {
    int empty_waits = 0;
    while (!stopping_.load() && !failed_.load()) {
        const wal::Lsn limit = apply_limit();
        const wal::Lsn applied = applied_.load(std::memory_order_relaxed);
        if (applied >= limit) {
            wait_for_records(kIdleWait);
            continue;
        }
        const StandbyRing::Slot* slot = ring_.front();
        if (slot != nullptr &&
            ring_.front_index() < stale_before_.load(std::memory_order_acquire)) {
            ring_.pop();  // pushed before a cut: maybe a record the log no longer holds
            continue;
        }
        if (slot != nullptr && slot->lsn <= applied) {
            ring_.pop();  // applied already, from the WAL files
            continue;
        }
        if (slot != nullptr && slot->lsn == applied + 1) {
            empty_waits = 0;
            apply(wal::RecordView{slot->lsn, slot->type, slot->bytes(), nullptr, 0});
            ring_.pop();
            continue;
        }
        if (slot == nullptr && empty_waits < kEmptyRingWaits) {
            ++empty_waits;
            std::this_thread::sleep_for(kRingRaceWait);
            continue;
        }
        empty_waits = 0;
        // The ring left records out: every one below its front (or up to what may be applied) is
        // in the WAL files.
        read_back(slot == nullptr ? limit : std::min(limit, slot->lsn - 1));
    }
}

void StandbyApplier::apply(const wal::RecordView& record) {
    if (stopping_.load() || failed_.load()) {
        return;
    }
    wal::RecordView view = record;
    if (!fault_done_ && record.type == engine::kCommandRecordType && record.payload.size() > 1 &&
        test_fault::armed(test_fault::Fault::StandbyApplySkip)) {
        // Mutation check: the first command is applied as one of an unknown type, which the
        // matcher rejects without touching the book, as if the applier had dropped it.
        fault_done_ = true;
        fault_payload_.assign(record.payload.begin(), record.payload.end());
        fault_payload_[1] = std::byte{0xff};
        view.payload = fault_payload_;
    }
    replayer_->apply(view);
    const engine::RecoveryResult& result = replayer_->result();
    if (!result.ok()) {
        fail("standby: " + result.error);  // names the LSN (a mismatch: shard and both hashes)
        return;
    }
    if (stopping_.load()) {
        return;  // its events may not all be in the feed: the store must not count it
    }
    records_applied_.fetch_add(1, std::memory_order_relaxed);
    checkpoints_verified_.store(result.checkpoints_verified, std::memory_order_relaxed);
    applied_.store(record.lsn, std::memory_order_release);
}

void StandbyApplier::read_back(wal::Lsn up_to) {
    const wal::Lsn from = applied_.load() + 1;
    wal::ScanResult scanned;
    try {
        wal::UringStorage storage(options_.wal_dir.string());
        wal::ScanOptions scan;
        scan.from_lsn = from;
        scan.to_lsn = up_to;
        scan.skip_segments_below_from = true;
        scanned = wal::scan_log(storage, scan, [this](const wal::RecordView& record) {
            if (record.lsn == applied_.load(std::memory_order_relaxed) + 1) {
                records_read_back_.fetch_add(1, std::memory_order_relaxed);
                apply(record);
            }
        });
    } catch (const std::exception& error) {
        scanned.error = error.what();
    }
    if (!stopping_.load() && !failed_.load() && applied_.load() < up_to) {
        fail("standby: reading WAL records " + std::to_string(from) + ".." + std::to_string(up_to) +
             " back from " + options_.wal_dir.string() + " stopped at LSN " +
             std::to_string(applied_.load()) +
             (scanned.error.empty() ? std::string() : ": " + scanned.error));
    }
}

void StandbyApplier::push_events(wal::Lsn lsn, engine::ShardId shard, std::uint8_t flags,
                                 std::span<const book::Event> events) {
    std::size_t done = 0;
    while (done < events.size()) {
        const std::size_t room = feed_.free_space();
        const std::size_t n = std::min({events.size() - done, kChunkEvents, room});
        if (n == 0) {
            if (stopping_.load()) {
                return;  // the next start writes this record's events from the WAL
            }
            // The store lags: applying waits (the receiver and the acks do not).
            store_waits_.fetch_add(1, std::memory_order_relaxed);
            std::this_thread::sleep_for(kStoreWait);
            continue;
        }
        chunk_.clear();
        for (std::size_t i = 0; i < n; ++i) {
            chunk_.push_back(store::StoreEvent{lsn, shard, flags, events[done + i]});
        }
        feed_.try_push(chunk_);
        done += n;
    }
}

void StandbyApplier::fail(const std::string& error) {
    {
        std::lock_guard lock(mutex_);
        if (failed_.exchange(true)) {
            return;
        }
        failure_ = error;
    }
    cv_.notify_all();
    if (hooks_.failed) {
        hooks_.failed(error);
    }
}

}  // namespace exchanged::repl
