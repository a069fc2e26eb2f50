// The store's main promise: what load() returns is the matcher's state at store_lsn. Random command
// streams run through live matchers; their events go to the store in batches of varying size (some
// applied twice, some overlapping); load() must match the live matchers, and a matcher restored
// from it must carry on exactly like the live one.
#include <algorithm>
#include <catch2/catch.hpp>
#include <tuple>

#include "store_backends.hpp"
#include "store_feed.hpp"

namespace exchanged::store {
namespace {

using test::FeedShard;
using test::StoreFeed;

// Resting orders in for_each_resting order (instrument, bids best first then asks best first,
// each level oldest first), with priority replaced by the rank within the level.
std::vector<book::RestingOrderState> in_level_order(std::vector<book::RestingOrderState> orders) {
    std::sort(orders.begin(), orders.end(), [](const auto& a, const auto& b) {
        const Price pa = a.side == Side::Buy ? -a.price : a.price;
        const Price pb = b.side == Side::Buy ? -b.price : b.price;
        return std::tie(a.instrument, a.side, pa, a.priority) <
               std::tie(b.instrument, b.side, pb, b.priority);
    });
    std::uint64_t rank = 0;
    for (std::size_t i = 0; i < orders.size(); ++i) {
        const bool same_level = i > 0 && orders[i].instrument == orders[i - 1].instrument &&
                                orders[i].side == orders[i - 1].side &&
                                orders[i].price == orders[i - 1].price;
        rank = same_level ? rank + 1 : 0;
        orders[i].priority = rank;
    }
    return orders;
}

void check_against_live(const ShardState& loaded, const FeedShard& live) {
    const book::Matcher& m = live.matcher;
    CHECK(loaded.next_seq == live.next_seq);
    CHECK(loaded.snapshot.next_order_id == m.next_order_id());
    CHECK(loaded.snapshot.next_trade_id == m.next_trade_id());

    // Independently of Matcher::snapshot(): the visible book, level by level.
    std::vector<book::OrderView> visited;
    m.for_each_resting([&](const book::OrderView& o) { visited.push_back(o); });
    const auto ordered = in_level_order(loaded.snapshot.resting);
    REQUIRE(ordered.size() == visited.size());
    for (std::size_t i = 0; i < visited.size(); ++i) {
        const book::OrderView& v = visited[i];
        const book::RestingOrderState& o = ordered[i];
        INFO("resting order " << i << " id " << v.order_id);
        CHECK(o.order_id == v.order_id);
        CHECK(o.client_order_id == v.client_order_id);
        CHECK(o.account == v.account);
        CHECK(o.instrument == v.instrument);
        CHECK(o.side == v.side);
        CHECK(o.price == v.price);
        CHECK(o.leaves == v.leaves);
        CHECK(o.flags == v.flags);
    }
    // The finished window: as many as the matcher remembers, each known to it as finished.
    const std::uint64_t finished_total = m.next_order_id() - 1 - m.resting_orders();
    CHECK(loaded.snapshot.finished.size() ==
          std::min<std::uint64_t>(finished_total, live.config.limits.client_order_id_window));
    for (const book::FinishedClientOrder& f : loaded.snapshot.finished) {
        const book::ClientOrderLookup lookup =
            m.find_by_client_order_id(f.account, f.client_order_id);
        INFO("finished order " << f.order_id);
        CHECK(lookup.state == book::ClientOrderLookup::State::Finished);
        CHECK(lookup.order_id == f.order_id);
    }

    // Against the matcher's own snapshot.
    book::MatcherSnapshot expected = m.snapshot();
    CHECK(expected.next_order_id == loaded.snapshot.next_order_id);
    CHECK(expected.next_trade_id == loaded.snapshot.next_trade_id);
    CHECK(expected.finished == loaded.snapshot.finished);
    CHECK(in_level_order(expected.resting) == ordered);
}

// Restores every loaded shard into a fresh matcher, checks its hash, then runs both it and the live
// one on the same further commands.
void check_restore(const StoreState& state, StoreFeed& feed, std::size_t more_commands) {
    for (std::size_t shard = 0; shard < feed.shards().size(); ++shard) {
        FeedShard& live = *feed.shards()[shard];
        book::Matcher restored(live.config.instruments, live.config.limits);
        restored.restore(state.shards[shard].snapshot);
        REQUIRE(restored.state_hash() == live.matcher.state_hash());
        std::vector<book::Event> expected;
        std::vector<book::Event> actual;
        for (std::size_t i = 0; i < more_commands; ++i) {
            const book::Command command = live.stream.next();
            expected.clear();
            actual.clear();
            live.matcher.apply(command, expected);
            restored.apply(command, actual);
            live.stream.observe(expected);
            INFO("shard " << shard << " command " << book::testing::describe(command));
            REQUIRE(actual == expected);
        }
        CHECK(restored.state_hash() == live.matcher.state_hash());
    }
}

// Batches of 1 to max_batch commands.
void run_seed(test::TestDatabase& db, std::uint64_t seed, std::uint32_t shard_count,
              std::size_t commands, std::int64_t max_batch) {
    const std::unique_ptr<Store> owned = db.open_migrated(seed % 2 == 0);
    Store& store = *owned;
    StoreFeed feed(seed, shard_count);
    SplitMix64 rng(seed ^ 0xabcdef);
    StoreBatch batch;
    StoreBatch previous;
    std::size_t target = 1;
    for (std::size_t i = 0; i < commands; ++i) {
        if (batch.events.empty() && batch.first_lsn == 0) {
            batch.first_lsn = feed.last_lsn() + 1;
            target = static_cast<std::size_t>(rng.between(1, max_batch));
        }
        feed.step(batch.events);
        batch.last_lsn = feed.last_lsn();
        if (batch.events.size() >= target || i + 1 == commands) {
            if (rng.percent(10) && previous.first_lsn != 0) {
                // Overlapping: the previous batch and this one in one.
                StoreBatch merged = previous;
                merged.last_lsn = batch.last_lsn;
                merged.events.insert(merged.events.end(), batch.events.begin(), batch.events.end());
                store.apply(merged);
            } else {
                store.apply(batch);
            }
            if (rng.percent(10)) {
                store.apply(batch);  // again: a no-op
            }
            REQUIRE(store.store_lsn() == batch.last_lsn);
            previous = std::move(batch);
            batch = StoreBatch{};
            if (rng.percent(5)) {
                // All shards of one feed share limits (seeds agree mod 3).
                const StoreState state =
                    store.load(shard_count, feed.shards()[0]->config.limits.client_order_id_window);
                for (std::uint32_t s = 0; s < shard_count; ++s) {
                    INFO("seed " << seed << " shard " << s << " at LSN " << state.store_lsn);
                    check_against_live(state.shards[s], *feed.shards()[s]);
                }
            }
        }
    }
    const StoreState state =
        store.load(shard_count, feed.shards()[0]->config.limits.client_order_id_window);
    for (std::uint32_t s = 0; s < shard_count; ++s) {
        INFO("seed " << seed << " shard " << s << " final");
        check_against_live(state.shards[s], *feed.shards()[s]);
    }
    check_restore(state, feed, 3'000);
}

STORE_BACKEND_TEST("store: load after random streams equals the live matcher", "[store]") {
    for (std::uint64_t seed : {1, 2, 3, 4, 5, 6}) {
        test::TestDatabase fresh(db.kind());
        run_seed(fresh, seed, seed <= 3 ? 1 : 2, 6'000, 400);
    }
}

// Tens of thousands of events in one batch: PostgreSQL's pipeline must keep both socket
// directions flowing.
STORE_BACKEND_TEST("store: load after very large batches equals the live matcher", "[store]") {
    run_seed(db, 7, 2, 30'000, 15'000);
}

}  // namespace
}  // namespace exchanged::store
