// A follower's hot standby (repl/standby_applier.hpp) on real WAL files and a SQLite store: the
// leader's records, appended as the receiver appends them, end up applied (state hashes checked
// at every checkpoint record) and in the follower's store exactly as a full recovery of the
// leader's log writes them; records the ring left out are read back from the WAL files; a
// follower restarted mid-stream resumes from its store plus WAL; and a dropped command (the
// planted standby_apply_skip fault) stops it at the next checkpoint, naming LSN, shard and hashes.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/test_fault.hpp"
#include "engine/command_record.hpp"
#include "engine/recovery.hpp"
#include "engine/store_recovery.hpp"
#include "logged_records.hpp"
#include "repl/standby_applier.hpp"
#include "replay_fixture.hpp"
#include "store/sqlite_store.hpp"
#include "temp_file.hpp"
#include "wal/sim_storage.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"

using namespace exchanged;
using namespace exchanged::engine::test;
using Catch::Matchers::Contains;
using exchanged::test::Logged;
using wal::Lsn;

namespace {

constexpr std::uint64_t kSeed = 7;
constexpr std::uint32_t kShards = 2;
constexpr std::uint64_t kCheckpointEvery = 97;

using OrderRow = std::tuple<std::uint32_t, OrderId, AccountId, InstrumentId, ClientOrderId, int,
                            Price, Quantity, Quantity, Quantity, int, std::uint64_t, std::uint64_t>;
using TradeRow = std::tuple<std::uint32_t, TradeId, InstrumentId, Price, Quantity, OrderId, OrderId,
                            std::uint64_t, SequenceNumber, TimestampNs>;

struct StoreRows {
    std::vector<OrderRow> orders;
    std::vector<TradeRow> trades;
    bool operator==(const StoreRows&) const = default;
};

StoreRows rows_of(store::Store& store) {
    StoreRows rows;
    store.read_orders([&](const store::StoredOrder& o) {
        rows.orders.emplace_back(o.shard, o.order_id, o.account, o.instrument, o.client_order_id,
                                 static_cast<int>(o.side), o.price, o.quantity, o.leaves,
                                 o.executed, static_cast<int>(o.state), o.accepted_lsn,
                                 o.finished_lsn);
    });
    store.read_trades([&](const store::StoredTrade& t) {
        rows.trades.emplace_back(t.shard, t.trade_id, t.instrument, t.price, t.quantity,
                                 t.taker_order_id, t.maker_order_id, t.lsn, t.seq, t.timestamp_ns);
    });
    return rows;
}

// The leader: a random stream through the shards into a simulated log, with checkpoints.
struct LeaderLog {
    wal::SimStorage sim{kSeed};
    engine::ShardLayout layout = stream_layout(book::testing::make_stream_config(kSeed), kShards);
    std::vector<Logged> records;

    LeaderLog() {
        {
            wal::WalWriter writer(sim, small_wal());
            ShardDriver driver(layout, writer, kCheckpointEvery, kSeed);
            REQUIRE(driver.run(3'000));
            writer.close();
        }
        records = exchanged::test::read_log(sim);
    }

    // What a full recovery of the leader's log writes into a store.
    StoreRows reference_rows() {
        exchanged::test::TempDir dir;
        store::SqliteStore reference(dir.path() / "reference.sqlite");
        reference.migrate();
        REQUIRE(engine::recover_from_store(reference, sim, layout, {}).replay.ok());
        StoreRows rows = rows_of(reference);
        REQUIRE_FALSE(rows.orders.empty());
        REQUIRE_FALSE(rows.trades.empty());
        return rows;
    }

    // The LSN of the first checkpoint record after `lsn`.
    Lsn first_checkpoint_after(Lsn lsn) const {
        for (const Logged& record : records) {
            if (record.lsn > lsn && record.type == engine::kCheckpointRecordType) {
                return record.lsn;
            }
        }
        return 0;
    }
};

// A follower's WAL, store and standby, opened as exchanged's FollowerNode opens them: the books
// from the store plus the WAL tail, then the applier from there.
class Follower {
  public:
    Follower(const std::filesystem::path& dir, const engine::ShardLayout& layout)
        : wal_dir_(dir / "wal"), layout_(layout), store_(dir / "store.sqlite") {
        store_.migrate();
        engine::RecoveryOptions recovery;
        recovery.map_segments = true;
        engine::StoreRecoveryResult recovered =
            engine::rebuild_from_store(store_, wal_dir_, layout_, recovery);
        INFO(recovered.replay.error);
        REQUIRE(recovered.replay.ok());
        std::filesystem::create_directories(wal_dir_);
        storage_ = std::make_unique<wal::UringStorage>(wal_dir_.string());
        wal::WalOptions options = small_wal();
        options.on_durable = [this](Lsn lsn) {
            if (applier_) {
                applier_->durable(lsn);
            }
        };
        writer_ = std::make_unique<wal::WalWriter>(*storage_, options);
        REQUIRE(writer_->next_lsn() == recovered.replay.next_lsn);
        engine::ReplayStart start;
        start.after_lsn = recovered.replay.next_lsn - 1;
        start.matchers = std::move(recovered.replay.matchers);
        for (const engine::ShardReplay& shard : recovered.replay.shards) {
            start.next_seq.push_back(shard.next_seq);
        }
        repl::StandbyApplierOptions applier_options;
        applier_options.wal_dir = wal_dir_;
        applier_options.ring_records = 256;  // small: the load overruns it, reads back
        applier_options.feed_events = 512;   // small: applying waits for the store
        applier_options.flush.batch_lsns = 100;
        applier_options.flush.batch_timeout = std::chrono::milliseconds(5);
        repl::StandbyApplierHooks hooks;
        hooks.failed = [this](const std::string& error) {
            std::lock_guard lock(mutex_);
            failure_ = error;
        };
        hooks.stored = [writer = writer_.get()](store::StoreLsn lsn) {
            writer->release_below(lsn + 1);
        };
        applier_ = std::make_unique<repl::StandbyApplier>(
            layout_, std::move(start), store_, std::move(applier_options), std::move(hooks));
        applier_->start();
    }

    ~Follower() { stop(); }

    // As the receiver: the WAL takes the record, then the ring is offered it (unless `to_ring`
    // is false: as if the ring had been full).
    void append(const Logged& record, bool to_ring = true) {
        for (;;) {
            const wal::ReplicatedAppendResult result =
                writer_->append_replicated(record.lsn, record.type, record.payload);
            REQUIRE_FALSE(result.not_next);
            if (result.status == wal::AppendStatus::Ok) {
                break;
            }
            REQUIRE(result.status == wal::AppendStatus::Busy);
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
        if (to_ring && applier_) {
            applier_->appended(record.lsn, record.type, record.payload);
        }
    }

    // Until the applier reached `lsn` or failed (a generous guard against a hang, not a bound).
    bool wait_applied(Lsn lsn) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (applier_->applied_lsn() < lsn && !applier_->failed()) {
            if (std::chrono::steady_clock::now() > give_up) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return applier_->applied_lsn() >= lsn;
    }

    void stop_applier() {
        if (applier_) {
            CHECK(applier_->stop(std::chrono::seconds(30)));
        }
    }

    void stop() {
        stop_applier();
        if (writer_) {
            writer_->close();
        }
    }

    repl::StandbyApplier& applier() { return *applier_; }
    store::SqliteStore& store() { return store_; }
    std::string failure() {
        std::lock_guard lock(mutex_);
        return failure_;
    }

  private:
    const std::filesystem::path wal_dir_;
    const engine::ShardLayout& layout_;
    store::SqliteStore store_;
    std::unique_ptr<wal::UringStorage> storage_;
    std::unique_ptr<wal::WalWriter> writer_;
    std::unique_ptr<repl::StandbyApplier> applier_;
    std::mutex mutex_;
    std::string failure_;
};

}  // namespace

TEST_CASE("a standby applies the leader's records into matchers and store, as recovery does",
          "[repl][standby]") {
    LeaderLog leader;
    const Lsn last = leader.records.back().lsn;
    REQUIRE(leader.first_checkpoint_after(0) != 0);
    exchanged::test::TempDir dir;
    Follower follower(dir.path(), leader.layout);
    for (const Logged& record : leader.records) {
        // A stretch the ring never saw (as when it was full): read back from the WAL files.
        follower.append(record, record.lsn < 1000 || record.lsn > 1400);
    }
    REQUIRE(follower.wait_applied(last));
    INFO(follower.failure());
    const repl::StandbyStats stats = follower.applier().stats();
    CHECK(stats.applied_lsn == last);
    CHECK(stats.records_read_back >= 401);
    CHECK(stats.checkpoints_verified > 0);
    follower.stop_applier();
    CHECK_FALSE(follower.applier().failed());
    CHECK(follower.store().store_lsn() == last);
    CHECK(rows_of(follower.store()) == leader.reference_rows());
}

TEST_CASE("a standby restarted mid-stream resumes from its store plus WAL tail",
          "[repl][standby]") {
    LeaderLog leader;
    const Lsn last = leader.records.back().lsn;
    const Lsn first_stop = last / 3;
    const Lsn second_stop = 2 * last / 3;
    exchanged::test::TempDir dir;
    {
        Follower follower(dir.path(), leader.layout);
        for (const Logged& record : leader.records) {
            if (record.lsn <= first_stop) {
                follower.append(record);
            }
        }
        REQUIRE(follower.wait_applied(first_stop));
        follower.stop_applier();
        CHECK(follower.store().store_lsn() == first_stop);
        // Records that reach the WAL while the standby is down: the tail the next start
        // replays into the matchers and the flush worker writes into the store.
        for (const Logged& record : leader.records) {
            if (record.lsn > first_stop && record.lsn <= second_stop) {
                follower.append(record, false);
            }
        }
    }
    Follower restarted(dir.path(), leader.layout);
    CHECK(restarted.applier().applied_lsn() == second_stop);
    for (const Logged& record : leader.records) {
        if (record.lsn > second_stop) {
            restarted.append(record);
        }
    }
    REQUIRE(restarted.wait_applied(last));
    INFO(restarted.failure());
    restarted.stop_applier();
    CHECK_FALSE(restarted.applier().failed());
    CHECK(restarted.store().store_lsn() == last);
    CHECK(rows_of(restarted.store()) == leader.reference_rows());
}

TEST_CASE("a standby that dropped a command stops at the next checkpoint, naming it",
          "[repl][standby][mutation]") {
    LeaderLog leader;
    const Lsn last = leader.records.back().lsn;
    exchanged::test::TempDir dir;
    test_fault::ScopedFault fault(test_fault::Fault::StandbyApplySkip);
    Follower follower(dir.path(), leader.layout);
    for (const Logged& record : leader.records) {
        follower.append(record);
    }
    CHECK_FALSE(follower.wait_applied(last));
    REQUIRE(follower.applier().failed());
    const std::string failure = follower.failure();
    INFO(failure);
    CHECK(failure == follower.applier().failure());
    CHECK_THAT(failure, Contains("checkpoint mismatch at WAL record LSN "));
    CHECK_THAT(failure, Contains(", shard "));
    CHECK_THAT(failure, Contains("with state hash 0x"));
    // It stopped just before the checkpoint that disagreed: the one named.
    const Lsn stopped = follower.applier().applied_lsn();
    CHECK(stopped < last);
    CHECK_THAT(failure,
               Contains("checkpoint mismatch at WAL record LSN " + std::to_string(stopped + 1)));
}

TEST_CASE("a standby whose WAL goes back below what it applied stops, naming both LSNs",
          "[repl][standby]") {
    LeaderLog leader;
    exchanged::test::TempDir dir;
    Follower follower(dir.path(), leader.layout);
    for (const Logged& record : leader.records) {
        if (record.lsn <= 300) {
            follower.append(record);
        }
    }
    REQUIRE(follower.wait_applied(300));
    CHECK_FALSE(follower.applier().failed());
    follower.applier().durable(250);  // as a truncation to LSN 250 would report
    REQUIRE(follower.applier().failed());
    CHECK_THAT(follower.failure(), Contains("went back to 250, below the applied LSN 300"));
}

TEST_CASE("RecordReplayer, fed one record at a time, ends where a replay of the log ends",
          "[repl][standby][engine]") {
    LeaderLog leader;
    const engine::RecoveryResult full = engine::recover(leader.sim, leader.layout, {});
    REQUIRE(full.ok());
    std::size_t events = 0;
    engine::RecordReplayer replayer(
        leader.layout, engine::ReplayStart{},
        [&](Lsn, engine::ShardId, std::uint8_t, std::span<const book::Event> batch) {
            events += batch.size();
        });
    for (const Logged& record : leader.records) {
        replayer.apply(wal::RecordView{record.lsn, record.type, record.payload, nullptr, 0});
    }
    const engine::RecoveryResult& result = replayer.result();
    INFO(result.error);
    REQUIRE(result.ok());
    CHECK(result.last_lsn == full.last_lsn);
    CHECK(result.next_lsn == full.next_lsn);
    CHECK(result.commands == full.commands);
    CHECK(result.checkpoints_verified == full.checkpoints_verified);
    CHECK(result.checkpoints_verified > 0);
    CHECK(events > 0);
    require_same_matchers(result.matchers, full.matchers);

    // A record that does not continue the ones applied is refused, naming its LSN.
    engine::RecordReplayer gapped(leader.layout, engine::ReplayStart{}, nullptr);
    gapped.apply(wal::RecordView{leader.records[0].lsn, leader.records[0].type,
                                 leader.records[0].payload, nullptr, 0});
    gapped.apply(wal::RecordView{leader.records[2].lsn, leader.records[2].type,
                                 leader.records[2].payload, nullptr, 0});
    CHECK(gapped.result().status == engine::RecoveryStatus::BadRecord);
    CHECK_THAT(gapped.result().error, Contains("LSN 3"));
    CHECK(gapped.result().last_lsn == 1);
}
