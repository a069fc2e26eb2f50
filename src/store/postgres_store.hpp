// The PostgreSQL backend of the primary store (production): the same tables, rows and semantics as
// SqliteStore, over one libpq connection. A batch is one transaction that locks the meta row, so
// two writers cannot both apply it; its statements are prepared once per session and sent in
// pipeline mode, so a batch costs a few round trips whatever its size. Commits use the server's
// synchronous_commit (on by default). A lost connection fails the call that meets it with a
// StoreError; the next call reconnects, so a failed batch can simply be applied again. One thread
// at a time: the flush worker, or recovery. How a batch becomes statements: postgres_apply.cpp.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/postgres_columns.hpp"
#include "store/postgres_statements.hpp"
#include "store/batch_plan.hpp"
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
    StoreLsn store_lsn() override;
    void apply(const StoreBatch& batch) override;
    StoreState load(std::uint32_t shard_count, std::uint32_t client_order_id_window) override;
    void read_orders(const std::function<void(const StoredOrder&)>& visit) override;
    void read_trades(const std::function<void(const StoredTrade&)>& visit) override;
    std::string describe() const override;

  private:
    // What a pipelined statement was for, to name it when it fails.
    struct Sent {
        std::size_t event = 0;  // index in the batch; kNoEvent for the batch's own statements
        PgStatement statement = PgStatement::Count;
        const char* what = "";  // for an update of one order: "cancel of", ...
        std::uint64_t id = 0;   // the order (or trade) it names
    };

    struct OrderKey {
        ShardId shard = 0;
        OrderId order_id = 0;
        friend bool operator==(const OrderKey&, const OrderKey&) = default;
    };
    struct OrderKeyHash {
        std::size_t operator()(const OrderKey& key) const;
    };

    // One attempt in one transaction. Returns false when `bulk` cannot apply the batch as the
    // events in order would (rolled back: try strictly); a strict attempt throws its failure.
    bool apply_once(const StoreBatch& batch, const std::string& range, bool bulk);
    // No event from `first` on lacks a seq or names an order accepted after it in the batch.
    bool bulk_is_in_order(const StoreBatch& batch, std::size_t first);
    // The connection, reconnected (and its statements prepared again after migrate()) when it was
    // lost.
    PgConnection& connected();
    // connected(), and throws when migrate() has not run.
    PgConnection& ready();
    void prepare_statements();
    StoreLsn read_store_lsn();

    PostgresStoreOptions options_;
    std::string name_;  // "postgresql:" and the DSN without its password
    std::unique_ptr<PgConnection> connection_;
    bool migrated_ = false;
    // Per batch, reused.
    std::vector<ShardCounters> counters_;
    std::vector<Sent> sent_;
    std::vector<std::int64_t> positions_;  // each event's index within its command
    std::unordered_map<OrderKey, std::size_t, OrderKeyHash> accepted_at_;
    PgArrayColumns orders_{12};
    PgArrayColumns trades_{14};
    PgArrayColumns audits_{19};
};

}  // namespace exchanged::store
