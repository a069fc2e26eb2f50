#include "engine/store_recovery.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace exchanged::engine {

namespace {

// Records per store transaction while recovery writes the tail: large batches, since nothing
// waits for them.
constexpr store::StoreLsn kRecoveryBatchLsns = 20000;

}  // namespace

ReplayStart load_from_store(store::Store& store, const ShardLayout& layout) {
    // Building a matcher touches all of its preallocated pools (max_orders slots), which takes
    // about as long as reading the store's state: do both at once.
    ReplayStart start;
    start.matchers.reserve(layout.shard_count);
    std::exception_ptr build_error;
    std::thread builder([&] {
        try {
            for (ShardId shard = 0; shard < layout.shard_count; ++shard) {
                start.matchers.push_back(layout.make_matcher(shard));
            }
        } catch (...) {
            build_error = std::current_exception();
        }
    });
    store::StoreState state;
    try {
        state = store.load(layout.shard_count, layout.limits.client_order_id_window);
    } catch (...) {
        builder.join();
        throw;
    }
    builder.join();
    if (build_error) {
        std::rethrow_exception(build_error);
    }
    start.after_lsn = state.store_lsn;
    start.next_seq.reserve(layout.shard_count);
    for (ShardId shard = 0; shard < layout.shard_count; ++shard) {
        start.matchers[shard].restore(state.shards[shard].snapshot);
        start.next_seq.push_back(state.shards[shard].next_seq);
    }
    return start;
}

namespace {

// Replays from `start` through `replay` (a replay_log over a directory or a storage) and writes
// the events to the store.
template <typename Replay>
StoreRecoveryResult replay_into(store::Store& store, ReplayStart start, const Replay& replay,
                                store::StoreLsn batch_lsns) {
    if (batch_lsns == 0) {
        batch_lsns = kRecoveryBatchLsns;
    }
    StoreRecoveryResult out;
    out.loaded_lsn = start.after_lsn;

    store::StoreBatch batch;
    batch.first_lsn = out.loaded_lsn + 1;
    auto write = [&](store::StoreLsn last) {
        if (last < batch.first_lsn) {
            return;
        }
        batch.last_lsn = last;
        const auto before = std::chrono::steady_clock::now();
        store.apply(batch);
        out.store_write += std::chrono::steady_clock::now() - before;
        out.events_written += batch.events.size();
        ++out.batches;
        batch.events.clear();
        batch.first_lsn = last + 1;
    };
    const ReplayEventSink on_events = [&](wal::Lsn lsn, ShardId shard, std::uint8_t flags,
                                          std::span<const book::Event> events) {
        // A batch covers whole commands: flush before this one when the batch is full.
        if (lsn - batch.first_lsn >= batch_lsns) {
            write(lsn - 1);
        }
        for (const book::Event& event : events) {
            batch.events.push_back(store::StoreEvent{lsn, shard, flags, event});
        }
    };
    out.replay = replay(std::move(start), on_events);
    // Only what replayed cleanly goes in: after a failure the caller refuses to start anyway, and
    // the events up to the failure are still right, so they may stay.
    write(out.replay.last_lsn);
    return out;
}

}  // namespace

namespace {

// load_from_store, timed.
ReplayStart timed_load(store::Store& store, const ShardLayout& layout,
                       std::chrono::nanoseconds& took) {
    const auto before = std::chrono::steady_clock::now();
    ReplayStart start = load_from_store(store, layout);
    took = std::chrono::steady_clock::now() - before;
    return start;
}

double seconds(std::chrono::nanoseconds span) {
    return std::chrono::duration<double>(span).count();
}

// recover_from_store over either form of the log (a directory, or a Storage).
template <typename Log>
StoreRecoveryResult recover_from_log(store::Store& store, Log& log, const ShardLayout& layout,
                                     const RecoveryOptions& options) {
    std::chrono::nanoseconds load{0};
    ReplayStart start = timed_load(store, layout, load);
    StoreRecoveryResult out = replay_into(
        store, std::move(start),
        [&](ReplayStart from, const ReplayEventSink& sink) {
            return replay_log(log, layout, options, std::move(from), sink);
        },
        options.store_batch_lsns);
    out.load = load;
    return out;
}

}  // namespace

StoreRecoveryResult recover_from_store(store::Store& store, const RecordSource& source,
                                       const ShardLayout& layout, const RecoveryOptions& options) {
    std::chrono::nanoseconds load{0};
    ReplayStart start = timed_load(store, layout, load);
    StoreRecoveryResult out = replay_into(
        store, std::move(start),
        [&](ReplayStart from, const ReplayEventSink& sink) {
            return replay_records(source, layout, options, std::move(from), sink);
        },
        options.store_batch_lsns);
    out.load = load;
    return out;
}

StoreRecoveryResult recover_from_store(store::Store& store, const std::filesystem::path& wal_dir,
                                       const ShardLayout& layout, const RecoveryOptions& options) {
    return recover_from_log(store, wal_dir, layout, options);
}

StoreRecoveryResult recover_from_store(store::Store& store, wal::Storage& storage,
                                       const ShardLayout& layout, const RecoveryOptions& options) {
    return recover_from_log(store, storage, layout, options);
}

StoreRecoveryResult rebuild_from_store(store::Store& store, const std::filesystem::path& wal_dir,
                                       const ShardLayout& layout, const RecoveryOptions& options) {
    StoreRecoveryResult out;
    ReplayStart start = timed_load(store, layout, out.load);
    out.loaded_lsn = start.after_lsn;
    out.replay = replay_log(wal_dir, layout, options, std::move(start), nullptr);
    return out;
}

HandedBooksResult continue_handed_books(store::StoreLsn store_lsn,
                                        const std::filesystem::path& wal_dir,
                                        const ShardLayout& layout, const RecoveryOptions& options,
                                        ReplayStart books) {
    HandedBooksResult out;
    const wal::Lsn after = books.after_lsn;
    if (store_lsn > after) {
        // The standby's store commits only what its matchers applied: something else wrote it.
        out.replay.status = RecoveryStatus::BadRecord;
        out.replay.error = "the store holds records up to LSN " + std::to_string(store_lsn) +
                           ", beyond the handed books at LSN " + std::to_string(after);
        out.replay.next_lsn = 0;
        return out;
    }
    if (options.stop_after_lsn != 0 && options.stop_after_lsn <= after) {
        // Nothing above the books to read (a scan would look for the record after them up to the
        // end of the last segment's zeros): the books as they are, continuing at after + 1.
        const RecordSource nothing = [](wal::Lsn,
                                        const std::function<void(const wal::RecordView&)>&) {};
        out.replay = replay_records(nothing, layout, options, std::move(books), nullptr);
        return out;
    }
    if (store_lsn < after) {
        out.replay = replay_log(wal_dir, layout, options, std::move(books), nullptr);
        return out;
    }
    store::StoreBatch tail;
    tail.first_lsn = after + 1;
    const ReplayEventSink on_events = [&tail](wal::Lsn lsn, ShardId shard, std::uint8_t flags,
                                              std::span<const book::Event> events) {
        for (const book::Event& event : events) {
            tail.events.push_back(store::StoreEvent{lsn, shard, flags, event});
        }
    };
    out.replay = replay_log(wal_dir, layout, options, std::move(books), on_events);
    if (out.replay.ok() && out.replay.last_lsn > after) {
        tail.last_lsn = out.replay.last_lsn;
        out.tail = std::move(tail);
    }
    return out;
}

std::string describe_phases(const StoreRecoveryResult& result) {
    const std::chrono::nanoseconds replay = result.replay.elapsed;
    const std::chrono::nanoseconds match = std::min(result.replay.match_estimate, replay);
    const std::chrono::nanoseconds store = std::min(result.store_write, replay - match);
    const std::chrono::nanoseconds rest = replay - match - store;
    char text[256];
    std::snprintf(text, sizeof text,
                  "load from the store %.3f s; replay %.3f s = read and check %.3f s + decode and "
                  "match %.3f s (sampled) + store write %.3f s (%llu batches, commit and sync "
                  "included)",
                  seconds(result.load), seconds(replay), seconds(rest), seconds(match),
                  seconds(store), static_cast<unsigned long long>(result.batches));
    return text;
}

StoreCatchUp::StoreCatchUp(store::Store& store, std::filesystem::path wal_dir,
                           const ShardLayout& layout, bool salvage)
    : store_(store), wal_dir_(std::move(wal_dir)), layout_(layout), salvage_(salvage) {}

void StoreCatchUp::advance(store::StoreLsn up_to) {
    const store::StoreLsn stored = store_.store_lsn();
    if (!state_ || state_->after_lsn != stored) {
        // First step, or someone else moved the store: start from what it holds.
        state_.reset();
        state_ = load_from_store(store_, layout_);
    }
    RecoveryOptions options;
    options.stop_after_lsn = up_to;
    options.salvage = salvage_;
    options.skip_replayed_segments = true;
    ReplayStart start = std::move(*state_);
    state_.reset();  // until the replay succeeds, the matchers are in flight
    StoreRecoveryResult result = replay_into(
        store_, std::move(start),
        [&](ReplayStart from, const ReplayEventSink& sink) {
            return replay_log(wal_dir_, layout_, options, std::move(from), sink);
        },
        0);
    // The live log's end (a batch being written) may look torn or damaged; only the records up
    // to `up_to` matter, and they are durable.
    if (result.replay.last_lsn < up_to) {
        throw std::runtime_error(
            "catching the store up from the WAL stopped at LSN " +
            std::to_string(result.replay.last_lsn) + " of " + std::to_string(up_to) + ": " +
            (result.replay.error.empty() ? result.replay.log.error : result.replay.error));
    }
    ReplayStart next;
    next.after_lsn = result.replay.last_lsn;
    next.matchers = std::move(result.replay.matchers);
    for (const ShardReplay& shard : result.replay.shards) {
        next.next_seq.push_back(shard.next_seq);
    }
    state_ = std::move(next);
}

void StoreCatchUp::reset() {
    state_.reset();
}

}  // namespace exchanged::engine
