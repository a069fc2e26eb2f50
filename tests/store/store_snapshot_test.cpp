// Store snapshots for online backups: SqliteStore::snapshot_into copies the store at one
// store_lsn, and the flush worker takes a requested snapshot between two batches, one at a time,
// without the requester waiting on it.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/batch_plan.hpp"
#include "store/event_feed.hpp"
#include "store/flush_worker.hpp"
#include "store/sqlite_store.hpp"
#include "temp_file.hpp"

using namespace exchanged;
using namespace exchanged::store;
using namespace std::chrono_literals;

namespace {

// Counts applies; its snapshot records the LSN it was taken at and whether a batch was being
// applied meanwhile, and can be held until release() so that a test can ask again while it runs.
class SnapshotStore final : public Store {
  public:
    void migrate() override {}
    StoreLsn store_lsn() override { return lsn_.load(); }
    void apply(const StoreBatch& batch) override {
        applying_ = true;
        if (snapshotting_) {
            overlapped_ = true;
        }
        const BatchPlan plan = plan_batch(batch, lsn_.load());
        if (!plan.skip) {
            lsn_ = batch.last_lsn;
        }
        applying_ = false;
    }
    StoreState load(std::uint32_t, std::uint32_t) override { return {}; }
    void read_orders(const std::function<void(const StoredOrder&)>&) override {}
    void read_trades(const std::function<void(const StoredTrade&)>&) override {}
    void fold() override {}
    std::string describe() const override { return "snapshot-store"; }

    StoreLsn snapshot_into(const std::filesystem::path& target) override {
        snapshotting_ = true;
        if (applying_) {
            overlapped_ = true;
        }
        {
            std::unique_lock lock(mutex_);
            entered_ = true;
            cv_.notify_all();
            cv_.wait(lock, [this] { return !hold_; });
        }
        if (fail_) {
            snapshotting_ = false;
            if (fail_sync_) {
                throw StoreIoError(target.string() + ": disk I/O error (fsync)", true);
            }
            throw StoreError(target.string() + ": scripted failure");
        }
        const StoreLsn lsn = lsn_.load();
        snapshotting_ = false;
        return lsn;
    }

    void hold() { hold_ = true; }
    void release() {
        std::lock_guard lock(mutex_);
        hold_ = false;
        cv_.notify_all();
    }
    bool wait_entered() {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, 5s, [this] { return entered_; });
    }
    void fail_snapshots(bool sync = false) {
        fail_sync_ = sync;
        fail_ = true;
    }
    bool overlapped() const { return overlapped_; }

  private:
    std::atomic<StoreLsn> lsn_{0};
    std::atomic<bool> applying_{false};
    std::atomic<bool> snapshotting_{false};
    std::atomic<bool> overlapped_{false};
    std::atomic<bool> fail_{false};
    std::atomic<bool> fail_sync_{false};
    std::mutex mutex_;
    std::condition_variable cv_;
    bool hold_ = false;
    bool entered_ = false;
};

void push(EventFeed& feed, StoreLsn lsn) {
    StoreEvent e;
    e.lsn = lsn;
    e.event.seq = lsn;
    REQUIRE(feed.try_push(std::span<const StoreEvent>(&e, 1)));
}

// The result handed to `done`, once it has come.
struct Answer {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<SnapshotResult> result;

    std::function<void(const SnapshotResult&)> callback() {
        return [this](const SnapshotResult& r) {
            std::lock_guard lock(mutex);
            result = r;
            cv.notify_all();
        };
    }
    std::optional<SnapshotResult> wait() {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, 5s, [this] { return result.has_value(); });
        return result;
    }
};

}  // namespace

TEST_CASE("snapshot: SQLite's copy holds exactly the store at its store_lsn", "[store][backup]") {
    test::TempDir dir;
    SqliteStore store(dir.path() / "live.sqlite");
    store.migrate();
    store.apply(StoreBatch{1, 5, {}});
    const std::filesystem::path copy = dir.path() / "copy.sqlite";
    CHECK(store.snapshot_into(copy) == 5);
    store.apply(StoreBatch{6, 9, {}});  // the live store moves on; the copy does not
    SqliteStore reopened(copy);
    reopened.migrate();
    CHECK(reopened.store_lsn() == 5);
    // An existing file is refused (a backup never overwrites), naming it.
    try {
        store.snapshot_into(copy);
        FAIL("an existing target was overwritten");
    } catch (const StoreError& error) {
        CHECK(std::string(error.what()).find(copy.string() + ": the file already exists") !=
              std::string::npos);
    }
}

TEST_CASE("snapshot: the flush worker copies between batches, one request at a time",
          "[store][backup]") {
    SnapshotStore store;
    EventFeed feed(1024);
    std::atomic<StoreLsn> frontier{0};
    FlushOptions options;
    options.batch_lsns = 1;
    options.frontier = [&] { return frontier.load(); };
    FlushWorker worker(store, {&feed}, options);
    worker.start();
    for (StoreLsn lsn = 1; lsn <= 3; ++lsn) {
        push(feed, lsn);
    }
    frontier = 3;

    store.hold();
    Answer first;
    REQUIRE(worker.request_snapshot("/nowhere/first", first.callback()) ==
            SnapshotRequest::Accepted);
    REQUIRE(store.wait_entered());
    // While the worker copies, a second request is refused at once (the admin endpoint's 409)
    // and more records arrive; none is applied until the copy is done.
    Answer second;
    CHECK(worker.request_snapshot("/nowhere/second", second.callback()) == SnapshotRequest::Busy);
    push(feed, 4);
    frontier = 4;
    store.release();
    const std::optional<SnapshotResult> got = first.wait();
    REQUIRE(got);
    CHECK(got->ok);
    CHECK(got->path == "/nowhere/first");
    CHECK(got->store_lsn <= 3);
    // Once answered, the next request is taken again.
    Answer third;
    REQUIRE(worker.request_snapshot("/nowhere/third", third.callback()) ==
            SnapshotRequest::Accepted);
    REQUIRE(third.wait());
    CHECK(third.result->ok);
    CHECK(worker.flush_and_stop(1s));
    CHECK(store.store_lsn() == 4);
    CHECK_FALSE(store.overlapped());
    CHECK_FALSE(second.result.has_value());  // a refused request is never called back
    // A stopped worker refuses.
    Answer late;
    CHECK(worker.request_snapshot("/nowhere/late", late.callback()) == SnapshotRequest::Stopped);
}

TEST_CASE("snapshot: a failed copy is answered with the error, and the worker goes on",
          "[store][backup]") {
    SnapshotStore store;
    store.fail_snapshots();
    EventFeed feed(1024);
    std::atomic<StoreLsn> frontier{0};
    FlushOptions options;
    options.batch_lsns = 1;
    options.frontier = [&] { return frontier.load(); };
    FlushWorker worker(store, {&feed}, options);
    worker.start();
    Answer answer;
    REQUIRE(worker.request_snapshot("/nowhere/x", answer.callback()) == SnapshotRequest::Accepted);
    const std::optional<SnapshotResult> got = answer.wait();
    REQUIRE(got);
    CHECK_FALSE(got->ok);
    CHECK(got->error == "/nowhere/x: scripted failure");
    push(feed, 1);
    frontier = 1;
    CHECK(worker.flush_and_stop(1s));
    CHECK(store.store_lsn() == 1);
}

TEST_CASE("snapshot: a failed fsync while copying is fatal, as for a batch", "[store][backup]") {
    SnapshotStore store;
    store.fail_snapshots(true);
    EventFeed feed(1024);
    std::atomic<StoreLsn> frontier{0};
    std::atomic<int> fatal{0};
    FlushOptions options;
    options.batch_lsns = 1;
    options.frontier = [&] { return frontier.load(); };
    options.on_fatal = [&](const std::string&) { ++fatal; };
    FlushWorker worker(store, {&feed}, options);
    worker.start();
    Answer answer;
    REQUIRE(worker.request_snapshot("/nowhere/x", answer.callback()) == SnapshotRequest::Accepted);
    const std::optional<SnapshotResult> got = answer.wait();
    REQUIRE(got);
    CHECK_FALSE(got->ok);
    CHECK(got->error == "/nowhere/x: disk I/O error (fsync)");
    CHECK(fatal == 1);
    // The worker writes nothing more.
    push(feed, 1);
    frontier = 1;
    CHECK_FALSE(worker.flush_and_stop(100ms));
    CHECK(store.store_lsn() == 0);
}
