// The primary store's interface (docs/architecture.md: The path of one order; Durability points;
// Recovery): the flush worker hands it batches of matcher events in LSN order, each batch one
// transaction that also advances store_lsn, and recovery loads from it every shard's matcher state
// at store_lsn so that only the WAL tail needs replaying. Backends: SqliteStore (embedded default)
// and PostgresStore (production); open_store() picks one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "book/event.hpp"
#include "book/matcher_snapshot.hpp"
#include "common/types.hpp"

namespace exchanged::store {

// The LSN of a WAL record (wal::Lsn): 1 for the first record, +1 per record. store_lsn is the
// highest LSN whose events the store holds; 0 for an empty store.
using StoreLsn = std::uint64_t;
using ShardId = std::uint32_t;

// One matcher event, tagged with what the store needs besides the event itself.
struct StoreEvent {
    StoreLsn lsn = 0;   // of the command record that caused the event; never 0
    ShardId shard = 0;  // the shard whose matcher emitted it
    // The command's order_flags. Only read for Accepted: the event does not carry the post-only
    // flag, which a resting order keeps (replace checks it, state_hash() covers it).
    std::uint8_t order_flags = 0;
    book::Event event;
};

// Every event of the commands logged at LSNs first_lsn .. last_lsn, in LSN order and, within one
// command, in the order the matcher emitted them. A command's events are never split between
// batches. LSNs in the range without events (checkpoint records, other record types) are fine:
// the range, not the events, says what the batch covers.
struct StoreBatch {
    StoreLsn first_lsn = 0;
    StoreLsn last_lsn = 0;
    std::vector<StoreEvent> events;
};

// What one shard's matcher looked like at store_lsn.
struct ShardState {
    book::MatcherSnapshot snapshot;
    SequenceNumber next_seq = 1;  // the seq the shard's next logged command gets
};

struct StoreState {
    StoreLsn store_lsn = 0;
    std::vector<ShardState> shards;  // indexed by shard id
};

// Rows as the store holds them, for verification tools (verify-data, reconcile); not read on the
// order path.
enum class StoredOrderState : std::uint8_t { Open = 0, Filled = 1, Cancelled = 2 };

struct StoredOrder {
    ShardId shard = 0;
    OrderId order_id = 0;
    AccountId account = 0;
    InstrumentId instrument = 0;
    ClientOrderId client_order_id = 0;
    Side side = Side::Buy;
    Price price = 0;        // 0 for a market order
    Quantity quantity = 0;  // as accepted
    Quantity leaves = 0;
    Quantity executed = 0;
    StoredOrderState state = StoredOrderState::Open;
    std::uint8_t flags = 0;
    std::uint64_t priority = 0;
    StoreLsn accepted_lsn = 0;
    StoreLsn finished_lsn = 0;  // 0 while open
};

struct StoredTrade {
    ShardId shard = 0;
    TradeId trade_id = 0;
    InstrumentId instrument = 0;
    Price price = 0;
    Quantity quantity = 0;
    OrderId taker_order_id = 0;
    AccountId taker_account = 0;
    Side taker_side = Side::Buy;
    OrderId maker_order_id = 0;
    AccountId maker_account = 0;
    Side maker_side = Side::Sell;
    StoreLsn lsn = 0;
    SequenceNumber seq = 0;
    TimestampNs timestamp_ns = 0;
};

// Every store failure: the message names the database, the step and the backend's own words.
class StoreError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The database file itself is damaged (SQLite: SQLITE_CORRUPT, SQLITE_NOTADB, or a failed
// integrity check). Unlike a store that is down, retrying cannot help: the daemon stops, and the
// operator follows docs/recovery.md "Store corruption".
class StoreCorruptError : public StoreError {
  public:
    using StoreError::StoreError;
};

// The storage under the store failed a write or a sync (SQLite: SQLITE_IOERR, SQLITE_FULL). What
// reached the disk is then uncertain: a retried fsync can report success for pages the kernel
// already dropped (PostgreSQL's 2018 "fsyncgate"). A failed sync is never retried; any other
// such failure is fatal wherever the store is a durability point (docs/durability.md: When the
// store fails), and retried elsewhere.
class StoreIoError : public StoreError {
  public:
    StoreIoError(const std::string& message, bool sync_failed)
        : StoreError(message), sync_failed_(sync_failed) {}
    // An fsync (of the file or of its directory) failed.
    bool sync_failed() const { return sync_failed_; }

  private:
    bool sync_failed_;
};

class Store {
  public:
    virtual ~Store() = default;

    // Brings the schema to the version this code knows, applying each missing migration in order
    // in its own transaction. Idempotent. Throws StoreError when the database is newer than the
    // code.
    virtual void migrate() = 0;

    virtual StoreLsn store_lsn() = 0;

    // Applies the batch in one transaction that also sets store_lsn = last_lsn. A batch wholly at
    // or below store_lsn is skipped (exactly once, also when recovery applies it again); events of
    // an overlapping batch at or below store_lsn are skipped. A batch starting after
    // store_lsn + 1 would leave a gap and is refused with StoreError, as is a malformed batch.
    virtual void apply(const StoreBatch& batch) = 0;

    // The state of shards 0 .. shard_count-1 at store_lsn: resting orders with their time
    // priority, the newest `client_order_id_window` finished orders oldest first, the id counters
    // and next seq. Throws StoreError when the store holds a shard at or above shard_count.
    virtual StoreState load(std::uint32_t shard_count, std::uint32_t client_order_id_window) = 0;

    // Folds the order changes that batches append (docs/store.md "Schema v2") into the order rows,
    // in one transaction; idempotent. load() and read_orders() do it first: only a reader of the
    // tables themselves (a test, an operator's query) needs to call it.
    virtual void fold() = 0;

    // Every order / trade row, ordered by (shard, id), in one read transaction each. Folds first.
    virtual void read_orders(const std::function<void(const StoredOrder&)>& visit) = 0;
    virtual void read_trades(const std::function<void(const StoredTrade&)>& visit) = 0;

    // Where the store lives, for messages: a file path, or the DSN without its password.
    virtual std::string describe() const = 0;

    // Writes a consistent copy of the store into the new file `target` (online backups,
    // docs/operations.md "Backups") and returns the store_lsn the copy holds. Call it on the
    // store's own thread, between two batches. A backend without file copies throws StoreError.
    virtual StoreLsn snapshot_into(const std::filesystem::path& /*target*/) {
        throw StoreError(describe() +
                         ": snapshot: this backend has no file snapshot (back up a "
                         "PostgreSQL store with pg_dump, docs/operations.md)");
    }
};

}  // namespace exchanged::store
