// The PostgreSQL backend of the primary store (production): the same tables, rows and semantics as
// SqliteStore, over one libpq connection. A batch is one transaction that locks the meta row, so
// two writers cannot both apply it; its statements are prepared once per session and sent in
// pipeline mode, and its rows go by COPY, so a batch costs a few round trips whatever its size.
// Commits use the server's synchronous_commit (on by default). A lost connection fails the call
// that meets it with a StoreError; the next call reconnects, so a failed batch can simply be
// applied again. One thread at a time: the flush worker, or recovery. How a batch becomes
// statements: postgres_apply.cpp.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "store/postgres_copy.hpp"
#include "store/postgres_pipeline.hpp"
#include "store/row_plan.hpp"
#include "store/store.hpp"

namespace exchanged::store {

class PgConnection;
class PgTransaction;

struct PostgresStoreOptions {
    bool audit_log = false;  // also write every event to audit_log
    // Test faults of a batch's COMMIT (tests/store/postgres_test.cpp): called just before it is
    // sent (a test terminates the session there); and, when set, a COMMIT that succeeded is
    // treated as though the connection broke before its answer arrived.
    std::function<void()> before_commit{};
    bool lose_commit_reply = false;
    // Called in the middle of each COPY of a batch: its rows sent, the COPY not yet ended (a test
    // terminates the session there).
    std::function<void()> during_copy{};
};

class PostgresStore final : public Store {
  public:
    // Connects with the libpq connection string (key=value pairs or a postgresql:// URI; a
    // password may also come from ~/.pgpass or PGPASSFILE). Throws StoreError naming the DSN
    // without its password and libpq's message.
    explicit PostgresStore(const std::string& dsn, const PostgresStoreOptions& options = {});
    ~PostgresStore() override;

    // The schema version this code writes.
    static int latest_schema_version();
    // The database's schema version (0 for an empty database).
    int schema_version();
    // The server process serving this store's session (tests terminate it).
    int backend_pid() const;

    void migrate() override;
    void fold() override;
    StoreLsn store_lsn() override;
    void apply(const StoreBatch& batch) override;
    StoreState load(std::uint32_t shard_count, std::uint32_t client_order_id_window) override;
    void read_orders(const std::function<void(const StoredOrder&)>& visit) override;
    void read_trades(const std::function<void(const StoredTrade&)>& visit) override;
    std::string describe() const override;

  private:
    // One attempt in one transaction. Returns false when `bulk` cannot apply the batch as the
    // events in order would (rolled back: try strictly); a strict attempt throws its failure.
    bool apply_once(const StoreBatch& batch, const std::string& range, bool bulk);
    // The COPY that collects the rows of `op`; null for a step sent on its own.
    PgCopyRows* copy_rows_for(RowOp op);
    // The bulk way: new orders, order changes, trades and audit rows by one COPY per table, then
    // counters and store_lsn in one pipeline. False when the server refused any of it (the
    // transaction is then aborted).
    bool send_with_copy(const std::string& range);
    // The strict way: every step on its own in plan order, in one pipeline; its first failure.
    std::optional<PgPipeline::Failure> send_in_event_order();
    // The connection, reconnected (and its statements prepared again after migrate()) when it was
    // lost.
    PgConnection& connected();
    // connected(), and throws when migrate() has not run.
    PgConnection& ready();
    void prepare_statements();
    StoreLsn read_store_lsn();
    // In the caller's transaction, holding the meta row's lock.
    void fold_in_transaction(PgConnection& c);
    // Folds, then loads rows_'s open orders from the store at `lsn`, in apply's transaction.
    void load_open_orders(StoreLsn lsn);
    // Commits a batch's transaction. When the connection breaks while the COMMIT is in flight
    // its outcome is unknown: reconnects and reads store_lsn, returns when the batch committed,
    // throws StoreError (the batch is then retried) when it did not or the server cannot be asked.
    void commit_batch(PgTransaction& transaction, const StoreBatch& batch,
                      const std::string& range);

    PostgresStoreOptions options_;
    std::string name_;  // "postgresql:" and the DSN without its password
    std::unique_ptr<PgConnection> connection_;
    bool migrated_ = false;
    // Per batch, reused.
    RowPlan rows_;
    PgCopyRows orders_{pg_copy_orders()};
    PgCopyRows changes_{pg_copy_changes()};
    PgCopyRows trades_{pg_copy_trades()};
    PgCopyRows audits_{pg_copy_audits()};
};

}  // namespace exchanged::store
