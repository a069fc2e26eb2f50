// Recovery from the primary store plus the WAL tail (docs/architecture.md: Recovery): whatever
// store_lsn the store was left at, loading it and replaying only the records above it gives the
// matchers of a full replay (same state hash) and leaves the store holding exactly what a full
// replay would have written.
#include <catch2/catch.hpp>

#include <functional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "engine/recovery.hpp"
#include "engine/store_recovery.hpp"
#include "replay_fixture.hpp"
#include "store/sqlite_store.hpp"
#include "temp_file.hpp"
#include "wal/sim_storage.hpp"
#include "wal/wal_reader.hpp"
#include "wal/wal_writer.hpp"

using namespace exchanged;
using namespace exchanged::engine;
using namespace exchanged::engine::test;
using wal::Lsn;
using wal::SimStorage;

namespace {

// Writes the events of the log's records up to `up_to` into `store`, as a flush worker that
// stopped there would have.
void fill_store_to(store::Store& store, wal::Storage& storage, const ShardLayout& layout,
                   Lsn up_to) {
    store::StoreBatch batch;
    batch.first_lsn = 1;
    const ReplayEventSink sink = [&](Lsn lsn, ShardId shard, std::uint8_t flags,
                                     std::span<const book::Event> events) {
        if (lsn > up_to) {
            return;
        }
        for (const book::Event& event : events) {
            batch.events.push_back(store::StoreEvent{lsn, shard, flags, event});
        }
    };
    REQUIRE(replay_log(storage, layout, {}, ReplayStart{}, sink).ok());
    if (up_to > 0) {
        batch.last_lsn = up_to;
        store.apply(batch);
    }
}

using OrderRow =
    std::tuple<std::uint32_t, OrderId, AccountId, InstrumentId, ClientOrderId, int, Price, Quantity,
               Quantity, Quantity, int, int, std::uint64_t, std::uint64_t, std::uint64_t>;
using TradeRow =
    std::tuple<std::uint32_t, TradeId, InstrumentId, Price, Quantity, OrderId, AccountId, int,
               OrderId, AccountId, int, std::uint64_t, SequenceNumber, TimestampNs>;

// The store as a recovery killed after `applies` batch transactions sees it: every apply after
// those fails before it changes anything, as a process that died there would leave the file.
class StoreDyingAfter final : public store::Store {
  public:
    StoreDyingAfter(store::Store& real, int applies) : real_(real), left_(applies) {}
    void migrate() override { real_.migrate(); }
    store::StoreLsn store_lsn() override { return real_.store_lsn(); }
    void apply(const store::StoreBatch& batch) override {
        if (left_-- <= 0) {
            throw store::StoreError("killed");
        }
        real_.apply(batch);
    }
    store::StoreState load(std::uint32_t shards, std::uint32_t window) override {
        return real_.load(shards, window);
    }
    void fold() override { real_.fold(); }
    void read_orders(const std::function<void(const store::StoredOrder&)>& visit) override {
        real_.read_orders(visit);
    }
    void read_trades(const std::function<void(const store::StoredTrade&)>& visit) override {
        real_.read_trades(visit);
    }
    std::string describe() const override { return real_.describe(); }

  private:
    store::Store& real_;
    int left_;
};

std::vector<OrderRow> order_rows(store::Store& store) {
    std::vector<OrderRow> rows;
    store.read_orders([&](const store::StoredOrder& o) {
        rows.emplace_back(o.shard, o.order_id, o.account, o.instrument, o.client_order_id,
                          static_cast<int>(o.side), o.price, o.quantity, o.leaves, o.executed,
                          static_cast<int>(o.state), o.flags, o.priority, o.accepted_lsn,
                          o.finished_lsn);
    });
    return rows;
}

std::vector<TradeRow> trade_rows(store::Store& store) {
    std::vector<TradeRow> rows;
    store.read_trades([&](const store::StoredTrade& t) {
        rows.emplace_back(t.shard, t.trade_id, t.instrument, t.price, t.quantity, t.taker_order_id,
                          t.taker_account, static_cast<int>(t.taker_side), t.maker_order_id,
                          t.maker_account, static_cast<int>(t.maker_side), t.lsn, t.seq,
                          t.timestamp_ns);
    });
    return rows;
}

}  // namespace

TEST_CASE("recovery from the store at any LSN plus the WAL tail equals a full replay",
          "[engine][store-recovery]") {
    for (const std::uint32_t shard_count : {1u, 2u, 3u}) {
        for (std::uint64_t seed = 1; seed <= 3; ++seed) {
            INFO("shards " << shard_count << " seed " << seed);
            SimStorage sim(seed);
            const auto stream_config = book::testing::make_stream_config(seed);
            const ShardLayout layout = stream_layout(stream_config, shard_count);
            {
                wal::WalWriter writer(sim, small_wal());
                ShardDriver driver(layout, writer, 97, seed);
                REQUIRE(driver.run(3'000));
                writer.close();
            }
            const RecoveryResult full = recover(sim, layout, {});
            REQUIRE(full.ok());

            // The store a full replay writes: the reference for every cut.
            exchanged::test::TempDir reference_dir;
            store::SqliteStore reference(reference_dir.path() / "reference.sqlite");
            reference.migrate();
            const StoreRecoveryResult whole = recover_from_store(reference, sim, layout, {});
            REQUIRE(whole.replay.ok());
            REQUIRE(whole.loaded_lsn == 0);
            REQUIRE(reference.store_lsn() == full.last_lsn);
            const auto reference_orders = order_rows(reference);
            const auto reference_trades = trade_rows(reference);
            REQUIRE(!reference_trades.empty());

            for (const Lsn cut : {Lsn{1}, full.last_lsn / 3, full.last_lsn / 2 + 7,
                                  full.last_lsn - 1, full.last_lsn}) {
                INFO("store at LSN " << cut);
                exchanged::test::TempDir dir;
                store::SqliteStore primary(dir.path() / "store.sqlite");
                primary.migrate();
                fill_store_to(primary, sim, layout, cut);
                const StoreRecoveryResult recovered = recover_from_store(primary, sim, layout, {});
                INFO(recovered.replay.error);
                REQUIRE(recovered.replay.ok());
                CHECK(recovered.loaded_lsn == cut);
                CHECK(recovered.replay.records == full.last_lsn - cut);
                CHECK(recovered.replay.next_lsn == full.next_lsn);
                require_same_matchers(recovered.replay.matchers, full.matchers);
                for (ShardId id = 0; id < shard_count; ++id) {
                    CHECK(recovered.replay.shards[id].next_seq == full.shards[id].next_seq);
                }
                CHECK(primary.store_lsn() == full.last_lsn);
                CHECK(order_rows(primary) == reference_orders);
                CHECK(trade_rows(primary) == reference_trades);

                // Applied again, nothing changes: exactly once by store_lsn.
                const StoreRecoveryResult again = recover_from_store(primary, sim, layout, {});
                REQUIRE(again.replay.ok());
                CHECK(again.events_written == 0);
                require_same_matchers(again.replay.matchers, full.matchers);
                CHECK(order_rows(primary) == reference_orders);
            }
        }
    }
}

TEST_CASE("WAL segments released below store_lsn leave a log only the store can start",
          "[engine][store-recovery]") {
    SimStorage sim(21);
    const auto stream_config = book::testing::make_stream_config(21);
    const ShardLayout layout = stream_layout(stream_config, 2);
    exchanged::test::TempDir dir;
    store::SqliteStore primary(dir.path() / "store.sqlite");
    primary.migrate();
    std::vector<book::Matcher> live;
    std::size_t segments_before = 0;
    Lsn cut = 0;
    {
        wal::WalWriter writer(sim, small_wal());
        ShardDriver driver(layout, writer, 50, 21);
        REQUIRE(driver.run(3'000));
        writer.close();
        for (Shard& shard : driver.shards()) {
            live.push_back(shard.matcher());
        }
        const RecoveryResult before = recover(sim, layout, {});
        REQUIRE(before.ok());
        segments_before = before.log.segments.size();
        REQUIRE(segments_before > 4);
        cut = before.last_lsn * 3 / 4;
        fill_store_to(primary, sim, layout, cut);
    }
    {
        wal::WalWriter writer(sim, small_wal());
        writer.release_below(cut + 1);
        writer.close();
    }
    const RecoveryResult trimmed = recover(sim, layout, {});
    INFO(trimmed.error);
    CHECK(trimmed.log.segments.size() < segments_before);
    REQUIRE(trimmed.status == RecoveryStatus::BadRecord);
    CHECK(trimmed.error.find("records are missing") != std::string::npos);
    CHECK(trimmed.error.find("the store is empty") != std::string::npos);

    const StoreRecoveryResult recovered = recover_from_store(primary, sim, layout, {});
    INFO(recovered.replay.error);
    REQUIRE(recovered.replay.ok());
    require_same_matchers(recovered.replay.matchers, live);
}

TEST_CASE("a store ahead of the WAL, or a WAL missing records above it, is refused",
          "[engine][store-recovery]") {
    SimStorage sim(5);
    const auto stream_config = book::testing::make_stream_config(5);
    const ShardLayout layout = stream_layout(stream_config, 1);
    {
        wal::WalWriter writer(sim, small_wal());
        ShardDriver driver(layout, writer, 0, 5);
        REQUIRE(driver.run(1'500));
        writer.close();
    }
    exchanged::test::TempDir dir;
    store::SqliteStore primary(dir.path() / "store.sqlite");
    primary.migrate();
    fill_store_to(primary, sim, layout, 300);

    SECTION("an empty log") {
        SimStorage empty(6);
        const StoreRecoveryResult result = recover_from_store(primary, empty, layout, {});
        REQUIRE(result.replay.status == RecoveryStatus::BadRecord);
        CHECK(result.replay.error.find("holds records up to LSN 300") != std::string::npos);
    }
    SECTION("a WAL directory that is gone") {
        const StoreRecoveryResult result =
            recover_from_store(primary, dir.path() / "no-such-wal", layout, {});
        REQUIRE(result.replay.status == RecoveryStatus::BadRecord);
        CHECK(result.replay.error.find("does not exist") != std::string::npos);
        CHECK(result.replay.error.find("LSN 300") != std::string::npos);
    }
    SECTION("a log that starts above store_lsn + 1") {
        {
            wal::WalWriter writer(sim, small_wal());
            writer.release_below(1'200);
            writer.close();
        }
        const StoreRecoveryResult result = recover_from_store(primary, sim, layout, {});
        INFO(result.replay.error << " log first LSN " << result.replay.log.first_lsn << " segments "
                                 << result.replay.log.segments.size());
        REQUIRE(result.replay.status == RecoveryStatus::BadRecord);
        CHECK(result.replay.error.find("store holds up to LSN 300") != std::string::npos);
        CHECK(primary.store_lsn() == 300);
    }
}

TEST_CASE("a recovery killed between its store transactions restarts from the store's LSN",
          "[engine][store-recovery]") {
    SimStorage sim(7);
    const auto stream_config = book::testing::make_stream_config(7);
    const ShardLayout layout = stream_layout(stream_config, 2);
    {
        wal::WalWriter writer(sim, small_wal());
        ShardDriver driver(layout, writer, 97, 7);
        REQUIRE(driver.run(3'000));
        writer.close();
    }
    const RecoveryResult full = recover(sim, layout, {});
    REQUIRE(full.ok());
    RecoveryOptions options;
    options.store_batch_lsns = 200;  // several transactions, so the kill can fall between them

    exchanged::test::TempDir reference_dir;
    store::SqliteStore reference(reference_dir.path() / "reference.sqlite");
    reference.migrate();
    REQUIRE(recover_from_store(reference, sim, layout, options).replay.ok());

    for (const int survived : {0, 1, 3}) {
        INFO("killed after " << survived << " store transactions");
        exchanged::test::TempDir dir;
        store::SqliteStore primary(dir.path() / "store.sqlite");
        primary.migrate();
        fill_store_to(primary, sim, layout, 100);
        StoreDyingAfter dying(primary, survived);
        CHECK_THROWS_AS(recover_from_store(dying, sim, layout, options), store::StoreError);
        // Each transaction advanced store_lsn with its events (about 200 records each; a
        // checkpoint record can stretch one), so the store holds whole batches and no more.
        const Lsn left_at = primary.store_lsn();
        CHECK(left_at >= 100 + static_cast<Lsn>(survived) * 200);
        CHECK(left_at <= 100 + static_cast<Lsn>(survived) * 210);
        CHECK(left_at < full.last_lsn);

        const StoreRecoveryResult again = recover_from_store(primary, sim, layout, options);
        INFO(again.replay.error);
        REQUIRE(again.replay.ok());
        CHECK(again.loaded_lsn == left_at);
        CHECK(again.replay.records == full.last_lsn - left_at);
        require_same_matchers(again.replay.matchers, full.matchers);
        CHECK(primary.store_lsn() == full.last_lsn);
        CHECK(order_rows(primary) == order_rows(reference));
        CHECK(trade_rows(primary) == trade_rows(reference));
    }
}
