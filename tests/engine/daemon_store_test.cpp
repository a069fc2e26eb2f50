// The daemon with its store (docs/architecture.md: The path of one order; Durability points): what
// reaches the store, what a failing store does, and a store that falls behind. (A store that is
// down and retried, where it is not a durability point, is tested against the flush worker in
// tests/store/flush_worker_test.cpp: the daemon's SQLite file cannot be locked by anyone else.)
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <thread>

#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>

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

// The daemon holds its SQLite store exclusively (no -shm, so it opens after any power cut): a tool
// that opens it meanwhile is told it is in use instead of reading under the daemon's feet.
// Without a WAL the store is the only durable copy and critical orders wait for it, so a write that
// fails under it is fatal: the daemon refuses the order, exits 1 and never retries the write
// (docs/durability.md: When the store fails). The failure is real: a file size limit set on the
// running daemon makes the store's next append fail with EFBIG.
TEST_CASE("a failed write under a store that is a durability point stops the daemon with exit 1",
          "[engine][daemon][store]") {
    test::TempDir dir;
    const std::string config =
        dir.write("profile.ini",
                  "[server]\nshard_queue_capacity = 1024\nheartbeat_interval_ms = 60000\n"
                  "[persistence]\nmode = batch_sync\nbatch_timeout_ms = 2\n"
                  // The loss window is not under test: a slow (sanitized, loaded) run must not
                  // have order 2 refused because order 1 took over 10 ms to reach the store.
                  "[safety]\ncritical_order_threshold = 100\nmax_unflushed_ms = 60000\n"
                  "[engine]\nmax_orders = 65536\nclient_order_id_window = 65536\n[instruments]\n" +
                      std::string(test::kAmznInstrument) + test::kAliceAndBob);
    const std::filesystem::path store_path = dir.path() / "data" / "exchanged.sqlite";
    test::ServingDaemon run = test::serve_daemon(dir, config, "daemon.out");
    INFO(run.daemon->output());
    {
        test::WireClient alice(run.port);
        alice.login("alice", "alice-secret");
        alice.expect<LoginAccepted>();
        alice.send(order(Side::Buy, 1, 1));
        CHECK(alice.expect<Accepted>().client_order_id == 1);
        alice.send(order(Side::Buy, 2, 500));  // critical: acked once the store has it
        CHECK(alice.expect<Accepted>().client_order_id == 2);

        CHECK_THROWS_WITH(store::SqliteStore(store_path, store::SqliteStoreOptions{false, 100ms}),
                          Catch::Contains("in use by another process"));

        // Every append to the store's -wal from now on fails; its log output stays far below.
        const std::filesystem::path wal = store_path.string() + "-wal";
        const rlim_t limit = std::max<rlim_t>(std::filesystem::file_size(wal), 16384);
        const struct rlimit fsize { limit, limit };
        REQUIRE(::prlimit(run.daemon->pid(), RLIMIT_FSIZE, &fsize, nullptr) == 0);
        for (ClientOrderId id = 3; id <= 40; ++id) {
            alice.send(order(Side::Buy, id, 500));
        }
        REQUIRE(run.daemon->await("store failed: "));
        // None of the critical orders after the failure was acknowledged.
        while (const std::optional<Message> reply = alice.receive(2s)) {
            if (const auto* ack = std::get_if<Accepted>(&*reply)) {
                CHECK(ack->client_order_id < 3);
            }
        }
    }
    CHECK(run.daemon->wait() == 1);
    const std::string output = run.daemon->output();
    INFO(output);
    CHECK(output.find("exiting after a store failure") != std::string::npos);
    CHECK(output.find("store failed: ") != std::string::npos);
    CHECK((output.find("disk I/O error") != std::string::npos ||
           output.find("database or disk is full") != std::string::npos));
    CHECK(output.find("retrying every") == std::string::npos);

    // The next start recovers from what is durable: the store as last committed.
    test::ServingDaemon again = test::serve_daemon(dir, config, "again.out");
    CHECK(again.daemon->stop() == 0);
    INFO(again.daemon->output());
    CHECK(count_rows(store_path.string(),
                     "SELECT count(*) FROM orders WHERE client_order_id = 2") == 1);
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
