// The flush worker against a scripted store: when batches are cut, that a failing store gets the
// same batch again until it takes it (exactly once), that a stop drains or gives up, that several
// feeds merge in LSN order, and that a command with more events than its feed holds gets through.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/batch_plan.hpp"
#include "store/event_feed.hpp"
#include "store/flush_worker.hpp"

using namespace exchanged;
using namespace exchanged::store;
using namespace std::chrono_literals;

namespace {

// Keeps every batch it accepted; fails the next `fail_next` applies; after corrupt(), every apply
// finds the database file damaged.
class ScriptedStore final : public Store {
  public:
    void migrate() override {}
    StoreLsn store_lsn() override {
        std::lock_guard lock(mutex_);
        return lsn_;
    }
    void apply(const StoreBatch& batch) override {
        std::lock_guard lock(mutex_);
        ++attempts_;
        if (corrupt_) {
            throw StoreCorruptError("scripted.sqlite: database disk image is malformed");
        }
        if (fail_next_ > 0) {
            --fail_next_;
            throw StoreError("scripted: database is locked");
        }
        if (io_fail_next_ > 0) {
            --io_fail_next_;
            throw StoreIoError(
                io_sync_ ? "scripted: disk I/O error (fsync)" : "scripted: disk I/O error (write)",
                io_sync_);
        }
        const BatchPlan plan = plan_batch(batch, lsn_);
        if (!plan.skip) {
            batches_.push_back(batch);
            lsn_ = batch.last_lsn;
        }
    }
    StoreState load(std::uint32_t, std::uint32_t) override { return {}; }
    void read_orders(const std::function<void(const StoredOrder&)>&) override {}
    void read_trades(const std::function<void(const StoredTrade&)>&) override {}
    void fold() override {}
    std::string describe() const override { return "scripted"; }

    void fail_next(int count) {
        std::lock_guard lock(mutex_);
        fail_next_ = count;
    }
    // The next `count` applies fail with a StoreIoError, of an fsync when `sync`.
    void fail_io_next(int count, bool sync) {
        std::lock_guard lock(mutex_);
        io_fail_next_ = count;
        io_sync_ = sync;
    }
    void corrupt() {
        std::lock_guard lock(mutex_);
        corrupt_ = true;
    }
    std::vector<StoreBatch> batches() {
        std::lock_guard lock(mutex_);
        return batches_;
    }
    int attempts() {
        std::lock_guard lock(mutex_);
        return attempts_;
    }

  private:
    std::mutex mutex_;
    StoreLsn lsn_ = 0;
    int fail_next_ = 0;
    int io_fail_next_ = 0;
    bool io_sync_ = false;
    bool corrupt_ = false;
    int attempts_ = 0;
    std::vector<StoreBatch> batches_;
};

StoreEvent event_at(StoreLsn lsn, ShardId shard = 0, std::uint64_t tag = 0) {
    StoreEvent e;
    e.lsn = lsn;
    e.shard = shard;
    e.event.seq = lsn;
    e.event.order_id = tag;
    return e;
}

void push(EventFeed& feed, StoreLsn lsn, ShardId shard = 0) {
    const StoreEvent e = event_at(lsn, shard);
    REQUIRE(feed.try_push(std::span<const StoreEvent>(&e, 1)));
}

// Polls `done` for up to 5 s: the worker runs on its own thread and clock.
template <typename Done>
bool eventually(Done done) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(1ms);
    }
    return done();
}

struct Harness {
    explicit Harness(std::size_t feeds = 1, std::size_t capacity = 1024) {
        for (std::size_t i = 0; i < feeds; ++i) {
            owned.push_back(std::make_unique<EventFeed>(capacity));
            pointers.push_back(owned.back().get());
        }
        options.frontier = [this] { return frontier.load(); };
        options.on_committed = [this](StoreLsn lsn) { committed.store(lsn); };
        options.warn = [this](const std::string& line) {
            std::lock_guard lock(mutex);
            warnings.push_back(line);
        };
        options.info = [this](const std::string& line) {
            std::lock_guard lock(mutex);
            infos.push_back(line);
        };
    }

    ScriptedStore store;
    std::vector<std::unique_ptr<EventFeed>> owned;
    std::vector<EventFeed*> pointers;
    FlushOptions options;
    std::atomic<StoreLsn> frontier{0};
    std::atomic<StoreLsn> committed{0};
    std::mutex mutex;
    std::vector<std::string> warnings;
    std::vector<std::string> infos;
};

}  // namespace

TEST_CASE("flush: an acknowledgement held for the store cuts the batch at once", "[store][flush]") {
    Harness h;
    h.options.batch_lsns = 1000;
    h.options.batch_timeout = std::chrono::hours(1);
    std::atomic<StoreLsn> awaited{0};
    h.options.awaited = [&] { return awaited.load(); };
    FlushWorker worker(h.store, h.pointers, h.options);
    worker.start();
    for (StoreLsn lsn = 1; lsn <= 3; ++lsn) {
        push(*h.pointers[0], lsn);
    }
    h.frontier = 3;
    // Nothing waits: neither size nor age makes the three records due.
    REQUIRE(eventually([&] { return worker.stats().uncommitted == 3; }));
    CHECK(h.store.batches().empty());
    awaited = 2;  // a critical order's reply at LSN 2 is held for the store
    REQUIRE(eventually([&] { return h.committed.load() == 3; }));
    const auto batches = h.store.batches();
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].first_lsn == 1);
    CHECK(batches[0].last_lsn == 3);  // everything flushable goes, not only what is awaited
    // Once the store covers it, an old request makes no more batches due.
    push(*h.pointers[0], 4);
    h.frontier = 4;
    REQUIRE(eventually([&] { return worker.stats().uncommitted == 1; }));
    CHECK(h.store.batches().size() == 1);
    CHECK(worker.flush_and_stop(1s));
    CHECK(h.store.batches().size() == 2);
}

TEST_CASE("flush: a batch is cut at batch_lsns records, not before", "[store][flush]") {
    Harness h;
    h.options.batch_lsns = 10;
    h.options.batch_timeout = std::chrono::hours(1);
    FlushWorker worker(h.store, h.pointers, h.options);
    worker.start();
    for (StoreLsn lsn = 1; lsn <= 9; ++lsn) {
        push(*h.pointers[0], lsn);
    }
    h.frontier = 9;
    // Once the worker has seen all nine records, a worker that cut early would commit exactly
    // those nine (its batch ends at the frontier it saw), so the one-batch check below fails.
    REQUIRE(eventually([&] { return worker.stats().uncommitted == 9; }));
    CHECK(h.store.batches().empty());
    push(*h.pointers[0], 10);
    h.frontier = 10;
    REQUIRE(eventually([&] { return h.committed.load() == 10; }));
    const auto batches = h.store.batches();
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].first_lsn == 1);
    CHECK(batches[0].last_lsn == 10);
    CHECK(batches[0].events.size() == 10);
    CHECK(worker.store_lsn() == 10);
    CHECK(worker.flush_and_stop(1s));
}

TEST_CASE("flush: a lone record is written once batch_timeout passes", "[store][flush]") {
    Harness h;
    h.options.batch_lsns = 1000;
    h.options.batch_timeout = 20ms;
    FlushWorker worker(h.store, h.pointers, h.options);
    worker.start();
    push(*h.pointers[0], 1);
    h.frontier = 1;
    REQUIRE(eventually([&] { return h.committed.load() == 1; }));
    // LSNs without events (checkpoint records) are covered by the range alone.
    h.frontier = 3;
    REQUIRE(eventually([&] { return h.committed.load() == 3; }));
    const auto batches = h.store.batches();
    REQUIRE(batches.size() == 2);
    CHECK(batches[1].first_lsn == 2);
    CHECK(batches[1].events.empty());
    CHECK(worker.flush_and_stop(1s));
}

TEST_CASE("flush: a failing store gets the same batch again, once it works it is applied once",
          "[store][flush]") {
    Harness h;
    h.options.batch_lsns = 1;
    h.options.retry_initial = 1ms;
    h.options.retry_max = 4ms;
    h.options.warn_every = std::chrono::hours(1);
    h.store.fail_next(5);
    FlushWorker worker(h.store, h.pointers, h.options);
    worker.start();
    for (StoreLsn lsn = 1; lsn <= 4; ++lsn) {
        push(*h.pointers[0], lsn);
    }
    h.frontier = 4;
    REQUIRE(eventually([&] { return h.committed.load() == 4; }));
    CHECK(h.store.attempts() >= 6);
    const auto batches = h.store.batches();
    std::size_t events = 0;
    StoreLsn expected_first = 1;
    for (const StoreBatch& batch : batches) {
        CHECK(batch.first_lsn == expected_first);
        expected_first = batch.last_lsn + 1;
        events += batch.events.size();
    }
    CHECK(events == 4);
    const FlushStats stats = worker.stats();
    CHECK(stats.failures == 5);
    CHECK(stats.store_up);
    // The commit-latency histogram times the successful transactions only, not the failures.
    CHECK(worker.commit_seconds().snapshot().count() == stats.batches);
    CHECK(stats.batches == batches.size());
    {
        std::lock_guard lock(h.mutex);
        REQUIRE(h.warnings.size() == 1);  // one per warn_every, not one per attempt
        CHECK(h.warnings[0].find("store unavailable: scripted: database is locked") !=
              std::string::npos);
        REQUIRE(h.infos.size() == 1);
        CHECK(h.infos[0].find("store is back") != std::string::npos);
    }
    CHECK(worker.flush_and_stop(1s));
}

TEST_CASE("flush: a stop writes everything up to the frontier, or reports that it could not",
          "[store][flush]") {
    SECTION("the store works") {
        Harness h;
        h.options.batch_lsns = 1000;
        h.options.batch_timeout = std::chrono::hours(1);
        FlushWorker worker(h.store, h.pointers, h.options);
        worker.start();
        for (StoreLsn lsn = 1; lsn <= 7; ++lsn) {
            push(*h.pointers[0], lsn);
        }
        h.frontier = 7;
        CHECK(worker.flush_and_stop(1s));
        CHECK(worker.store_lsn() == 7);
    }
    SECTION("the store stays down") {
        Harness h;
        h.options.retry_initial = 1ms;
        h.options.retry_max = 2ms;
        h.store.fail_next(1'000'000);
        FlushWorker worker(h.store, h.pointers, h.options);
        worker.start();
        push(*h.pointers[0], 1);
        h.frontier = 1;
        const auto begin = std::chrono::steady_clock::now();
        CHECK_FALSE(worker.flush_and_stop(50ms));
        CHECK(std::chrono::steady_clock::now() - begin < 3s);
        CHECK(worker.store_lsn() == 0);
        CHECK(worker.stats().uncommitted == 1);
    }
}

TEST_CASE("flush: a damaged store file stops the worker at once and is reported once",
          "[store][flush][corruption]") {
    Harness h;
    h.options.batch_lsns = 1;
    h.options.retry_initial = 1ms;
    std::atomic<int> fatal_calls{0};
    std::string fatal;
    h.options.on_fatal = [&](const std::string& error) {
        fatal = error;
        ++fatal_calls;
    };
    h.store.corrupt();
    FlushWorker worker(h.store, h.pointers, h.options);
    worker.start();
    push(*h.pointers[0], 1);
    h.frontier = 1;
    REQUIRE(eventually([&] { return fatal_calls.load() == 1; }));
    std::this_thread::sleep_for(30ms);
    // No retry can repair a damaged file: one attempt, no warnings about an unavailable store.
    CHECK(h.store.attempts() == 1);
    CHECK(fatal_calls.load() == 1);
    CHECK_THAT(fatal, Catch::Contains("scripted.sqlite: database disk image is malformed"));
    CHECK_FALSE(worker.stats().store_up);
    {
        std::lock_guard lock(h.mutex);
        CHECK(h.warnings.empty());
    }
    // The stop does not wait for a store that cannot take the batch.
    const auto begin = std::chrono::steady_clock::now();
    CHECK_FALSE(worker.flush_and_stop(5s));
    CHECK(std::chrono::steady_clock::now() - begin < 1s);
    CHECK(h.store.attempts() == 1);
    CHECK(worker.store_lsn() == 0);
}

// Where acks wait for the store (or it is the only durable copy) a failed write under it is not
// retried: what reached the disk is unknown, and a retry that succeeds would claim it all.
TEST_CASE("flush: an I/O error is fatal where the store is a durability point",
          "[store][flush][fatal]") {
    Harness h;
    h.options.batch_lsns = 1;
    h.options.retry_initial = 1ms;
    h.options.io_errors_fatal = true;
    std::atomic<int> fatal_calls{0};
    std::string fatal;
    h.options.on_fatal = [&](const std::string& error) {
        fatal = error;
        ++fatal_calls;
    };
    h.store.fail_io_next(1, false);
    FlushWorker worker(h.store, h.pointers, h.options);
    worker.start();
    push(*h.pointers[0], 1);
    h.frontier = 1;
    REQUIRE(eventually([&] { return fatal_calls.load() == 1; }));
    CHECK_THAT(fatal, Catch::Contains("disk I/O error (write)"));
    // The store would take the batch now; the worker must not try.
    CHECK_FALSE(worker.flush_and_stop(5s));
    CHECK(h.store.attempts() == 1);
    CHECK(fatal_calls.load() == 1);
    CHECK(worker.store_lsn() == 0);
    CHECK(h.committed.load() == 0);
}

TEST_CASE(
    "flush: where the store is not a durability point an I/O error is retried, a failed "
    "sync never",
    "[store][flush][fatal]") {
    Harness h;
    h.options.batch_lsns = 1;
    h.options.retry_initial = 1ms;
    h.options.io_errors_fatal = false;
    std::atomic<int> fatal_calls{0};
    std::string fatal;
    h.options.on_fatal = [&](const std::string& error) {
        fatal = error;
        ++fatal_calls;
    };
    FlushWorker worker(h.store, h.pointers, h.options);
    SECTION("a failed write is retried until the store takes the batch") {
        h.store.fail_io_next(2, false);
        worker.start();
        push(*h.pointers[0], 1);
        h.frontier = 1;
        REQUIRE(eventually([&] { return h.committed.load() == 1; }));
        CHECK(h.store.attempts() == 3);
        CHECK(fatal_calls.load() == 0);
        CHECK(worker.flush_and_stop(5s));
    }
    SECTION("a failed fsync stops the worker after one attempt") {
        h.store.fail_io_next(1, true);
        worker.start();
        push(*h.pointers[0], 1);
        h.frontier = 1;
        REQUIRE(eventually([&] { return fatal_calls.load() == 1; }));
        CHECK_THAT(fatal, Catch::Contains("(fsync)"));
        CHECK_FALSE(worker.flush_and_stop(5s));
        CHECK(h.store.attempts() == 1);
        CHECK(worker.store_lsn() == 0);
    }
}

TEST_CASE("flush: events of several shards merge in LSN order", "[store][flush]") {
    Harness h(3);
    h.options.batch_lsns = 12;
    FlushWorker worker(h.store, h.pointers, h.options);
    for (StoreLsn lsn = 1; lsn <= 12; ++lsn) {
        const ShardId shard = static_cast<ShardId>((lsn * 7) % 3);
        push(*h.pointers[shard], lsn, shard);
        if (lsn % 4 == 0) {
            push(*h.pointers[shard], lsn, shard);  // a second event of the same command
        }
    }
    h.frontier = 12;
    worker.start();
    REQUIRE(eventually([&] { return h.committed.load() == 12; }));
    const auto batches = h.store.batches();
    REQUIRE(batches.size() == 1);
    REQUIRE(batches[0].events.size() == 15);
    for (std::size_t i = 1; i < batches[0].events.size(); ++i) {
        CHECK(batches[0].events[i - 1].lsn <= batches[0].events[i].lsn);
    }
    CHECK(worker.flush_and_stop(1s));
}

TEST_CASE("flush: the frontier holds back a command still in flight", "[store][flush]") {
    Harness h(1, 8);
    h.options.batch_lsns = 1;
    h.options.batch_timeout = 1ms;
    FlushWorker worker(h.store, h.pointers, h.options);
    worker.start();
    push(*h.pointers[0], 1);
    // Command 2 produces 100 events, far more than the feed's 8 slots: it pushes them in pieces
    // while the frontier stays at 1, and the worker stages what it takes so the rest finds room.
    std::vector<StoreEvent> giant;
    for (std::uint64_t i = 0; i < 100; ++i) {
        giant.push_back(event_at(2, 0, i));
    }
    h.frontier = 1;
    std::span<const StoreEvent> rest(giant);
    while (!rest.empty()) {
        const std::size_t room = std::min(rest.size(), h.pointers[0]->free_space());
        if (room > 0 && h.pointers[0]->try_push(rest.first(room))) {
            rest = rest.subspan(room);
        } else {
            std::this_thread::sleep_for(100us);
        }
    }
    REQUIRE(eventually([&] { return h.committed.load() == 1; }));
    h.frontier = 2;
    REQUIRE(eventually([&] { return h.committed.load() == 2; }));
    const auto batches = h.store.batches();
    REQUIRE(batches.back().last_lsn == 2);
    REQUIRE(batches.back().events.size() == 100);
    for (std::uint64_t i = 0; i < 100; ++i) {
        CHECK(batches.back().events[i].event.order_id == i);
    }
    CHECK(worker.flush_and_stop(1s));
}

TEST_CASE("flush: a WAL tail start-up left behind is caught up first, then the feeds' batches",
          "[store][flush]") {
    Harness h;
    h.options.batch_lsns = 1;
    h.options.max_batch_lsns = 4;  // start-up's catch-up is one call all the same
    std::mutex calls_mutex;
    std::vector<StoreLsn> calls;
    h.options.catch_up = [&](StoreLsn up_to) {
        {
            std::lock_guard lock(calls_mutex);
            calls.push_back(up_to);
        }
        StoreBatch batch;
        batch.first_lsn = h.store.store_lsn() + 1;
        batch.last_lsn = up_to;
        for (StoreLsn lsn = batch.first_lsn; lsn <= up_to; ++lsn) {
            batch.events.push_back(event_at(lsn));
        }
        h.store.apply(batch);
    };
    h.options.next_lsn = [] { return StoreLsn{11}; };
    h.options.resume_from = 11;  // the books were rebuilt up to LSN 10, the store is at 0
    h.frontier = 10;
    FlushWorker worker(h.store, h.pointers, h.options);
    CHECK(worker.stats().catching_up);
    // Commands matched after the start arrive while the tail is still being written.
    push(*h.pointers[0], 11);
    push(*h.pointers[0], 12);
    h.frontier = 12;
    worker.start();
    REQUIRE(eventually([&] { return worker.store_lsn() == 12; }));
    CHECK(worker.flush_and_stop(1s));
    {
        std::lock_guard lock(calls_mutex);
        CHECK(calls == std::vector<StoreLsn>{10});
    }
    const std::vector<StoreBatch> batches = h.store.batches();
    REQUIRE(batches.size() >= 2);
    CHECK(batches[0].first_lsn == 1);
    CHECK(batches[0].last_lsn == 10);
    CHECK(batches[0].events.size() == 10);
    StoreLsn next = 11;
    for (std::size_t i = 1; i < batches.size(); ++i) {
        CHECK(batches[i].first_lsn == next);
        for (const StoreEvent& e : batches[i].events) {
            CHECK(e.lsn == next++);
        }
    }
    CHECK(next == 13);
    CHECK_FALSE(worker.stats().catching_up);
    std::lock_guard lock(h.mutex);
    REQUIRE(!h.infos.empty());
    CHECK(h.infos.front().find("writing the WAL tail up to LSN 10") != std::string::npos);
}

TEST_CASE("flush: an overflow's catch-up goes in one call unless a reply waits for the store",
          "[store][flush]") {
    Harness h;
    h.options.batch_lsns = 1;
    h.options.max_batch_lsns = 4;
    std::mutex calls_mutex;
    std::vector<StoreLsn> calls;
    h.options.catch_up = [&](StoreLsn up_to) {
        {
            std::lock_guard lock(calls_mutex);
            calls.push_back(up_to);
        }
        StoreBatch batch;
        batch.first_lsn = h.store.store_lsn() + 1;
        batch.last_lsn = up_to;
        for (StoreLsn lsn = batch.first_lsn; lsn <= up_to; ++lsn) {
            batch.events.push_back(event_at(lsn));
        }
        h.store.apply(batch);
    };
    h.options.next_lsn = [] { return StoreLsn{21}; };
    std::vector<StoreLsn> expected;
    SECTION("nothing waits for the store: one call, each call reading the log again") {
        expected = {20};
    }
    SECTION("a reply waits for the store: steps of max_batch_lsns, each releasing replies") {
        h.options.awaited = [] { return StoreLsn{20}; };
        expected = {4, 8, 12, 16, 20};
    }
    h.frontier = 20;
    h.pointers[0]->set_dropping(true);  // the feed lost events 1..20: the WAL has them
    FlushWorker worker(h.store, h.pointers, h.options);
    worker.start();
    REQUIRE(eventually([&] { return worker.store_lsn() == 20; }));
    CHECK(worker.flush_and_stop(1s));
    std::lock_guard lock(calls_mutex);
    CHECK(calls == expected);
    CHECK(worker.stats().catch_ups == 1);
}

TEST_CASE("flush: start-up's catch-up that fails midway is retried from where the store is",
          "[store][flush]") {
    Harness h;
    h.options.batch_lsns = 1;
    h.options.retry_initial = 1ms;
    h.options.retry_max = 2ms;
    std::atomic<int> calls{0};
    h.options.catch_up = [&](StoreLsn up_to) {
        // The first call commits LSNs 1..4 in a transaction of its own, then the store fails.
        const int call = ++calls;
        StoreBatch batch;
        batch.first_lsn = h.store.store_lsn() + 1;
        batch.last_lsn = call == 1 ? 4 : up_to;
        for (StoreLsn lsn = batch.first_lsn; lsn <= batch.last_lsn; ++lsn) {
            batch.events.push_back(event_at(lsn));
        }
        h.store.apply(batch);
        if (call == 1) {
            throw StoreError("scripted: database is locked");
        }
    };
    h.options.next_lsn = [] { return StoreLsn{11}; };
    h.options.resume_from = 11;
    h.frontier = 10;
    FlushWorker worker(h.store, h.pointers, h.options);
    worker.start();
    REQUIRE(eventually([&] { return worker.store_lsn() == 10; }));
    CHECK(worker.flush_and_stop(1s));
    CHECK(calls == 2);
    const std::vector<StoreBatch> batches = h.store.batches();
    REQUIRE(batches.size() == 2);
    CHECK(batches[0].last_lsn == 4);
    CHECK(batches[1].first_lsn == 5);  // the retry went on from the store's LSN
    CHECK(batches[1].last_lsn == 10);
    CHECK(worker.stats().failures >= 1);
}

TEST_CASE("flush: a store behind the feeds without a WAL to fill the gap is refused",
          "[store][flush]") {
    Harness h;
    h.options.resume_from = 5;
    CHECK_THROWS_WITH(FlushWorker(h.store, h.pointers, h.options),
                      Catch::Contains("no WAL to fill the gap"));
    h.options.resume_from = 1;  // the feeds continue the store: nothing to fill
    CHECK_NOTHROW(FlushWorker(h.store, h.pointers, h.options));
}
