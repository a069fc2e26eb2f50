// Recovery from the primary store plus the WAL tail (docs/architecture.md: Recovery): load every
// shard's matcher state at store_lsn, replay only the WAL records above it through the same
// matching code, and write their events to the store, so that afterwards the store holds the whole
// log and the matchers equal those of a full replay (same state hash).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "engine/recovery.hpp"
#include "engine/shard_layout.hpp"
#include "store/store.hpp"

namespace exchanged::engine {

struct StoreRecoveryResult {
    RecoveryResult replay;           // as recover(): status, log end, matchers, next_lsn, ...
    store::StoreLsn loaded_lsn = 0;  // the store_lsn the state was loaded at
    std::uint64_t events_written = 0;
    std::uint64_t batches = 0;
    // Where the time went, beside replay.elapsed (which includes store_write and
    // replay.match_estimate): loading the state from the store before the replay, and the store's
    // batch transactions (inserts, commit and its sync) during it.
    std::chrono::nanoseconds load{0};
    std::chrono::nanoseconds store_write{0};
};

// The phases of a store recovery in one report line: load, read and check (the rest), decode and
// match, store write.
std::string describe_phases(const StoreRecoveryResult& result);

// Loads every shard's state from the store at store_lsn, replays the WAL records above it through
// the matchers and writes their events to the store (exactly once). Fails (BadRecord) when the WAL
// does not reach back to store_lsn + 1 or ends before store_lsn. Throws store::StoreError when the
// store fails.
StoreRecoveryResult recover_from_store(store::Store& store, const std::filesystem::path& wal_dir,
                                       const ShardLayout& layout, const RecoveryOptions& options);

// The same on a log in `storage` (tests, simulated storage).
StoreRecoveryResult recover_from_store(store::Store& store, wal::Storage& storage,
                                       const ShardLayout& layout, const RecoveryOptions& options);

// The same over a log outside the WAL (the Redis mirror): the records above store_lsn that
// `source` supplies are replayed into the matchers and their events written to the store.
StoreRecoveryResult recover_from_store(store::Store& store, const RecordSource& source,
                                       const ShardLayout& layout, const RecoveryOptions& options);

// The daemon's start-up: loads the state at store_lsn and replays the WAL tail above it into the
// matchers only, at matching speed; the store stays at store_lsn, and the flush worker writes the
// tail into it from the WAL in the background (store::FlushOptions::resume_from). The WAL keeps
// every segment the store has not passed, so a crash before the store caught up loses nothing.
StoreRecoveryResult rebuild_from_store(store::Store& store, const std::filesystem::path& wal_dir,
                                       const ShardLayout& layout, const RecoveryOptions& options);

// A promoted follower's start from the books its hot standby handed over (docs/failover.md: The
// books handed over): `books` are the standby's matchers at books.after_lsn, equal to a replay of
// the log up to there. Replays the WAL records above it (durable but not applied: not yet reported
// committed, or fetched in the promise round) through the same replay code, so that the matchers
// reach the log's end. Nothing is read from the store.
struct HandedBooksResult {
    RecoveryResult replay;  // as recover(): status, log end, matchers at the end, next_lsn
    // When the store is at books.after_lsn (`store_lsn`): the replayed records' events, one batch
    // for store_lsn+1 .. the last record. The flush worker writes it once a majority holds those
    // records (store::FlushOptions::resume_from), instead of loading the store's state again to
    // replay them from the WAL. Empty when the store is behind the books (it then catches up from
    // the WAL as after rebuild_from_store) or nothing was replayed.
    std::optional<store::StoreBatch> tail;
};
// `options.stop_after_lsn` (where the WAL closed) bounds the read: at or below books.after_lsn
// nothing is read. A store ahead of the books (it holds what they lack) is BadRecord: they must
// not be used.
HandedBooksResult continue_handed_books(store::StoreLsn store_lsn,
                                        const std::filesystem::path& wal_dir,
                                        const ShardLayout& layout, const RecoveryOptions& options,
                                        ReplayStart books);

// How the flush worker rebuilds events its feeds dropped: writes the events of the WAL records
// store_lsn+1 .. up_to into the store, from a live WAL (records up to `up_to` must be durable), in
// steps. The matchers stay in memory between steps, so a step replays only its own records; they
// are loaded from the store on the first step and whenever the store moved under them.
class StoreCatchUp {
  public:
    // `salvage`: the daemon was started with --salvage, so the WAL may still hold damage it
    // skipped (in any segment, also below store_lsn), so its scans read the whole log; otherwise
    // each step reads only from the segment holding the store's next record.
    StoreCatchUp(store::Store& store, std::filesystem::path wal_dir, const ShardLayout& layout,
                 bool salvage = false);

    // Throws store::StoreError when the store fails and std::runtime_error when the WAL cannot
    // supply the records; the next call then starts again from the store.
    void advance(store::StoreLsn up_to);
    // Frees the matchers (after the catch-up is over).
    void reset();

  private:
    store::Store& store_;
    const std::filesystem::path wal_dir_;
    const ShardLayout& layout_;
    const bool salvage_;
    std::optional<ReplayStart> state_;  // the matchers at state_->after_lsn
};

// The matchers and next seqs of every shard at the store's store_lsn. Throws store::StoreError,
// and std::invalid_argument when a snapshot does not fit the layout.
ReplayStart load_from_store(store::Store& store, const ShardLayout& layout);

}  // namespace exchanged::engine
