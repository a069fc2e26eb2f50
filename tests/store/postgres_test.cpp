// What only the PostgreSQL backend has: a DSN whose password must stay out of messages, a server
// that can drop the connection between batches, several writers on one database, and the promise
// that it holds exactly the rows SQLite holds for the same batches.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "store/open_store.hpp"
#include "store/postgres_copy.hpp"
#include "store/postgres_dsn.hpp"
#include "store/postgres_store.hpp"
#include "store_backends.hpp"
#include "store_feed.hpp"

namespace exchanged::store {
namespace {

using Catch::Matchers::Contains;
using test::BackendKind;
using test::TestDatabase;

book::Event accepted(OrderId id, SequenceNumber seq) {
    book::Event e;
    e.type = book::EventType::Accepted;
    e.seq = seq;
    e.instrument = 1;
    e.account = 2;
    e.order_id = id;
    e.client_order_id = 100 + id;
    e.price = 50;
    e.quantity = 10;
    e.leaves = 10;
    return e;
}

// Batches of 1 to 300 commands of a random stream over two shards.
std::vector<StoreBatch> random_batches(std::uint64_t seed, std::size_t commands) {
    test::StoreFeed feed(seed, 2);
    SplitMix64 rng(seed ^ 0x5eed);
    std::vector<StoreBatch> batches;
    StoreBatch batch;
    std::size_t target = 0;
    for (std::size_t i = 0; i < commands; ++i) {
        if (batch.first_lsn == 0) {
            batch.first_lsn = feed.last_lsn() + 1;
            target = static_cast<std::size_t>(rng.between(1, 300));
        }
        feed.step(batch.events);
        batch.last_lsn = feed.last_lsn();
        if (batch.events.size() >= target || i + 1 == commands) {
            batches.push_back(std::move(batch));
            batch = StoreBatch{};
        }
    }
    return batches;
}

// Ends the store's session from another connection, as a server restart or a network cut would.
void terminate_session(TestDatabase& db, int pid) {
    const std::string id = std::to_string(pid);
    db.exec("SELECT pg_terminate_backend(" + id + ")");
    for (int i = 0; i < 500; ++i) {
        if (db.count("SELECT count(*) FROM pg_stat_activity WHERE pid = " + id) == 0) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("session " << id << " still alive 5 s after pg_terminate_backend");
}

TEST_CASE("store: a PostgreSQL DSN is named without its password", "[store][postgresql]") {
    const std::string plain = redact_dsn("host=/tmp/pg port=5432 dbname=exch user=ex password=s3");
    CHECK_THAT(plain, Contains("host=/tmp/pg") && Contains("port=5432") && Contains("user=ex") &&
                          Contains("dbname=exch") && !Contains("s3") && !Contains("password"));
    const std::string uri =
        redact_dsn("postgresql://ex:s3cret@db.example:5433/exch?sslmode=require");
    CHECK_THAT(uri, Contains("host=db.example") && Contains("port=5433") && Contains("user=ex") &&
                        Contains("dbname=exch") && Contains("sslmode=require"));
    CHECK_THAT(uri, !Contains("s3cret"));
    CHECK_THAT(redact_dsn("host=a password='two s3cret words' application_name='my app'"),
               !Contains("s3cret") && Contains("application_name='my app'"));
    // libpq cannot parse it (no '=' after "port"): the password is cut out all the same.
    const std::string broken = redact_dsn("host=a password=s3cret port");
    CHECK_THAT(broken, !Contains("s3cret") && Contains("host=a"));
    CHECK_THAT(redact_dsn("postgresql://ex:s3cret@db/exch?port"), !Contains("s3cret"));
    CHECK(redact_dsn("") == "");

    CHECK(dsn_with_option("host=a", "options", "-csearch_path=x") ==
          "host=a options=-csearch_path=x");
    CHECK(dsn_with_option("host=a", "password", "it's") == "host=a password='it\\'s'");
    const std::string with_schema =
        dsn_with_option("postgresql://h/db", "options", "-csearch_path=x");
    CHECK(with_schema == "postgresql://h/db?options=-csearch_path%3Dx");
    CHECK_THAT(redact_dsn(with_schema), Contains("options=-csearch_path=x"));
}

// The bytes of COPY's binary format (postgresql.org/docs/15/sql-copy.html, "Binary Format"); the
// tests against a server check that PostgreSQL reads them as SQLite's rows.
TEST_CASE("store: a batch's rows in COPY's binary format", "[store][postgresql]") {
    PgCopyRows rows(pg_copy_orders());
    std::int64_t values[kOrderColumns] = {};
    values[0] = 1;                            // shard
    values[1] = -2;                           // an unsigned id above 2^63, as its bits
    values[order_column::kFinishedLsn] = 0;   // NULL: still open
    values[order_column::kFinishedPos] = -1;  // NULL
    rows.add_row(values);
    CHECK(rows.rows() == 1);
    const std::string_view data = rows.finish();
    const std::string_view header("PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
    REQUIRE(data.size() == 19 + 2 + 14 * 12 + 2 * 4 + 2);
    CHECK(data.substr(0, 19) == header);
    CHECK(data.substr(19, 2) == std::string_view("\0\20", 2));  // 16 fields
    CHECK(data.substr(21, 12) == std::string_view("\0\0\0\10\0\0\0\0\0\0\0\1", 12));
    CHECK(data.substr(33, 12) == std::string_view("\0\0\0\10\377\377\377\377\377\377\377\376", 12));
    CHECK(data.substr(21 + 14 * 12, 8) == std::string_view("\377\377\377\377\377\377\377\377", 8));
    CHECK(data.substr(data.size() - 2) == std::string_view("\377\377", 2));  // the end
    // Reused for the next batch: the same header, no rows.
    rows.clear();
    CHECK(rows.finish() == std::string(header) + "\377\377");
    CHECK_THROWS_WITH(rows.add_row(values), Contains("internal"));
    rows.clear();
    CHECK_THROWS_WITH(rows.add_row(std::span<const std::int64_t>(values, 3)),
                      Contains("3 values for 16 columns of orders"));
}

TEST_CASE("store: a PostgreSQL server that cannot be reached gives a clear error",
          "[store][postgresql]") {
    // No server needed: nothing listens on port 1, with or without the test server's DSN.
    std::string dsn = test::test_postgres_dsn().value_or("host=/tmp dbname=postgres");
    dsn = dsn_with_option(dsn, "port", "1");
    dsn = dsn_with_option(dsn, "password", "hunter2");
    dsn = dsn_with_option(dsn, "connect_timeout", "5");
    CHECK_THROWS_WITH(PostgresStore(dsn), Contains("postgresql:") && Contains("port=1") &&
                                              Contains("connect") && !Contains("hunter2"));
    // libpq quotes a URI it cannot parse in its message; the password still stays out.
    CHECK_THROWS_WITH(PostgresStore("postgresql://ex:hunter2@[::1/exch"),
                      Contains("connect") && Contains("IPv6") && !Contains("hunter2"));
}

TEST_CASE("store: a PostgreSQL store reconnects after losing its session", "[store][postgresql]") {
    test::run_on(BackendKind::Postgresql, [](TestDatabase& db) {
        PostgresStore store(dsn_with_option(db.postgres_dsn(), "password", "hunter2"),
                            PostgresStoreOptions{true});
        store.migrate();
        CHECK_THAT(store.describe(), Contains("postgresql:") && !Contains("hunter2"));
        store.apply(StoreBatch{1, 1, {{1, 0, 0, accepted(1, 1)}}});
        const StoreBatch second{2, 3, {{2, 0, 0, accepted(2, 2)}, {3, 0, 0, accepted(3, 3)}}};

        // The server goes away between batches: the batch fails, and the flush worker's retry of
        // the same batch lands exactly once.
        terminate_session(db, store.backend_pid());
        CHECK_THROWS_WITH(store.apply(second), Contains(db.name_in_errors()) &&
                                                   Contains("apply batch 2..3") &&
                                                   !Contains("hunter2"));
        store.apply(second);
        CHECK(store.store_lsn() == 3);
        store.apply(second);
        CHECK(db.count("SELECT count(*) FROM orders") == 3);
        CHECK(db.count("SELECT count(*) FROM audit_log") == 3);

        // Reads reconnect the same way.
        terminate_session(db, store.backend_pid());
        CHECK_THROWS_AS(store.store_lsn(), StoreError);
        CHECK(store.store_lsn() == 3);
        terminate_session(db, store.backend_pid());
        CHECK_THROWS_AS(store.load(1, 8), StoreError);
        CHECK(store.load(1, 8).shards[0].snapshot.resting.size() == 3);
        terminate_session(db, store.backend_pid());
        CHECK_THROWS_AS(store.read_orders([](const StoredOrder&) {}), StoreError);
        int orders = 0;
        store.read_orders([&](const StoredOrder&) { ++orders; });
        CHECK(orders == 3);
        // And a batch the server refused leaves the session usable for the next one.
        CHECK_THROWS_AS(store.apply(StoreBatch{4, 4, {{4, 0, 0, accepted(1, 4)}}}), StoreError);
        store.apply(StoreBatch{4, 4, {{4, 0, 0, accepted(4, 4)}}});
        CHECK(store.store_lsn() == 4);
    });
}

// A COMMIT whose answer is lost may have committed or not; the store asks store_lsn after
// reconnecting instead of guessing (docs/durability.md: When the store fails).
TEST_CASE("store: a PostgreSQL COMMIT of unknown outcome is resolved by reading store_lsn",
          "[store][postgresql]") {
    test::run_on(BackendKind::Postgresql, [](TestDatabase& db) {
        PostgresStoreOptions options;
        PostgresStore* self = nullptr;
        bool kill_before_commit = false;
        options.before_commit = [&] {
            if (kill_before_commit) {
                kill_before_commit = false;
                terminate_session(db, self->backend_pid());
            }
        };
        SECTION("the session dies before COMMIT arrives: not committed, said so, retried") {
            PostgresStore store(db.postgres_dsn(), options);
            self = &store;
            store.migrate();
            kill_before_commit = true;
            const StoreBatch batch{1, 1, {{1, 0, 0, accepted(1, 1)}}};
            CHECK_THROWS_WITH(store.apply(batch),
                              Contains("apply batch 1..1") && Contains("lost during COMMIT") &&
                                  Contains("store_lsn is 0") && Contains("did not commit"));
            CHECK(store.store_lsn() == 0);
            store.apply(batch);
            CHECK(store.store_lsn() == 1);
            CHECK(db.count("SELECT count(*) FROM orders") == 1);
        }
        SECTION("the answer to a COMMIT that succeeded is lost: committed, no error") {
            options.lose_commit_reply = true;
            PostgresStore store(db.postgres_dsn(), options);
            self = &store;
            store.migrate();
            store.apply(StoreBatch{1, 2, {{1, 0, 0, accepted(1, 1)}, {2, 0, 0, accepted(2, 2)}}});
            CHECK(store.store_lsn() == 2);
            CHECK(db.count("SELECT count(*) FROM orders") == 2);
        }
    });
}

// A batch's rows go by COPY, one per table, inside the batch's transaction: a COPY that fails,
// however far it got, leaves nothing of the batch and store_lsn where it was.
TEST_CASE("store: a PostgreSQL batch that fails during its COPY leaves nothing behind",
          "[store][postgresql]") {
    test::run_on(BackendKind::Postgresql, [](TestDatabase& db) {
        book::Event trade;
        trade.type = book::EventType::Trade;
        trade.instrument = 1;
        trade.order_id = 3;
        trade.maker_order_id = 1;
        trade.trade_id = 1;
        trade.quantity = 4;
        trade.leaves = 6;
        trade.maker_leaves = 6;
        const auto trade_at = [&](SequenceNumber seq) {
            book::Event e = trade;
            e.seq = seq;
            return e;
        };
        const auto count = [&](const char* table) {
            return db.count(std::string("SELECT count(*) FROM ") + table);
        };
        SECTION("the session ends with the rows sent and the COPY not ended") {
            PostgresStoreOptions options;
            PostgresStore* self = nullptr;
            int copies = 0;
            int kill_at = 0;  // the COPY to end the session in, counted from 1
            options.during_copy = [&] {
                if (++copies == kill_at) {
                    terminate_session(db, self->backend_pid());
                }
            };
            PostgresStore store(db.postgres_dsn(), options);
            self = &store;
            store.migrate();
            store.apply(StoreBatch{1, 1, {{1, 0, 0, accepted(1, 1)}}});
            // Orders, order changes, trades: the third COPY dies, after two went in.
            const StoreBatch batch{
                2,
                3,
                {{2, 0, 0, accepted(2, 2)}, {3, 0, 0, accepted(3, 3)}, {3, 0, 0, trade_at(3)}}};
            copies = 0;
            kill_at = 3;
            CHECK_THROWS_WITH(store.apply(batch), Contains(db.name_in_errors()) &&
                                                      Contains("apply batch 2..3") &&
                                                      Contains("copy into trades"));
            CHECK(copies == 3);
            CHECK(store.store_lsn() == 1);
            CHECK(count("orders") == 1);
            CHECK(count("order_changes") == 0);
            CHECK(count("trades") == 0);
            // The retry of the same batch lands exactly once.
            kill_at = 0;
            store.apply(batch);
            CHECK(store.store_lsn() == 3);
            CHECK(count("orders") == 3);
            CHECK(count("order_changes") == 1);
            CHECK(count("trades") == 1);
        }
        SECTION("the server refuses a row of the last COPY, after the others went in") {
            auto store = db.open_migrated(true);
            store->apply(StoreBatch{1,
                                    3,
                                    {{1, 0, 0, accepted(1, 1)},
                                     {2, 0, 0, accepted(2, 2)},
                                     {3, 0, 0, accepted(3, 3)},
                                     {3, 0, 0, trade_at(3)}}});
            // Trade id 1 again: the trades COPY fails on its key, after the batch's orders went in
            // by theirs.
            book::Event again = trade_at(5);
            again.order_id = 5;
            again.maker_order_id = 4;
            const StoreBatch batch{
                4, 5, {{4, 0, 0, accepted(4, 4)}, {5, 0, 0, accepted(5, 5)}, {5, 0, 0, again}}};
            CHECK_THROWS_WITH(store->apply(batch),
                              Contains(db.name_in_errors()) && Contains("LSN 5 shard 0") &&
                                  Contains("insert_trade") && Contains("duplicate key"));
            CHECK(store->store_lsn() == 3);
            CHECK(count("orders") == 3);
            CHECK(count("trades") == 1);
            CHECK(count("audit_log") == 4);
            again.trade_id = 2;
            store->apply(StoreBatch{
                4, 5, {{4, 0, 0, accepted(4, 4)}, {5, 0, 0, accepted(5, 5)}, {5, 0, 0, again}}});
            CHECK(store->store_lsn() == 5);
            CHECK(count("orders") == 5);
            CHECK(count("trades") == 2);
            CHECK(count("audit_log") == 7);
        }
    });
}

TEST_CASE("store: open_store opens and migrates a PostgreSQL store", "[store][postgresql]") {
    test::run_on(BackendKind::Postgresql, [](TestDatabase& db) {
        StoreSettings settings;
        settings.backend = Backend::Postgresql;
        settings.postgresql_dsn = db.postgres_dsn();
        settings.audit_log = true;
        const std::unique_ptr<Store> store = open_store(settings);
        CHECK(store->describe() == db.name_in_errors());
        store->apply(StoreBatch{1, 1, {{1, 0, 0, accepted(1, 1)}}});
        CHECK(store->store_lsn() == 1);
        CHECK(db.count("SELECT count(*) FROM audit_log") == 1);
    });
}

TEST_CASE("store: PostgreSQL writers on one database apply each batch once",
          "[store][postgresql]") {
    test::run_on(BackendKind::Postgresql, [](TestDatabase& db) {
        const std::vector<StoreBatch> batches = random_batches(21, 1'500);
        // Both write every batch at the same time; the meta row lock lets one in, the other then
        // finds the batch applied.
        std::vector<std::string> errors(2);
        std::vector<std::thread> writers;
        for (int w = 0; w < 2; ++w) {
            writers.emplace_back([&, w] {
                try {
                    auto store = db.open_migrated(true);
                    for (const StoreBatch& batch : batches) {
                        store->apply(batch);
                    }
                } catch (const std::exception& error) {
                    errors[static_cast<std::size_t>(w)] = error.what();
                }
            });
        }
        for (std::thread& writer : writers) {
            writer.join();
        }
        INFO(errors[0] << " / " << errors[1]);
        CHECK(errors[0].empty());
        CHECK(errors[1].empty());

        TestDatabase once(BackendKind::Postgresql);
        auto store = once.open_migrated(true);
        for (const StoreBatch& batch : batches) {
            store->apply(batch);
        }
        // A writer that found store_lsn moved by the other folded before going on: compare the
        // tables as readers see them, folded.
        store->fold();
        db.open_migrated(true)->fold();
        for (const char* table :
             {"orders", "trades", "audit_log", "shard_meta", "meta", "order_changes"}) {
            INFO(table);
            const std::string sql = std::string("SELECT * FROM ") + table + " ORDER BY 1, 2";
            CHECK(db.rows(sql) == once.rows(sql));
        }
    });
}

TEST_CASE("store: PostgreSQL holds the same rows as SQLite for the same batches",
          "[store][postgresql]") {
    test::run_on(BackendKind::Postgresql, [](TestDatabase& pg) {
        TestDatabase lite(BackendKind::Sqlite);
        auto a = lite.open_migrated(true);
        auto b = pg.open_migrated(true);
        const std::vector<StoreBatch> batches = random_batches(5, 4'000);
        for (const StoreBatch& batch : batches) {
            a->apply(batch);
            b->apply(batch);
        }
        REQUIRE(a->store_lsn() == b->store_lsn());
        for (const char* sql : {"SELECT * FROM orders ORDER BY shard, order_id",
                                "SELECT * FROM order_changes ORDER BY lsn, pos",
                                "SELECT * FROM trades ORDER BY shard, trade_id",
                                "SELECT * FROM audit_log ORDER BY lsn, position",
                                "SELECT * FROM shard_meta", "SELECT store_lsn FROM meta"}) {
            INFO(sql);
            const std::vector<std::string> expected = lite.rows(sql);
            CHECK(pg.rows(sql) == expected);
            CHECK(!expected.empty());
        }
        std::vector<StoredOrder> lite_orders;
        std::vector<StoredOrder> pg_orders;
        a->read_orders([&](const StoredOrder& o) { lite_orders.push_back(o); });
        b->read_orders([&](const StoredOrder& o) { pg_orders.push_back(o); });
        REQUIRE(lite_orders.size() == pg_orders.size());
        for (std::size_t i = 0; i < lite_orders.size(); ++i) {
            CHECK(pg_orders[i].order_id == lite_orders[i].order_id);
            CHECK(pg_orders[i].priority == lite_orders[i].priority);
            CHECK(pg_orders[i].finished_lsn == lite_orders[i].finished_lsn);
        }
        std::size_t lite_trades = 0;
        std::size_t pg_trades = 0;
        a->read_trades([&](const StoredTrade&) { ++lite_trades; });
        b->read_trades([&](const StoredTrade&) { ++pg_trades; });
        CHECK(pg_trades == lite_trades);
        for (const std::uint32_t window : {0u, 5u, 1'000u}) {
            const StoreState x = a->load(2, window);
            const StoreState y = b->load(2, window);
            CHECK(x.store_lsn == y.store_lsn);
            for (std::size_t s = 0; s < 2; ++s) {
                CHECK(x.shards[s].next_seq == y.shards[s].next_seq);
                CHECK(x.shards[s].snapshot == y.shards[s].snapshot);
            }
        }
    });
}

}  // namespace
}  // namespace exchanged::store
