// The PostgreSQL backend of the primary store (production): the same tables, rows and semantics as
// SqliteStore, over one libpq connection. A batch is one transaction that locks the meta row, so
// two writers cannot both apply it; its statements are prepared once per session and sent in
// pipeline mode, so a batch costs a few round trips whatever its size. Commits use the server's
// synchronous_commit (on by default). A lost connection fails the call that meets it with a
// StoreError; the next call reconnects, so a failed batch can simply be applied again. One thread
// at a time: the flush worker, or recovery. How a batch becomes statements: postgres_apply.cpp.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "store/postgres_columns.hpp"
#include "store/postgres_pipeline.hpp"
#include "store/row_plan.hpp"
#include "store/store.hpp"

namespace exchanged::store {

class PgConnection;

struct PostgresStoreOptions {
    bool audit_log = false;  // also write every event to audit_log
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
    // The columns a bulk insert collects the rows of `op` in; null for a step sent on its own.
    PgArrayColumns* bulk_rows_for(RowOp op);
    // Sends rows_ in one pipeline and returns its first failure: the bulk way (new orders, order
    // changes, trades, audit rows, counters and store_lsn), or every step on its own in plan
    // order.
    std::optional<PgPipeline::Failure> send_with_bulk_inserts();
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

    PostgresStoreOptions options_;
    std::string name_;  // "postgresql:" and the DSN without its password
    std::unique_ptr<PgConnection> connection_;
    bool migrated_ = false;
    // Per batch, reused.
    RowPlan rows_;
    PgArrayColumns orders_{kOrderColumns};
    PgArrayColumns changes_{kChangeColumns};
    PgArrayColumns trades_{kTradeColumns};
    PgArrayColumns audits_{kAuditColumns};
};

}  // namespace exchanged::store
