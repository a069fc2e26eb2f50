// The embedded SQLite backend of the primary store: one database file in WAL journal mode with
// synchronous=FULL, so a committed batch survives a power cut, and exclusive locking mode, so the
// wal-index lives in memory and no -shm file is needed to open it again. One process holds the
// file at a time; another one's open fails with "in use" once busy_timeout has passed. Statements
// are prepared once (after migrate()) and reused by every batch. One thread at a time: the flush
// worker, or recovery.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "store/row_plan.hpp"
#include "store/store.hpp"

namespace exchanged::store {

class SqliteDb;
struct SqliteStatements;

struct SqliteStoreOptions {
    bool audit_log = false;  // also write every event to audit_log
    std::chrono::milliseconds busy_timeout{5000};
    // Exclusive locking mode (no -shm file; one process at a time). Only tests that read the file
    // through a connection of their own while the store is open turn it off.
    bool exclusive = true;
};

class SqliteStore final : public Store {
  public:
    // Opens or creates the file and sets its pragmas. Throws StoreError naming the file, the step
    // and SQLite's message (unreadable, not a database, directory missing, ...).
    explicit SqliteStore(const std::filesystem::path& path, const SqliteStoreOptions& options = {});
    ~SqliteStore() override;

    // The schema version this code writes.
    static int latest_schema_version();
    // The database's schema version (0 for a new file).
    int schema_version();

    void migrate() override;
    void fold() override;
    StoreLsn store_lsn() override;
    void apply(const StoreBatch& batch) override;
    StoreState load(std::uint32_t shard_count, std::uint32_t client_order_id_window) override;
    void read_orders(const std::function<void(const StoredOrder&)>& visit) override;
    void read_trades(const std::function<void(const StoredTrade&)>& visit) override;
    std::string describe() const override;
    // VACUUM INTO: one read transaction, so the copy is the store at one store_lsn.
    StoreLsn snapshot_into(const std::filesystem::path& target) override;

  private:
    SqliteStatements& statements();
    // One attempt in one transaction. Returns false when `bulk` cannot apply the batch as the
    // events in order would (SQLite rolled it back: try strictly); a strict attempt throws its
    // failure.
    bool apply_once(const StoreBatch& batch, bool bulk);
    // Runs one of the batch's own steps, refusing the batch when it did not find the meta row.
    void run_step(const StoreBatch& batch, const RowStep& step);
    void fold_in_transaction();
    // Folds, then loads rows_'s open orders from the store at `lsn`, in the caller's transaction.
    void load_open_orders(StoreLsn lsn);

    SqliteStoreOptions options_;
    std::unique_ptr<SqliteDb> db_;
    std::unique_ptr<SqliteStatements> statements_;  // prepared by migrate()
    RowPlan rows_;                                  // per batch, reused
};

}  // namespace exchanged::store
