// A follower's hot standby (repl/standby_applier.hpp) on real WAL files and a SQLite store: the
// leader's records, appended as the receiver appends them, end up applied (state hashes checked
// at every checkpoint record) and in the follower's store exactly as a full recovery of the
// leader's log writes them; records the ring left out are read back from the WAL files; a
// follower restarted mid-stream resumes from its store plus WAL; and a dropped command (the
// planted standby_apply_skip fault) stops it at the next checkpoint, naming LSN, shard and hashes.
// A stopped standby hands its books over (a promotion, docs/failover.md) equal to a recovery of the
// log at its LSN; continued through the WAL above them they equal a full recovery; and books it got
// wrong (standby_apply_skip again) fail the new term's checkpoints on a follower.
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
#include "repl/standby_start.hpp"
#include "replay_fixture.hpp"
#include "store/sqlite_store.hpp"
#include "temp_file.hpp"
#include "wal/log_truncate.hpp"
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
        engine::ReplayStart start = repl::standby_start(store_, wal_dir_, layout_);
        std::filesystem::create_directories(wal_dir_);
        storage_ = std::make_unique<wal::UringStorage>(wal_dir_.string());
        options_ = small_wal();
        options_.on_durable = [this](Lsn lsn) {
            if (applier_) {
                applier_->durable(lsn);
            }
        };
        writer_ = std::make_unique<wal::WalWriter>(*storage_, options_);
        REQUIRE(writer_->next_lsn() > start.after_lsn);
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
        applier_->durable(writer_->durable_lsn());
        applier_->start();
    }

    ~Follower() { stop(); }

    // As the receiver: the WAL takes the record, then the ring is offered it (unless `to_ring`
    // is false: as if the ring had been full), then (unless `commit` is false) the leader's
    // commit LSN reaches it.
    void append(const Logged& record, bool to_ring = true, bool commit = true) {
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
        if (commit && applier_) {
            applier_->committed(record.lsn);
        }
    }
    // As FollowerNode::cut_log (the leader's Truncate): the WAL closed, cut to end at `keep`,
    // reopened, and the applier told. False when the standby had applied above the cut (the
    // follower would stop).
    bool cut(Lsn keep) {
        const Lsn applied = applier_->applied_lsn();
        writer_->close();
        retired_.push_back(std::move(writer_));
        retired_storage_.push_back(std::move(storage_));
        storage_ = std::make_unique<wal::UringStorage>(wal_dir_.string());
        try {
            wal::truncate_log_after(*storage_, keep);
        } catch (const std::exception& e) {
            // The store took the tail and the WAL let its segments go: FollowerNode stops too.
            UNSCOPED_INFO(e.what());
            return false;
        }
        writer_ = std::make_unique<wal::WalWriter>(*storage_, options_);
        REQUIRE(writer_->next_lsn() == keep + 1);
        if (applied > keep) {
            return false;
        }
        applier_->truncated(keep);
        return !applier_->failed();
    }
    // As a Commit frame the receiver heard.
    void commit(Lsn lsn) { applier_->committed(lsn); }

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
    const std::filesystem::path& wal_dir() const { return wal_dir_; }
    store::SqliteStore& store() { return store_; }
    std::string failure() {
        std::lock_guard lock(mutex_);
        return failure_;
    }

  private:
    const std::filesystem::path wal_dir_;
    const engine::ShardLayout& layout_;
    store::SqliteStore store_;
    wal::WalOptions options_;
    std::unique_ptr<wal::UringStorage> storage_;
    std::unique_ptr<wal::WalWriter> writer_;
    // Closed by a cut, kept to the end (as FollowerNode keeps them).
    std::vector<std::unique_ptr<wal::WalWriter>> retired_;
    std::vector<std::unique_ptr<wal::UringStorage>> retired_storage_;
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
    // It starts from its store alone: the WAL tail above it waits for the leader's commit LSN.
    CHECK(restarted.applier().applied_lsn() == first_stop);
    restarted.commit(second_stop);
    REQUIRE(restarted.wait_applied(second_stop));
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

TEST_CASE("a standby applies and stores only what the leader reports committed",
          "[repl][standby]") {
    LeaderLog leader;
    const Lsn last = leader.records.back().lsn;
    REQUIRE(last > 600);
    exchanged::test::TempDir dir;
    const bool gate_removed = GENERATE(false, true);
    std::optional<test_fault::ScopedFault> fault;
    if (gate_removed) {
        fault.emplace(test_fault::Fault::StandbyApplyUncommitted);
    }
    Follower follower(dir.path(), leader.layout);
    for (const Logged& record : leader.records) {
        if (record.lsn <= 600) {
            follower.append(record, true, false);  // durable here, committed nowhere yet
        }
    }
    follower.commit(300);
    REQUIRE(follower.wait_applied(300));
    if (gate_removed) {
        // The planted fault: it applies what a divergence repair may still cut.
        REQUIRE(follower.wait_applied(600));
        follower.stop_applier();
        CHECK(follower.store().store_lsn() == 600);
        return;
    }
    // Durable up to 600, committed up to 300: whatever time passes, it stays at 300.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(follower.applier().applied_lsn() == 300);
    CHECK(follower.applier().stats().commit_lsn == 300);
    CHECK(follower.applier().stats().durable_lsn == 600);
    follower.commit(200);  // an older frontier heard late changes nothing
    CHECK(follower.applier().commit_lsn() == 300);
    follower.commit(450);
    REQUIRE(follower.wait_applied(450));
    follower.stop_applier();
    CHECK_FALSE(follower.applier().failed());
    CHECK(follower.applier().applied_lsn() == 450);
    CHECK(follower.store().store_lsn() == 450);
}

TEST_CASE("a tail no quorum held is cut under a standby without stopping it",
          "[repl][standby][epoch]") {
    // The follower holds LSN 1..kTail, the leader reported 1..kKeep committed; a new leader's
    // Truncate cuts kKeep+1..kTail and then streams its own records from kKeep+1 on.
    LeaderLog leader;
    const Lsn last = leader.records.back().lsn;
    constexpr Lsn kKeep = 400;
    constexpr Lsn kTail = 700;
    REQUIRE(last > kTail);
    exchanged::test::TempDir dir;
    const bool gate_removed = GENERATE(false, true);
    std::optional<test_fault::ScopedFault> fault;
    if (gate_removed) {
        fault.emplace(test_fault::Fault::StandbyApplyUncommitted);
    }
    Follower follower(dir.path(), leader.layout);
    for (const Logged& record : leader.records) {
        if (record.lsn <= kKeep) {
            follower.append(record);
        }
    }
    REQUIRE(follower.wait_applied(kKeep));
    for (const Logged& record : leader.records) {
        if (record.lsn > kKeep && record.lsn <= kTail) {
            // The old term's tail: not the new leader's records (each LSN carries the next
            // one's command, whose seq does not follow), durable here, never committed.
            const Logged& next = leader.records.at(record.lsn);
            REQUIRE(next.lsn == record.lsn + 1);
            // The ring (256) was drained up to kKeep: it holds the tail's first records, which
            // must not be applied once the new leader's take their LSNs.
            follower.append(Logged{record.lsn, next.type, next.payload}, true, false);
        }
    }
    if (gate_removed) {
        // The planted fault: the standby takes the uncommitted tail, and the follower stops:
        // on the tail's first command (its seq does not follow) or at the cut below it.
        const bool took_tail = follower.wait_applied(kTail);
        const bool stopped = took_tail ? !follower.cut(kKeep) : follower.applier().failed();
        CHECK(stopped);
        return;
    }
    REQUIRE(follower.cut(kKeep));
    CHECK(follower.applier().applied_lsn() == kKeep);
    for (const Logged& record : leader.records) {
        if (record.lsn > kKeep) {
            follower.append(record);  // the new leader's records, committed as they come
        }
    }
    REQUIRE(follower.wait_applied(last));
    INFO(follower.failure());
    follower.stop_applier();
    CHECK_FALSE(follower.applier().failed());
    CHECK(follower.store().store_lsn() == last);
    CHECK(rows_of(follower.store()) == leader.reference_rows());
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

namespace {

// What a new leader appends after its term start record (app::term_checkpoints): each shard's
// last seq and state hash, as the records a follower checks against its own books.
std::vector<Logged> term_checkpoints(const engine::RecoveryResult& books, Lsn first_lsn) {
    std::vector<Logged> out;
    for (engine::ShardId shard = 0; shard < books.matchers.size(); ++shard) {
        engine::CheckpointRecordBytes bytes{};
        engine::encode_checkpoint(
            {shard, books.shards[shard].next_seq - 1, books.matchers[shard].state_hash()}, bytes);
        out.push_back(Logged{first_lsn + shard, engine::kCheckpointRecordType,
                             std::vector<std::byte>(bytes.begin(), bytes.end())});
    }
    return out;
}

// A follower of the new leader: the leader's log up to `last`, then `extra`, through the replay
// code.
engine::RecoveryResult follow(const LeaderLog& leader, Lsn last, const std::vector<Logged>& extra) {
    engine::RecordReplayer replayer(leader.layout, engine::ReplayStart{}, nullptr);
    for (const std::vector<Logged>* records : {&leader.records, &extra}) {
        for (const Logged& record : *records) {
            if (records == &extra || record.lsn <= last) {
                replayer.apply(
                    wal::RecordView{record.lsn, record.type, record.payload, nullptr, 0});
            }
        }
    }
    engine::RecoveryResult result = replayer.result();
    return result;
}

}  // namespace

TEST_CASE("a stopped standby hands over books equal to a recovery of the log at its LSN",
          "[repl][standby][handover]") {
    // The follower holds the whole log durably, the leader reported 1..committed committed: the
    // standby's books stop there, and the leader it becomes continues them through the rest.
    LeaderLog leader;
    const Lsn last = leader.records.back().lsn;
    const Lsn committed = last / 2;
    REQUIRE(committed > 300);
    exchanged::test::TempDir dir;
    Follower follower(dir.path(), leader.layout);
    for (const Logged& record : leader.records) {
        follower.append(record, true, record.lsn <= committed);
    }
    REQUIRE(follower.wait_applied(committed));
    follower.stop();  // the applier, then the WAL: as FollowerNode's stop before a promotion
    std::string why;
    std::optional<engine::ReplayStart> books = follower.applier().take_books(why);
    INFO(why);
    REQUIRE(books.has_value());
    CHECK(books->after_lsn == committed);
    CHECK(follower.store().store_lsn() == committed);

    engine::RecoveryOptions up_to;
    up_to.stop_after_lsn = committed;
    const engine::RecoveryResult at_lsn = engine::recover(leader.sim, leader.layout, up_to);
    REQUIRE(at_lsn.ok());
    REQUIRE(at_lsn.last_lsn == committed);
    require_same_matchers(books->matchers, at_lsn.matchers);
    for (engine::ShardId shard = 0; shard < kShards; ++shard) {
        CHECK(books->matchers[shard].state_hash() == at_lsn.matchers[shard].state_hash());
        CHECK(books->next_seq[shard] == at_lsn.shards[shard].next_seq);
    }
    // One owner at a time: the standby has no books left to hand.
    CHECK_FALSE(follower.applier().take_books(why).has_value());
    CHECK_THAT(why, Contains("handed over after LSN " + std::to_string(committed)));

    // The leader's start: the records above the books, up to where the WAL closed, through the
    // same replay code; their events wait in one batch for the store.
    engine::RecoveryOptions to_log_end;
    to_log_end.map_segments = true;
    to_log_end.skip_replayed_segments = true;
    to_log_end.stop_after_lsn = last;
    engine::HandedBooksResult continued =
        engine::continue_handed_books(follower.store().store_lsn(), follower.wal_dir(),
                                      leader.layout, to_log_end, std::move(*books));
    INFO(continued.replay.error);
    REQUIRE(continued.replay.ok());
    CHECK(continued.replay.records == last - committed);
    CHECK(continued.replay.next_lsn == last + 1);
    const engine::RecoveryResult full = engine::recover(leader.sim, leader.layout, {});
    REQUIRE(full.ok());
    require_same_matchers(continued.replay.matchers, full.matchers);
    REQUIRE(continued.tail.has_value());
    CHECK(continued.tail->first_lsn == committed + 1);
    CHECK(continued.tail->last_lsn == last);
    follower.store().apply(*continued.tail);
    CHECK(rows_of(follower.store()) == leader.reference_rows());

    // The new term's checkpoints of those books pass on a follower of the log.
    const engine::RecoveryResult checked =
        follow(leader, last, term_checkpoints(continued.replay, last + 1));
    INFO(checked.error);
    CHECK(checked.ok());
    CHECK(checked.checkpoints_verified == full.checkpoints_verified + kShards);
}

TEST_CASE("books a standby got wrong fail the new term's checkpoints on its followers",
          "[repl][standby][handover][mutation]") {
    // The planted standby_apply_skip: the standby drops its first command and hands the books
    // over before any checkpoint could show it (its log ends before the leader's first one).
    LeaderLog leader;
    const Lsn last = leader.first_checkpoint_after(0) - 1;
    const Lsn committed = last - 10;
    REQUIRE(committed > 10);
    exchanged::test::TempDir dir;
    std::optional<engine::ReplayStart> books;
    {
        test_fault::ScopedFault fault(test_fault::Fault::StandbyApplySkip);
        Follower follower(dir.path(), leader.layout);
        for (const Logged& record : leader.records) {
            if (record.lsn <= last) {
                follower.append(record, true, record.lsn <= committed);
            }
        }
        REQUIRE(follower.wait_applied(committed));
        follower.stop();
        std::string why;
        books = follower.applier().take_books(why);
        REQUIRE(books.has_value());  // nothing at the standby saw it
    }
    engine::HandedBooksResult continued = engine::continue_handed_books(
        committed, dir.path() / "wal", leader.layout, {}, std::move(*books));
    INFO(continued.replay.error);
    REQUIRE(continued.replay.ok());
    REQUIRE(continued.replay.last_lsn == last);
    const engine::RecoveryResult checked =
        follow(leader, last, term_checkpoints(continued.replay, last + 1));
    CHECK(checked.status == engine::RecoveryStatus::CheckpointMismatch);
    // At the term checkpoint of the shard the dropped command belonged to.
    CHECK(checked.last_lsn >= last);
    CHECK_THAT(checked.error, Contains("checkpoint mismatch at WAL record LSN " +
                                       std::to_string(checked.last_lsn + 1)));

    // The same hand-over without the fault passes.
    exchanged::test::TempDir clean_dir;
    Follower clean(clean_dir.path(), leader.layout);
    for (const Logged& record : leader.records) {
        if (record.lsn <= last) {
            clean.append(record, true, record.lsn <= committed);
        }
    }
    REQUIRE(clean.wait_applied(committed));
    clean.stop();
    std::string why;
    std::optional<engine::ReplayStart> right = clean.applier().take_books(why);
    REQUIRE(right.has_value());
    engine::HandedBooksResult right_continued = engine::continue_handed_books(
        committed, clean_dir.path() / "wal", leader.layout, {}, std::move(*right));
    REQUIRE(right_continued.replay.ok());
    const engine::RecoveryResult right_checked =
        follow(leader, last, term_checkpoints(right_continued.replay, last + 1));
    INFO(right_checked.error);
    CHECK(right_checked.ok());
}

TEST_CASE("a standby that stopped applying hands over no books, saying why",
          "[repl][standby][handover]") {
    LeaderLog leader;
    exchanged::test::TempDir dir;
    test_fault::ScopedFault fault(test_fault::Fault::StandbyApplySkip);
    Follower follower(dir.path(), leader.layout);
    for (const Logged& record : leader.records) {
        follower.append(record);
    }
    CHECK_FALSE(follower.wait_applied(leader.records.back().lsn));
    REQUIRE(follower.applier().failed());
    std::string why;
    CHECK_FALSE(follower.applier().take_books(why).has_value());
    CHECK_THAT(why, Contains("not stopped"));
    follower.stop_applier();
    CHECK_FALSE(follower.applier().take_books(why).has_value());
    CHECK_THAT(why, Contains("checkpoint mismatch"));
}

TEST_CASE("handed books with nothing above them in the WAL continue without a read",
          "[repl][standby][handover]") {
    LeaderLog leader;
    const Lsn last = leader.records.back().lsn;
    exchanged::test::TempDir dir;
    Follower follower(dir.path(), leader.layout);
    for (const Logged& record : leader.records) {
        follower.append(record);
    }
    REQUIRE(follower.wait_applied(last));
    follower.stop();
    std::string why;
    std::optional<engine::ReplayStart> books = follower.applier().take_books(why);
    REQUIRE(books.has_value());
    REQUIRE(books->after_lsn == last);
    engine::RecoveryOptions to_log_end;
    to_log_end.stop_after_lsn = last;  // where the WAL closed
    // A directory that does not exist: nothing may be read from it.
    engine::HandedBooksResult continued =
        engine::continue_handed_books(follower.store().store_lsn(), dir.path() / "no-such-wal",
                                      leader.layout, to_log_end, std::move(*books));
    INFO(continued.replay.error);
    REQUIRE(continued.replay.ok());
    CHECK(continued.replay.records == 0);
    CHECK(continued.replay.next_lsn == last + 1);
    CHECK_FALSE(continued.tail.has_value());
    const engine::RecoveryResult full = engine::recover(leader.sim, leader.layout, {});
    require_same_matchers(continued.replay.matchers, full.matchers);
}
