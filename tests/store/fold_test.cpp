// Schema v2 (docs/store.md "Schema v2"): a batch inserts each order once and appends its later
// changes to order_changes, which a fold moves into orders. What readers see must be exactly what
// the version 1 schema's updates in place gave, whenever the folds happen, across new
// connections, replayed batches and refused ones; and a version 1 database is migrated.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "store/postgres_schema.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_schema.hpp"
#include "store/sqlite_store.hpp"
#include "store_backends.hpp"
#include "store_feed.hpp"

namespace exchanged::store {
namespace {

using Catch::Matchers::Contains;
using test::BackendKind;
using test::TestDatabase;

std::string describe(const StoredOrder& o) {
    return std::to_string(o.shard) + "/" + std::to_string(o.order_id) + " acct " +
           std::to_string(o.account) + " instr " + std::to_string(o.instrument) + " cl " +
           std::to_string(o.client_order_id) + " side " + std::to_string(static_cast<int>(o.side)) +
           " px " + std::to_string(o.price) + " qty " + std::to_string(o.quantity) + " leaves " +
           std::to_string(o.leaves) + " exec " + std::to_string(o.executed) + " state " +
           std::to_string(static_cast<int>(o.state)) + " flags " + std::to_string(o.flags) +
           " prio " + std::to_string(o.priority) + " accepted " + std::to_string(o.accepted_lsn) +
           " finished " + std::to_string(o.finished_lsn);
}

// The orders as version 1 left them: every event updates its order's row in place (the
// statements of sqlite_statements.cpp before schema v2).
class InPlaceOrders {
  public:
    void apply(const StoreBatch& batch) {
        for (const StoreEvent& e : batch.events) {
            if (e.lsn > lsn_) {
                apply(e);
            }
        }
        lsn_ = std::max(lsn_, batch.last_lsn);
    }
    std::vector<std::string> rows() const {
        std::vector<std::string> out;
        for (const auto& [key, order] : orders_) {
            out.push_back(describe(order));
        }
        return out;
    }

  private:
    void apply(const StoreEvent& e) {
        const book::Event& ev = e.event;
        switch (ev.type) {
            case book::EventType::Accepted: {
                StoredOrder o;
                o.shard = e.shard;
                o.order_id = ev.order_id;
                o.account = ev.account;
                o.instrument = ev.instrument;
                o.client_order_id = ev.client_order_id;
                o.side = ev.side;
                o.price = ev.price;
                o.quantity = ev.quantity;
                o.leaves = ev.leaves;
                o.flags = e.order_flags;
                o.priority = ev.seq;
                o.accepted_lsn = e.lsn;
                orders_[{e.shard, ev.order_id}] = o;
                break;
            }
            case book::EventType::Trade:
                trade(open(e.shard, ev.maker_order_id), ev.maker_leaves, ev.quantity, e.lsn);
                trade(open(e.shard, ev.order_id), ev.leaves, ev.quantity, e.lsn);
                break;
            case book::EventType::Cancelled: {
                StoredOrder& o = open(e.shard, ev.order_id);
                o.leaves = 0;
                o.state = StoredOrderState::Cancelled;
                o.finished_lsn = e.lsn;
                break;
            }
            case book::EventType::Replaced: {
                StoredOrder& o = open(e.shard, ev.order_id);
                if (!(o.price == ev.price && ev.quantity <= o.leaves)) {
                    o.priority = ev.seq;
                }
                o.price = ev.price;
                o.leaves = ev.leaves;
                break;
            }
            case book::EventType::Rejected:
            case book::EventType::MassCancelled:
                break;
        }
    }
    StoredOrder& open(ShardId shard, OrderId id) {
        StoredOrder& o = orders_.at({shard, id});
        REQUIRE(o.state == StoredOrderState::Open);
        return o;
    }
    static void trade(StoredOrder& o, Quantity leaves, Quantity quantity, StoreLsn lsn) {
        o.leaves = leaves;
        o.executed += quantity;
        if (leaves == 0) {
            o.state = StoredOrderState::Filled;
            o.finished_lsn = lsn;
        }
    }

    std::map<std::pair<ShardId, OrderId>, StoredOrder> orders_;
    StoreLsn lsn_ = 0;
};

// The first row where the two differ, to name it in a failure.
std::string first_difference(const std::vector<std::string>& found,
                             const std::vector<std::string>& expected) {
    for (std::size_t i = 0; i < std::max(found.size(), expected.size()); ++i) {
        const std::string a = i < found.size() ? found[i] : "(none)";
        const std::string b = i < expected.size() ? expected[i] : "(none)";
        if (a != b) {
            return "row " + std::to_string(i) + ": store " + a + " / in place " + b;
        }
    }
    return "none";
}

std::vector<std::string> stored_rows(Store& store) {
    std::vector<std::string> out;
    store.read_orders([&](const StoredOrder& o) { out.push_back(describe(o)); });
    return out;
}

// Batches of 1 to `max_commands` commands of a random stream over two shards.
std::vector<StoreBatch> random_batches(std::uint64_t seed, std::size_t commands,
                                       std::uint64_t max_commands) {
    test::StoreFeed feed(seed, 2);
    SplitMix64 rng(seed ^ 0xf01d);
    std::vector<StoreBatch> batches;
    StoreBatch batch;
    std::uint64_t target = 0;
    std::uint64_t in_batch = 0;
    for (std::size_t i = 0; i < commands; ++i) {
        if (batch.first_lsn == 0) {
            batch.first_lsn = feed.last_lsn() + 1;
            target =
                static_cast<std::uint64_t>(rng.between(1, static_cast<std::int64_t>(max_commands)));
            in_batch = 0;
        }
        feed.step(batch.events);
        batch.last_lsn = feed.last_lsn();
        if (++in_batch >= target || i + 1 == commands) {
            batches.push_back(std::move(batch));
            batch = StoreBatch{};
        }
    }
    return batches;
}

STORE_BACKEND_TEST("store: folded orders equal the updates in place, whenever the folds happen",
                   "[store]") {
    for (const std::uint64_t seed : {3u, 17u, 29u}) {
        INFO("seed " << seed);
        TestDatabase fresh(db.kind());
        const std::vector<StoreBatch> batches = random_batches(seed, 2'500, 40);
        SplitMix64 rng(seed);
        InPlaceOrders expected;
        auto store = fresh.open_migrated(true);
        std::size_t reads = 0;
        std::size_t reopens = 0;
        for (std::size_t b = 0; b < batches.size(); ++b) {
            store->apply(batches[b]);
            expected.apply(batches[b]);
            switch (rng.between(0, 9)) {
                case 0: {  // a reader folds between two batches
                    ++reads;
                    const std::vector<std::string> found = stored_rows(*store);
                    INFO("batch " << b << ": " << first_difference(found, expected.rows()));
                    REQUIRE(found == expected.rows());
                    break;
                }
                case 1:  // a new writer (a restart): its open orders come from the store
                    ++reopens;
                    store = fresh.open_migrated(true);
                    break;
                case 2:  // a batch the store already holds, as recovery replays it
                    store->apply(batches[b]);
                    break;
                default:
                    break;
            }
        }
        CHECK(reads > 5);
        CHECK(reopens > 5);
        CHECK(stored_rows(*store) == expected.rows());
        CHECK(fresh.count("SELECT count(*) FROM order_changes") == 0);
        CHECK(fresh.count("SELECT count(*) FROM orders") ==
              static_cast<std::int64_t>(expected.rows().size()));
    }
}

STORE_BACKEND_TEST("store: a fold changes what the tables say once, and a second fold nothing",
                   "[store]") {
    const std::vector<StoreBatch> batches = random_batches(41, 1'500, 200);
    auto store = db.open_migrated();
    InPlaceOrders expected;
    for (const StoreBatch& batch : batches) {
        store->apply(batch);
        expected.apply(batch);
    }
    const std::string all = "SELECT * FROM orders ORDER BY shard, order_id";
    // Unfolded, the order rows are stale: the check below would fail without the fold.
    REQUIRE(db.count("SELECT count(*) FROM order_changes") > 0);
    const std::vector<std::string> unfolded = db.rows(all);
    store->fold();
    CHECK(db.count("SELECT count(*) FROM order_changes") == 0);
    const std::vector<std::string> folded = db.rows(all);
    CHECK(folded != unfolded);
    store->fold();
    db.open_migrated()->fold();
    CHECK(db.rows(all) == folded);
    CHECK(stored_rows(*store) == expected.rows());
}

STORE_BACKEND_TEST("store: a writer goes on after a crash between batches and a refused batch",
                   "[store]") {
    const std::vector<StoreBatch> batches = random_batches(53, 1'200, 80);
    REQUIRE(batches.size() > 20);
    InPlaceOrders expected;
    {
        auto store = db.open_migrated(true);
        for (std::size_t b = 0; b < batches.size() / 2; ++b) {
            store->apply(batches[b]);
            expected.apply(batches[b]);
        }
        // Gone without a fold: its order changes stay appended, its memory is lost.
    }
    REQUIRE(db.count("SELECT count(*) FROM order_changes") > 0);
    auto store = db.open_migrated(true);
    const std::size_t half = batches.size() / 2;
    store->apply(batches[half - 1]);  // recovery replays what the store holds: skipped
    // A batch that changes an order the store does not hold open is refused as a whole ...
    book::Event cancel;
    cancel.type = book::EventType::Cancelled;
    cancel.seq = 1;
    cancel.order_id = 1'000'000;
    StoreBatch bad = batches[half];
    bad.events.push_back(StoreEvent{bad.last_lsn, 0, 0, cancel});
    CHECK_THROWS_WITH(store->apply(bad),
                      Contains("cancel of order 1000000") && Contains("does not hold open"));
    // ... and leaves the writer's open orders as they were.
    for (std::size_t b = half; b < batches.size(); ++b) {
        store->apply(batches[b]);
        expected.apply(batches[b]);
    }
    CHECK(store->store_lsn() == batches.back().last_lsn);
    CHECK(stored_rows(*store) == expected.rows());
}

// A database as version 1 of the schema created it: orders updated in place, no order_changes.
void create_version_1(TestDatabase& db) {
    if (db.kind() == BackendKind::Sqlite) {
        SqliteStore(db.sqlite_path()).schema_version();
        db.exec(std::string(sqlite_migrations()[0]));
    } else {
        PostgresStore(db.postgres_dsn()).schema_version();
        db.exec(std::string(postgres_migrations()[0]));
    }
    db.exec("INSERT INTO schema_version (version) VALUES (1)");
    // Order 1 open with a partial fill, order 2 filled at LSN 2, as the version 1 statements
    // left them.
    db.exec(
        "INSERT INTO orders (shard, order_id, account, instrument, client_order_id, side, price, "
        "quantity, leaves, executed, state, flags, priority, accepted_lsn, finished_lsn, "
        "finished_pos) VALUES (0, 1, 7, 1, 101, 1, 50, 10, 6, 4, 0, 0, 1, 1, NULL, NULL), "
        "(0, 2, 8, 1, 102, 0, 50, 4, 0, 4, 1, 0, 2, 2, 2, 1)");
    db.exec(
        "INSERT INTO trades (shard, trade_id, instrument, price, quantity, taker_order_id, "
        "taker_account, taker_side, maker_order_id, maker_account, maker_side, lsn, seq, "
        "timestamp_ns) VALUES (0, 1, 1, 50, 4, 2, 8, 0, 1, 7, 1, 2, 2, 0)");
    db.exec("INSERT INTO shard_meta VALUES (0, 3, 3, 2)");
    db.exec("UPDATE meta SET store_lsn = 2");
}

STORE_BACKEND_TEST("store: a version 1 database is migrated and its orders go on", "[store]") {
    create_version_1(db);
    auto store = db.open();
    store->migrate();
    CHECK(db.count("SELECT max(version) FROM schema_version") ==
          TestDatabase::latest_schema_version(db.kind()));
    CHECK(db.count("SELECT count(*) FROM order_changes") == 0);
    std::vector<StoredOrder> orders;
    store->read_orders([&](const StoredOrder& o) { orders.push_back(o); });
    REQUIRE(orders.size() == 2);
    CHECK(orders[0].leaves == 6);
    CHECK(orders[0].executed == 4);
    CHECK(orders[1].state == StoredOrderState::Filled);
    CHECK(orders[1].finished_lsn == 2);

    // The filled order is not open; the open one is, with its fill.
    book::Event cancel;
    cancel.type = book::EventType::Cancelled;
    cancel.seq = 3;
    cancel.order_id = 2;
    CHECK_THROWS_WITH(store->apply(StoreBatch{3, 3, {{3, 0, 0, cancel}}}),
                      Contains("cancel of order 2, which the store does not hold open"));
    cancel.order_id = 1;
    store->apply(StoreBatch{3, 3, {{3, 0, 0, cancel}}});
    orders.clear();
    store->read_orders([&](const StoredOrder& o) { orders.push_back(o); });
    REQUIRE(orders.size() == 2);
    CHECK(orders[0].state == StoredOrderState::Cancelled);
    CHECK(orders[0].leaves == 0);
    CHECK(orders[0].executed == 4);
    CHECK(orders[0].finished_lsn == 3);
    const StoreState state = store->load(1, 8);
    CHECK(state.store_lsn == 3);
    CHECK(state.shards[0].snapshot.resting.empty());
    REQUIRE(state.shards[0].snapshot.finished.size() == 2);
    CHECK(state.shards[0].snapshot.finished[1].order_id == 1);  // the newest last
    CHECK(state.shards[0].next_seq == 4);
}

}  // namespace
}  // namespace exchanged::store
