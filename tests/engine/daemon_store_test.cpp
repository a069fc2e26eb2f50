// The daemon with its store (docs/architecture.md: The path of one order; Durability points): what
// reaches the store, and what a store outage does. The outage is real: another connection holds
// SQLite's write lock, so the flush worker's transactions wait and then fail until it lets go.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <thread>

#include <sqlite3.h>

#include "http_client.hpp"
#include "minimal_config.hpp"
#include "store/sqlite_store.hpp"
#include "temp_file.hpp"
#include "wire_client.hpp"

using namespace exchanged;
using namespace exchanged::net;
using namespace std::chrono_literals;

namespace {

constexpr Price kPrice = 1'500'000;

NewOrder order(Side side, ClientOrderId id, Quantity quantity) {
    NewOrder o;
    o.side = side;
    o.instrument = 1;
    o.client_order_id = id;
    o.price = kPrice;
    o.quantity = quantity;
    return o;
}

// A second connection to the store file: holds the write lock while it lives.
class StoreLock {
  public:
    explicit StoreLock(const std::string& path) {
        REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    }
    ~StoreLock() {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close(db_);
    }
    StoreLock(const StoreLock&) = delete;
    StoreLock& operator=(const StoreLock&) = delete;

  private:
    sqlite3* db_ = nullptr;
};

std::optional<test::HttpResponse> scrape(std::uint16_t port, const std::string& path) {
    test::HttpClient client(port);
    if (!client.send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")) {
        return std::nullopt;
    }
    return client.read_response();
}

// The tables as readers see them: batches append order changes, which a fold moves into orders.
std::int64_t count_rows(const std::string& path, const std::string& sql) {
    {
        store::SqliteStore store(path);
        store.migrate();
        store.fold();
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
    const std::int64_t value = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return value;
}

}  // namespace

TEST_CASE("while the store is down WAL acks flow, store acks wait, and it catches up after",
          "[engine][daemon][store]") {
    test::TempDir dir;
    // hybrid_sync: acks after the WAL; critical orders and orders that traded after the store.
    const std::uint16_t admin_port = test::free_port();
    const std::string config = dir.write(
        "profile.ini",
        "[server]\nshard_queue_capacity = 1024\nheartbeat_interval_ms = 60000\n"
        "admin_listen = 127.0.0.1:" +
            std::to_string(admin_port) +
            "\n"
            "[persistence]\nmode = hybrid_sync\nstore_batch_timeout_ms = 5\n"
            "[safety]\ncritical_order_threshold = 100\n"
            "[engine]\nmax_orders = 65536\nclient_order_id_window = 65536\n[instruments]\n" +
            std::string(test::kAmznInstrument) + test::kAliceAndBob);
    const std::string store_path = (dir.path() / "data" / "exchanged.sqlite").string();
    test::ServingDaemon run = test::serve_daemon(dir, config, "daemon.out");
    INFO(run.daemon->output());
    // Closed before the stop: a session lingers up to a heartbeat interval (long here) for its
    // client to take the goodbye.
    std::optional<test::WireClient> alice_client(std::in_place, run.port);
    std::optional<test::WireClient> bob_client(std::in_place, run.port);
    test::WireClient& alice = *alice_client;
    test::WireClient& bob = *bob_client;
    alice.login("alice", "alice-secret");
    alice.expect<LoginAccepted>();
    bob.login("bob", "bob-secret");
    bob.expect<LoginAccepted>();

    std::optional<StoreLock> lock(std::in_place, store_path);
    // Normal orders are acked at the WAL: the outage does not stop them.
    for (ClientOrderId id = 1; id <= 200; ++id) {
        alice.send(order(Side::Buy, id, 1));
    }
    for (ClientOrderId id = 1; id <= 200; ++id) {
        CHECK(alice.expect<Accepted>().client_order_id == id);
    }
    // A critical order and an order that trades wait for the store.
    alice.send(order(Side::Buy, 201, 500));
    bob.send(order(Side::Sell, 1, 3));
    CHECK_FALSE(alice.receive(1500ms).has_value());
    CHECK_FALSE(bob.receive(100ms).has_value());
    // Past SQLite's busy timeout (5 s) the flush worker's attempt fails: it warns and retries.
    std::this_thread::sleep_for(5s);
    CHECK_FALSE(alice.receive(100ms).has_value());
    const std::optional<test::HttpResponse> sick = scrape(admin_port, "/health");
    REQUIRE(sick.has_value());
    CHECK(sick->status == 503);
    CHECK(sick->body.find("records wait for it") != std::string::npos);
    lock.reset();

    CHECK(alice.expect<Accepted>().client_order_id == 201);
    const Accepted sell = bob.expect<Accepted>();
    CHECK(sell.client_order_id == 1);
    CHECK(bob.expect<Fill>().quantity == 1);
    CHECK(alice.expect<Fill>().quantity == 1);  // maker fills, in time priority

    const std::optional<test::HttpResponse> metrics = scrape(admin_port, "/metrics");
    REQUIRE(metrics.has_value());
    CHECK(metrics->status == 200);
    CHECK(metrics->body.find("\nexchanged_store_lsn 202\n") != std::string::npos);
    CHECK(metrics->body.find("\nexchanged_store_up 1\n") != std::string::npos);
    CHECK(metrics->body.find("\nexchanged_store_failures_total ") != std::string::npos);
    CHECK(metrics->body.find("\nexchanged_wal_durable_lsn 202\n") != std::string::npos);

    alice_client.reset();
    bob_client.reset();
    CHECK(run.daemon->stop() == 0);
    const std::string output = run.daemon->output();
    CHECK(output.find("store unavailable: ") != std::string::npos);
    CHECK(output.find("database is locked") != std::string::npos);
    CHECK(output.find("store is back") != std::string::npos);
    CHECK(count_rows(store_path, "SELECT count(*) FROM orders") == 202);
    CHECK(count_rows(store_path, "SELECT count(*) FROM trades") == 3);
    CHECK(count_rows(store_path, "SELECT store_lsn FROM meta") == 202);
}

TEST_CASE("a store that falls behind by more than its feed holds is caught up from the WAL",
          "[engine][daemon][store]") {
    test::TempDir dir;
    // A feed of 1024 events and a store that writes only every 2 s: the feed overflows at once
    // and the flush worker has to rebuild the events from the WAL.
    const std::string config =
        dir.write("profile.ini",
                  "[server]\nshard_queue_capacity = 4096\n"
                  "[persistence]\nstore_queue_events = 1024\nstore_batch_size = 1000000\n"
                  "store_batch_timeout_ms = 2000\n"
                  "[engine]\nmax_orders = 65536\nclient_order_id_window = 65536\n[instruments]\n" +
                      std::string(test::kAmznInstrument) + test::kAliceAndBob);
    const std::string store_path = (dir.path() / "data" / "exchanged.sqlite").string();
    test::ServingDaemon run = test::serve_daemon(dir, config, "daemon.out");
    constexpr ClientOrderId kOrders = 6'000;
    {
        test::WireClient alice(run.port);
        alice.login("alice", "alice-secret");
        alice.expect<LoginAccepted>();
        test::WireClient bob(run.port);
        bob.login("bob", "bob-secret");
        bob.expect<LoginAccepted>();
        for (ClientOrderId id = 1; id <= kOrders; id += 500) {
            for (ClientOrderId i = id; i < id + 500; ++i) {
                alice.send(order(Side::Buy, i, 2));
            }
            for (ClientOrderId i = id; i < id + 500; ++i) {
                CHECK(alice.expect<Accepted>().client_order_id == i);
            }
        }
        // Trades too, so the rebuilt store has fills to get right.
        bob.send(order(Side::Sell, 1, 999));
        CHECK(bob.expect<Accepted>().client_order_id == 1);
    }
    // The store catches up while the daemon serves: the log says so.
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (run.daemon->output().find("batching from the shards again") == std::string::npos &&
           std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(50ms);
    }
    CHECK(run.daemon->stop() == 0);
    const std::string output = run.daemon->output();
    INFO(output);
    CHECK(output.find("catching it up from the WAL; trading continues") != std::string::npos);
    CHECK(output.find("store caught up from the WAL to LSN") != std::string::npos);
    CHECK(count_rows(store_path, "SELECT count(*) FROM orders") == kOrders + 1);
    CHECK(count_rows(store_path, "SELECT count(*) FROM trades") == 500);
    CHECK(count_rows(store_path, "SELECT sum(executed) FROM orders WHERE account = 1") == 999);
    CHECK(count_rows(store_path, "SELECT store_lsn FROM meta") == kOrders + 1);
    CHECK(count_rows(store_path, "SELECT count(*) FROM orders WHERE state = 0") == kOrders - 499);
}
