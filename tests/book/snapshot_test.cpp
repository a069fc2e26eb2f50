// Matcher::snapshot() and Matcher::restore(): a snapshot restored into a fresh matcher must be
// indistinguishable from the matcher it was taken from, for every later command. Recovery from the
// store (load the books at store_lsn, replay the WAL tail) depends on exactly this.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "book/matcher.hpp"
#include "book_fixture.hpp"
#include "common/random.hpp"
#include "random_stream.hpp"

namespace exchanged::book::testing {
namespace {

// Passive GTC limit orders from every account, spread over each instrument's band on the side of
// its middle where they do not cross: a deep book for a random stream to work on.
std::vector<Command> deep_book(const StreamConfig& config, std::size_t count) {
    SplitMix64 rng(config.seed ^ 0xdeeb00c);
    std::vector<Command> commands;
    for (std::size_t i = 0; i < count; ++i) {
        const InstrumentSpec& spec = config.instruments[i % config.instruments.size()];
        const std::int64_t levels = (spec.max_price - spec.min_price) / spec.tick_size;
        const Price middle = spec.min_price + levels / 2 * spec.tick_size;
        const std::int64_t away =
            1 + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(levels / 2)));
        Command c;
        c.type = CommandType::NewOrder;
        c.instrument = spec.id;
        c.account = static_cast<AccountId>(rng.below(config.limits.max_accounts));
        c.side = (i / config.instruments.size()) % 2 == 0 ? Side::Buy : Side::Sell;
        c.price = middle + (c.side == Side::Buy ? -away : away) * spec.tick_size;
        c.quantity = spec.lot_size * static_cast<Quantity>(1 + rng.below(8));
        c.client_order_id = (std::uint64_t{1} << 40) + i;  // never used by the stream
        c.seq = i + 1;
        c.timestamp_ns = static_cast<TimestampNs>(i) * 1'000;
        commands.push_back(c);
    }
    return commands;
}

// A fixed command list: `prefix`, then `count` commands of the random stream, generated once with a
// matcher supplying the feedback (as in the determinism test), so every run sees exactly the same
// commands.
std::vector<Command> record_stream(const StreamConfig& config, std::size_t count,
                                   const std::vector<Command>& prefix = {}) {
    Matcher matcher(config.instruments, config.limits);
    RandomStream stream(config);
    std::vector<Command> commands;
    std::vector<Event> events;
    for (const Command& c : prefix) {
        commands.push_back(c);
        events.clear();
        matcher.apply(c, events);
        stream.observe(events);  // so that the stream's cancels and replaces reach these orders
    }
    for (std::size_t i = 0; i < count; ++i) {
        commands.push_back(stream.next());
        commands.back().seq += prefix.size();
        events.clear();
        matcher.apply(commands.back(), events);
        stream.observe(events);
    }
    return commands;
}

// The same snapshot with each level's priorities replaced by ranks 0, 1, 2, ... and the resting
// orders sorted by order id: two snapshots describe the same books exactly when their normal forms
// are equal.
MatcherSnapshot normalised(MatcherSnapshot snap) {
    auto level_of = [](const RestingOrderState& r) {
        return std::make_tuple(r.instrument, static_cast<unsigned>(r.side), r.price);
    };
    std::sort(snap.resting.begin(), snap.resting.end(),
              [&](const RestingOrderState& a, const RestingOrderState& b) {
                  return std::make_tuple(level_of(a), a.priority) <
                         std::make_tuple(level_of(b), b.priority);
              });
    std::uint64_t rank = 0;
    for (std::size_t i = 0; i < snap.resting.size(); ++i) {
        rank = i > 0 && level_of(snap.resting[i]) == level_of(snap.resting[i - 1]) ? rank + 1 : 0;
        snap.resting[i].priority = rank;
    }
    std::sort(snap.resting.begin(), snap.resting.end(),
              [](const RestingOrderState& a, const RestingOrderState& b) {
                  return a.order_id < b.order_id;
              });
    return snap;
}

// Everything a caller can observe of the two matchers agrees.
void require_same_state(const Matcher& a, const Matcher& b) {
    REQUIRE(b.state_hash() == a.state_hash());
    const MatcherSnapshot snap = a.snapshot();
    REQUIRE(b.snapshot() == snap);
    REQUIRE(b.resting_orders() == a.resting_orders());
    REQUIRE(b.next_order_id() == a.next_order_id());
    REQUIRE(b.next_trade_id() == a.next_trade_id());
    for (const InstrumentSpec& spec : a.instruments()) {
        REQUIRE(b.best_bid(spec.id) == a.best_bid(spec.id));
        REQUIRE(b.best_ask(spec.id) == a.best_ask(spec.id));
        for (const Side side : {Side::Buy, Side::Sell}) {
            const auto la = a.levels(spec.id, side, SIZE_MAX);
            const auto lb = b.levels(spec.id, side, SIZE_MAX);
            REQUIRE(la.size() == lb.size());
            for (std::size_t i = 0; i < la.size(); ++i) {
                REQUIRE(lb[i].price == la[i].price);
                REQUIRE(lb[i].total == la[i].total);
                REQUIRE(lb[i].count == la[i].count);
            }
        }
    }
    for (const RestingOrderState& r : snap.resting) {
        const ClientOrderLookup lb = b.find_by_client_order_id(r.account, r.client_order_id);
        REQUIRE(lb.state == ClientOrderLookup::State::Resting);
        REQUIRE(lb.order_id == r.order_id);
    }
    for (const FinishedClientOrder& f : snap.finished) {
        const ClientOrderLookup la = a.find_by_client_order_id(f.account, f.client_order_id);
        const ClientOrderLookup lb = b.find_by_client_order_id(f.account, f.client_order_id);
        REQUIRE(la.state == ClientOrderLookup::State::Finished);
        REQUIRE(lb.state == ClientOrderLookup::State::Finished);
        REQUIRE(lb.order_id == f.order_id);
        REQUIRE(la.order_id == f.order_id);
    }
}

struct Checkpoint {
    std::size_t k = 0;
    std::size_t resting = 0;
    std::size_t finished = 0;         // entries in the snapshot's window
    std::uint64_t finished_ever = 0;  // orders accepted and no longer resting
};

// Runs the commands (prefix and stream) on matcher A; at each k in `ks` snapshots A and restores
// the snapshot into a fresh matcher, which then follows A command by command: every event must be
// identical.
std::vector<Checkpoint> round_trips(const StreamConfig& config, std::size_t count,
                                    std::vector<std::size_t> ks,
                                    const std::vector<Command>& prefix = {}) {
    const std::vector<Command> commands = record_stream(config, count, prefix);
    Matcher a(config.instruments, config.limits);
    std::vector<std::unique_ptr<Matcher>> followers;
    std::vector<Checkpoint> checkpoints;
    std::vector<Event> events_a;
    std::vector<Event> events_b;
    std::sort(ks.begin(), ks.end());
    std::size_t next_k = 0;
    for (std::size_t i = 0;; ++i) {
        while (next_k < ks.size() && ks[next_k] == i) {
            INFO("snapshot at k = " << i);
            const MatcherSnapshot snap = a.snapshot();
            auto b = std::make_unique<Matcher>(config.instruments, config.limits);
            b->restore(snap);
            require_same_state(a, *b);
            checkpoints.push_back(Checkpoint{i, snap.resting.size(), snap.finished.size(),
                                             snap.next_order_id - 1 - snap.resting.size()});
            followers.push_back(std::move(b));
            ++next_k;
        }
        if (i == commands.size()) {
            break;
        }
        events_a.clear();
        a.apply(commands[i], events_a);
        for (std::size_t f = 0; f < followers.size(); ++f) {
            events_b.clear();
            followers[f]->apply(commands[i], events_b);
            if (events_b != events_a) {
                std::string detail;
                for (const Event& e : events_a) {
                    detail += "\n  original: " + describe(e);
                }
                for (const Event& e : events_b) {
                    detail += "\n  restored: " + describe(e);
                }
                FAIL("restored at k = " << checkpoints[f].k << ": events differ at command index "
                                        << i << ": " << describe(commands[i]) << detail);
            }
        }
    }
    for (std::size_t f = 0; f < followers.size(); ++f) {
        INFO("restored at k = " << checkpoints[f].k);
        require_same_state(a, *followers[f]);
    }
    return checkpoints;
}

// A small valid snapshot for the invalid-input cases: resting orders on both instruments and
// sides, two at one level, and a few finished client order ids.
MatcherSnapshot sample_snapshot() {
    BookFixture f;
    f.buy(1, 1000, 10);                                  // order 1, rests
    f.buy(2, 1000, 20);                                  // order 2, rests behind it
    f.sell(3, 1100, 30);                                 // order 3, rests
    f.sell(1, 50, 5, OrderOptions{.instrument = kEth});  // order 4, rests
    f.buy(4, 1100, 10);                                  // order 5, trades with 3, finished
    f.cancel(2, 2);                                      // order 2 finished
    f.buy(5, 995, 10);                                   // order 6, rests
    f.buy(5, 990, 10, OrderOptions{.tif = TimeInForce::ImmediateOrCancel});  // order 7, finished
    MatcherSnapshot snap = f.matcher.snapshot();
    REQUIRE(snap.resting.size() == 4);
    REQUIRE(snap.finished.size() == 3);
    REQUIRE(snap.next_order_id == 8);
    return snap;
}

void require_invalid(const MatcherSnapshot& snap, const std::string& expected_words) {
    Matcher m(default_instruments(), BookFixture::small_limits());
    try {
        m.restore(snap);
        FAIL("restore accepted a bad snapshot; expected: " << expected_words);
    } catch (const std::invalid_argument& e) {
        INFO("message: " << e.what());
        REQUIRE(std::string(e.what()).find(expected_words) != std::string::npos);
    }
    // Nothing changed: the matcher is still fresh and takes a good snapshot.
    REQUIRE(m.resting_orders() == 0);
    REQUIRE(m.next_order_id() == 1);
    const MatcherSnapshot good = sample_snapshot();
    m.restore(good);
    REQUIRE(m.snapshot() == good);
}

}  // namespace

TEST_CASE("snapshot and restore at any point continue exactly like the original",
          "[book][snapshot]") {
    // Seeds cover the three limit variants of make_stream_config (seed % 3), among them a
    // 12-order window with a 48-order pool that is often full.
    for (const std::uint64_t seed : {41u, 42u, 43u, 44u, 45u, 46u}) {
        INFO("seed " << seed);
        const StreamConfig config = make_stream_config(seed);
        const auto checkpoints =
            round_trips(config, 20'000, {0, 1, 2, 333, 5'000, 12'345, 19'999, 20'000});
        REQUIRE(checkpoints.back().resting > 0);
        REQUIRE(checkpoints.back().finished > 0);
    }
}

TEST_CASE("snapshot and restore with a wrapped client order id window", "[book][snapshot]") {
    for (const std::uint64_t seed : {51u, 52u, 53u}) {
        INFO("seed " << seed);
        StreamConfig config = make_stream_config(seed);
        config.limits.max_orders = 4'096;
        config.limits.client_order_id_window = 64;
        const auto checkpoints =
            round_trips(config, 15'000, {40, 200, 1'000, 4'567, 9'999, 15'000});
        std::size_t wrapped = 0;
        for (const Checkpoint& c : checkpoints) {
            if (c.finished_ever > 64) {
                REQUIRE(c.finished == 64);
                ++wrapped;
            }
        }
        REQUIRE(wrapped >= 4);
    }
}

TEST_CASE("snapshot and restore with large books", "[book][snapshot]") {
    // The random stream alone keeps a few hundred orders resting; start it on a deep book.
    StreamConfig config = make_stream_config(54);
    config.limits.max_orders = 40'000;
    config.limits.max_accounts = 16;
    config.limits.client_order_id_window = 64;
    config.target_resting = 40'000;
    const auto checkpoints = round_trips(config, 20'000, {20'000, 20'001, 25'000, 31'234, 39'999},
                                         deep_book(config, 20'000));
    // The stream's sweeps, cancels and mass cancels wear the deep book down as it goes.
    REQUIRE(checkpoints.front().resting >= 19'000);
    for (const Checkpoint& c : checkpoints) {
        INFO("k = " << c.k);
        REQUIRE(c.resting >= 2'000);
    }
    REQUIRE(checkpoints.back().finished == 64);
}

TEST_CASE("snapshot and restore with a client order id window of 0", "[book][snapshot]") {
    for (const std::uint64_t seed : {61u, 62u}) {
        INFO("seed " << seed);
        StreamConfig config = make_stream_config(seed);
        config.limits.client_order_id_window = 0;
        const auto checkpoints = round_trips(config, 10'000, {0, 77, 3'000, 9'000});
        for (const Checkpoint& c : checkpoints) {
            REQUIRE(c.finished == 0);
        }
    }
}

TEST_CASE("restore takes any increasing priorities and the resting orders in any order",
          "[book][snapshot]") {
    const StreamConfig config = make_stream_config(47);
    const std::vector<Command> commands = record_stream(config, 12'000);
    const std::size_t k = 7'000;
    // The original: its state at k, and its events from k on.
    Matcher a(config.instruments, config.limits);
    std::vector<Event> events;
    for (std::size_t i = 0; i < k; ++i) {
        events.clear();
        a.apply(commands[i], events);
    }
    const MatcherSnapshot snap = a.snapshot();
    REQUIRE(snap.resting.size() > 20);
    Matcher original(config.instruments, config.limits);
    std::vector<std::vector<Event>> expected;
    for (std::size_t i = 0; i < commands.size(); ++i) {
        events.clear();
        original.apply(commands[i], events);
        if (i >= k) {
            expected.push_back(events);
        }
    }

    SplitMix64 rng(0xfeed);
    auto shuffled = [&rng](MatcherSnapshot s) {
        for (std::size_t i = s.resting.size(); i > 1; --i) {
            std::swap(s.resting[i - 1], s.resting[rng.below(i)]);
        }
        return s;
    };
    // Sparse, large and increasing (as command seqs would be); per-level ranks; and each in an
    // order a store might keep them in.
    MatcherSnapshot sparse = snap;
    for (RestingOrderState& r : sparse.resting) {
        r.priority = (std::uint64_t{1} << 40) + r.priority * 1'000 + rng.below(1'000);
    }
    const std::vector<MatcherSnapshot> variants = {shuffled(sparse), shuffled(normalised(snap)),
                                                   normalised(sparse)};
    for (std::size_t v = 0; v < variants.size(); ++v) {
        INFO("variant " << v);
        REQUIRE(variants[v] != snap);
        REQUIRE(normalised(variants[v]) == normalised(snap));
        Matcher b(config.instruments, config.limits);
        b.restore(variants[v]);
        require_same_state(a, b);
        REQUIRE(b.snapshot() == snap);
        for (std::size_t i = k; i < commands.size(); ++i) {
            events.clear();
            b.apply(commands[i], events);
            if (events != expected[i - k]) {
                FAIL("events differ at command index " << i << ": " << describe(commands[i]));
            }
        }
        REQUIRE(b.state_hash() == original.state_hash());
        REQUIRE(b.snapshot() == original.snapshot());
    }
}

TEST_CASE("restore honours priority: reversing a level changes the book", "[book][snapshot]") {
    const StreamConfig config = make_stream_config(47);
    const std::vector<Command> commands = record_stream(config, 7'000);
    Matcher a(config.instruments, config.limits);
    std::vector<Event> events;
    for (const Command& c : commands) {
        events.clear();
        a.apply(c, events);
    }
    MatcherSnapshot snap = a.snapshot();
    // The longest level, reversed.
    std::map<std::tuple<InstrumentId, unsigned, Price>, std::vector<std::size_t>> levels;
    for (std::size_t i = 0; i < snap.resting.size(); ++i) {
        const RestingOrderState& r = snap.resting[i];
        levels[{r.instrument, static_cast<unsigned>(r.side), r.price}].push_back(i);
    }
    const std::vector<std::size_t>* longest = nullptr;
    for (const auto& [level, members] : levels) {
        if (longest == nullptr || members.size() > longest->size()) {
            longest = &members;
        }
    }
    REQUIRE(longest->size() >= 2);
    for (const std::size_t i : *longest) {
        snap.resting[i].priority = UINT64_MAX - snap.resting[i].priority;
    }
    Matcher b(config.instruments, config.limits);
    b.restore(snap);
    REQUIRE(b.state_hash() != a.state_hash());
    REQUIRE(normalised(b.snapshot()) == normalised(snap));
    const MatcherSnapshot back = b.snapshot();
    std::vector<OrderId> original_fifo;
    std::vector<OrderId> restored_fifo;
    for (const RestingOrderState& r : a.snapshot().resting) {
        if (r.instrument == snap.resting[longest->front()].instrument &&
            r.side == snap.resting[longest->front()].side &&
            r.price == snap.resting[longest->front()].price) {
            original_fifo.push_back(r.order_id);
        }
    }
    for (const RestingOrderState& r : back.resting) {
        if (r.instrument == snap.resting[longest->front()].instrument &&
            r.side == snap.resting[longest->front()].side &&
            r.price == snap.resting[longest->front()].price) {
            restored_fifo.push_back(r.order_id);
        }
    }
    std::reverse(original_fifo.begin(), original_fifo.end());
    REQUIRE(restored_fifo == original_fifo);
}

TEST_CASE("after restore, mass cancel still goes in order id order", "[book][snapshot]") {
    // Order 1 loses priority in a replace (it moves to the back of its level) but keeps its place
    // in its account's list: a mass cancel goes in order id order, before and after a restore.
    BookFixture f;
    const OrderId first = f.rest(1, Side::Buy, 1000, 10);
    const OrderId second = f.rest(1, Side::Buy, 1000, 10);
    const OrderId third = f.rest(1, Side::Sell, 2000, 10);
    const OrderId fourth = f.rest(1, Side::Buy, 1005, 10);
    f.replace(1, first, 1000, 30);
    REQUIRE(f.resting() == std::vector<OrderId>{fourth, second, first, third});

    MatcherSnapshot snap = f.matcher.snapshot();
    // Also with priorities that put the levels against order id order everywhere.
    MatcherSnapshot reversed = snap;
    for (RestingOrderState& r : reversed.resting) {
        r.priority = 1'000 - r.priority;
    }
    for (const MatcherSnapshot& s : {snap, reversed}) {
        Matcher b(default_instruments(), BookFixture::small_limits());
        b.restore(s);
        Command c;
        c.type = CommandType::MassCancel;
        c.account = 1;
        c.instrument = kAllInstruments;
        c.seq = 100;
        std::vector<Event> events;
        b.apply(c, events);
        std::vector<OrderId> cancelled;
        for (const Event& e : events) {
            if (e.type == EventType::Cancelled) {
                cancelled.push_back(e.order_id);
            }
        }
        REQUIRE(cancelled == std::vector<OrderId>{first, second, third, fourth});
    }
    const auto original = f.mass_cancel(1);
    REQUIRE(original.size() == 5);
    REQUIRE(original[0].order_id == first);
    REQUIRE(original[3].order_id == fourth);
}

TEST_CASE("restore keeps the newest finished client order ids that fit the window",
          "[book][snapshot]") {
    StreamConfig config = make_stream_config(55);
    config.limits.client_order_id_window = 64;
    const std::vector<Command> commands = record_stream(config, 5'000);
    Matcher a(config.instruments, config.limits);
    std::vector<Event> events;
    for (const Command& c : commands) {
        events.clear();
        a.apply(c, events);
    }
    const MatcherSnapshot snap = a.snapshot();
    REQUIRE(snap.finished.size() == 64);

    MatcherLimits smaller = config.limits;
    smaller.client_order_id_window = 16;
    Matcher b(config.instruments, smaller);
    b.restore(snap);
    const MatcherSnapshot back = b.snapshot();
    REQUIRE(back.resting == snap.resting);
    REQUIRE(back.finished ==
            std::vector<FinishedClientOrder>(snap.finished.end() - 16, snap.finished.end()));
    for (std::size_t i = 0; i < snap.finished.size(); ++i) {
        const FinishedClientOrder& fin = snap.finished[i];
        const ClientOrderLookup lookup =
            b.find_by_client_order_id(fin.account, fin.client_order_id);
        REQUIRE(lookup.state ==
                (i >= 48 ? ClientOrderLookup::State::Finished : ClientOrderLookup::State::Unknown));
    }

    // With no window at all, the finished ones are forgotten and their client order ids are free.
    MatcherLimits none = config.limits;
    none.client_order_id_window = 0;
    Matcher c(config.instruments, none);
    c.restore(snap);
    REQUIRE(c.snapshot().finished.empty());
    REQUIRE(c.state_hash() == a.state_hash());
    const FinishedClientOrder& newest = snap.finished.back();
    REQUIRE(c.find_by_client_order_id(newest.account, newest.client_order_id).state ==
            ClientOrderLookup::State::Unknown);
    REQUIRE(a.find_by_client_order_id(newest.account, newest.client_order_id).state ==
            ClientOrderLookup::State::Finished);
}

TEST_CASE("restore of an empty snapshot sets the counters", "[book][snapshot]") {
    MatcherSnapshot snap;
    snap.next_order_id = 1'000;
    snap.next_trade_id = 77;
    BookFixture f;
    f.matcher.restore(snap);
    REQUIRE(f.matcher.snapshot() == snap);
    f.sell(1, 1000, 10);
    const auto events = f.buy(2, 1000, 10);
    REQUIRE(events.front().order_id == 1'001);
    REQUIRE(events.back().trade_id == 77);
}

TEST_CASE("restore refuses a matcher that is not fresh", "[book][snapshot]") {
    const MatcherSnapshot snap = sample_snapshot();
    {
        BookFixture f;
        f.buy(1, 1000, 10);  // rests
        REQUIRE_THROWS_AS(f.matcher.restore(snap), std::logic_error);
    }
    {
        BookFixture f;
        // Finished at once: nothing rests, but the counters have moved.
        f.buy(1, 1000, 10, OrderOptions{.tif = TimeInForce::ImmediateOrCancel});
        REQUIRE(f.matcher.resting_orders() == 0);
        REQUIRE_THROWS_AS(f.matcher.restore(snap), std::logic_error);
        REQUIRE_THROWS_AS(f.matcher.restore(MatcherSnapshot{}), std::logic_error);
    }
    {
        BookFixture f;
        f.matcher.restore(snap);
        REQUIRE_THROWS_AS(f.matcher.restore(snap), std::logic_error);
        MatcherSnapshot empty_moved;
        empty_moved.next_order_id = 5;
        Matcher m(default_instruments(), BookFixture::small_limits());
        m.restore(empty_moved);
        REQUIRE_THROWS_AS(m.restore(MatcherSnapshot{}), std::logic_error);
    }
    {
        // A rejected command changes nothing, so the matcher is still fresh.
        BookFixture f;
        f.buy(1, 1003, 10);  // off tick
        REQUIRE(f.matcher.next_order_id() == 1);
        f.matcher.restore(snap);
        REQUIRE(f.matcher.snapshot() == snap);
    }
}

TEST_CASE("restore rejects a bad snapshot and names the problem", "[book][snapshot]") {
    const MatcherSnapshot good = sample_snapshot();
    {
        Matcher m(default_instruments(), BookFixture::small_limits());
        m.restore(good);
        REQUIRE(m.snapshot() == good);
    }
    auto with = [&good](auto change) {
        MatcherSnapshot s = good;
        change(s);
        return s;
    };
    SECTION("unknown instrument") {
        require_invalid(with([](MatcherSnapshot& s) { s.resting[0].instrument = 3; }),
                        "unknown instrument 3");
    }
    SECTION("price below the band") {
        require_invalid(with([](MatcherSnapshot& s) { s.resting[0].price = 95; }),
                        "outside the band");
    }
    SECTION("price above the band") {
        require_invalid(with([](MatcherSnapshot& s) { s.resting[0].price = 100'005; }),
                        "outside the band");
    }
    SECTION("price not positive") {
        require_invalid(with([](MatcherSnapshot& s) { s.resting[0].price = 0; }),
                        "outside the band");
    }
    SECTION("price off the tick") {
        require_invalid(with([](MatcherSnapshot& s) { s.resting[0].price = 1'002; }),
                        "off the tick");
    }
    SECTION("leaves zero") {
        require_invalid(with([](MatcherSnapshot& s) { s.resting[1].leaves = 0; }),
                        "is not positive");
    }
    SECTION("leaves negative") {
        require_invalid(with([](MatcherSnapshot& s) { s.resting[1].leaves = -10; }),
                        "is not positive");
    }
    SECTION("duplicate order id between resting orders") {
        require_invalid(
            with([](MatcherSnapshot& s) { s.resting[1].order_id = s.resting[0].order_id; }),
            "duplicate order id");
    }
    SECTION("duplicate order id between a resting and a finished order") {
        require_invalid(
            with([](MatcherSnapshot& s) { s.finished[0].order_id = s.resting[2].order_id; }),
            "duplicate order id");
    }
    SECTION("duplicate order id between finished orders") {
        require_invalid(
            with([](MatcherSnapshot& s) { s.finished[1].order_id = s.finished[0].order_id; }),
            "duplicate order id");
    }
    SECTION("duplicate client order id between resting orders") {
        require_invalid(with([](MatcherSnapshot& s) {
                            s.resting[1].account = s.resting[0].account;
                            s.resting[1].client_order_id = s.resting[0].client_order_id;
                        }),
                        "duplicate (account");
    }
    SECTION("duplicate client order id between a resting and a finished order") {
        require_invalid(with([](MatcherSnapshot& s) {
                            s.finished[0].account = s.resting[0].account;
                            s.finished[0].client_order_id = s.resting[0].client_order_id;
                        }),
                        "duplicate (account");
    }
    SECTION("duplicate client order id between finished orders") {
        require_invalid(with([](MatcherSnapshot& s) { s.finished[2] = s.finished[1]; }),
                        "duplicate");
        require_invalid(with([](MatcherSnapshot& s) {
                            s.finished[2].account = s.finished[1].account;
                            s.finished[2].client_order_id = s.finished[1].client_order_id;
                        }),
                        "duplicate (account");
    }
    SECTION("more orders than max_orders") {
        require_invalid(with([](MatcherSnapshot& s) {
                            s.next_order_id = 1'000;
                            for (std::uint64_t i = 0; i < 61; ++i) {
                                RestingOrderState r = s.resting[0];
                                r.order_id = 100 + i;
                                r.client_order_id = 500 + i;
                                r.priority = 100 + i;
                                s.resting.push_back(r);
                            }
                        }),
                        "more than max_orders 64");
        // Exactly max_orders is fine.
        MatcherSnapshot full = good;
        full.next_order_id = 1'000;
        for (std::uint64_t i = 0; i < 60; ++i) {
            RestingOrderState r = full.resting[0];
            r.order_id = 100 + i;
            r.client_order_id = 500 + i;
            r.priority = 100 + i;
            full.resting.push_back(r);
        }
        Matcher m(default_instruments(), BookFixture::small_limits());
        m.restore(full);
        REQUIRE(m.resting_orders() == 64);
        REQUIRE(normalised(m.snapshot()) == normalised(full));
    }
    SECTION("account out of range") {
        require_invalid(with([](MatcherSnapshot& s) { s.resting[0].account = 8; }),
                        "account 8 is out of range");
        require_invalid(with([](MatcherSnapshot& s) { s.finished[0].account = 99; }),
                        "account 99 is out of range");
    }
    SECTION("order id not below next_order_id") {
        require_invalid(with([](MatcherSnapshot& s) { s.resting[0].order_id = 8; }),
                        "order id 8 was never assigned");
        require_invalid(with([](MatcherSnapshot& s) { s.finished[0].order_id = 9; }),
                        "order id 9 was never assigned");
        require_invalid(with([](MatcherSnapshot& s) { s.resting[0].order_id = 0; }),
                        "order id 0 was never assigned");
        require_invalid(with([](MatcherSnapshot& s) { s.next_order_id = 5; }),
                        "was never assigned");
    }
    SECTION("two orders of one level with the same priority") {
        // Order 1 rests alone at the BTC bid 1000: move order 6 there with order 1's priority.
        require_invalid(with([](MatcherSnapshot& s) {
                            for (RestingOrderState& r : s.resting) {
                                if (r.order_id == 6) {
                                    r.price = 1'000;
                                    r.priority = s.resting[0].priority;
                                }
                            }
                        }),
                        "share priority");
        // The same priority on different levels is fine.
        MatcherSnapshot s = good;
        for (RestingOrderState& r : s.resting) {
            r.priority = 7;
        }
        Matcher m(default_instruments(), BookFixture::small_limits());
        m.restore(s);
        REQUIRE(normalised(m.snapshot()) == normalised(good));
    }
    SECTION("invalid side or flags") {
        require_invalid(with([](MatcherSnapshot& s) { s.resting[0].side = static_cast<Side>(2); }),
                        "invalid side");
        require_invalid(
            with([](MatcherSnapshot& s) { s.resting[0].flags = order_flags::kLiquidation; }),
            "invalid flags");
        require_invalid(with([](MatcherSnapshot& s) { s.resting[0].flags = 0x80; }),
                        "invalid flags");
    }
    SECTION("counters at 0") {
        require_invalid(with([](MatcherSnapshot& s) { s.next_order_id = 0; }),
                        "next_order_id is 0");
        require_invalid(with([](MatcherSnapshot& s) { s.next_trade_id = 0; }),
                        "next_trade_id is 0");
    }
}

}  // namespace exchanged::book::testing
