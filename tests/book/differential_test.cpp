// Differential test: the real Matcher against the naive ReferenceBook (tests/book/reference_book.*,
// written from docs/matching.md) on long seeded random streams. Every command's events must agree
// field by field, and the resting orders and id counters must agree at checkpoints. Coverage
// counters make sure the streams really reach every reject reason, cancel reason and event type.
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "book/matcher.hpp"
#include "random_stream.hpp"
#include "reference_book.hpp"

namespace exchanged::book::testing {
namespace {

constexpr std::size_t kCommandsPerSeed = 125'000;
constexpr std::size_t kCheckpointEvery = 1'000;

struct Coverage {
    std::array<std::uint64_t, 6> events{};
    std::array<std::uint64_t, 21> rejects{};
    std::array<std::uint64_t, 6> cancels{};
    std::uint64_t critical = 0;
    std::uint64_t max_resting = 0;
    // Scenarios that the per-event counts alone would not show.
    std::uint64_t replace_traded = 0;
    std::uint64_t replace_post_only_cross = 0;
    std::uint64_t replace_self_trade_stop = 0;
    std::uint64_t client_id_reused = 0;  // accepted again after its window entry expired
    std::uint64_t liquidation_gtc_market = 0;
    std::set<std::pair<AccountId, ClientOrderId>> seen_client_ids;

    void count_scenarios(const Command& c, const std::vector<Event>& list) {
        if (c.type == CommandType::Replace) {
            for (const Event& e : list) {
                replace_traded += e.type == EventType::Trade ? 1 : 0;
                replace_post_only_cross += e.reject_reason == RejectReason::PostOnlyWouldCross;
                replace_self_trade_stop +=
                    e.cancel_reason == CancelReason::SelfTrade && e.order_id == c.order_id;
            }
        }
        if (c.type == CommandType::NewOrder && list.front().type == EventType::Accepted) {
            if (!seen_client_ids.insert({c.account, c.client_order_id}).second) {
                ++client_id_reused;
            }
            liquidation_gtc_market +=
                c.order_type == OrderType::Market && c.time_in_force == TimeInForce::GoodTillCancel;
        }
    }

    void count(const std::vector<Event>& list) {
        for (const Event& e : list) {
            ++events.at(static_cast<std::size_t>(e.type));
            if (e.type == EventType::Rejected) {
                ++rejects.at(static_cast<std::size_t>(e.reject_reason));
            }
            if (e.type == EventType::Cancelled) {
                ++cancels.at(static_cast<std::size_t>(e.cancel_reason));
            }
            critical += e.critical ? 1 : 0;
        }
    }

    void add(const Coverage& o) {
        for (std::size_t i = 0; i < events.size(); ++i)
            events[i] += o.events[i];
        for (std::size_t i = 0; i < rejects.size(); ++i)
            rejects[i] += o.rejects[i];
        for (std::size_t i = 0; i < cancels.size(); ++i)
            cancels[i] += o.cancels[i];
        critical += o.critical;
        replace_traded += o.replace_traded;
        replace_post_only_cross += o.replace_post_only_cross;
        replace_self_trade_stop += o.replace_self_trade_stop;
        client_id_reused += o.client_id_reused;
        liquidation_gtc_market += o.liquidation_gtc_market;
        max_resting = std::max(max_resting, o.max_resting);
    }

    std::string table() const {
        std::ostringstream s;
        for (std::size_t i = 0; i < events.size(); ++i) {
            s << "  event " << to_string(static_cast<EventType>(i)) << ": " << events[i] << "\n";
        }
        for (std::size_t i = 1; i < rejects.size(); ++i) {
            s << "  reject " << to_string(static_cast<RejectReason>(i)) << ": " << rejects[i]
              << "\n";
        }
        for (std::size_t i = 1; i < cancels.size(); ++i) {
            s << "  cancel " << to_string(static_cast<CancelReason>(i)) << ": " << cancels[i]
              << "\n";
        }
        s << "  critical events: " << critical << "\n  most resting orders: " << max_resting
          << "\n  replace trades: " << replace_traded
          << "\n  replace post_only_would_cross: " << replace_post_only_cross
          << "\n  replace stopped by self-trade: " << replace_self_trade_stop
          << "\n  client order id reused after expiry: " << client_id_reused
          << "\n  GTC market liquidations accepted: " << liquidation_gtc_market << "\n";
        return s.str();
    }
};

std::string field_diff(const Event& a, const Event& b) {
    std::ostringstream s;
    auto field = [&](const char* name, auto x, auto y) {
        if (x != y) {
            s << " " << name << ": matcher=" << +x << " reference=" << +y << ";";
        }
    };
    field("type", static_cast<unsigned>(a.type), static_cast<unsigned>(b.type));
    field("reject_reason", static_cast<unsigned>(a.reject_reason),
          static_cast<unsigned>(b.reject_reason));
    field("cancel_reason", static_cast<unsigned>(a.cancel_reason),
          static_cast<unsigned>(b.cancel_reason));
    field("side", static_cast<unsigned>(a.side), static_cast<unsigned>(b.side));
    field("critical", a.critical, b.critical);
    field("instrument", a.instrument, b.instrument);
    field("account", a.account, b.account);
    field("seq", a.seq, b.seq);
    field("timestamp_ns", a.timestamp_ns, b.timestamp_ns);
    field("order_id", a.order_id, b.order_id);
    field("client_order_id", a.client_order_id, b.client_order_id);
    field("price", a.price, b.price);
    field("quantity", a.quantity, b.quantity);
    field("leaves", a.leaves, b.leaves);
    field("trade_id", a.trade_id, b.trade_id);
    field("maker_order_id", a.maker_order_id, b.maker_order_id);
    field("maker_client_order_id", a.maker_client_order_id, b.maker_client_order_id);
    field("maker_account", a.maker_account, b.maker_account);
    field("maker_leaves", a.maker_leaves, b.maker_leaves);
    return s.str();
}

std::string mismatch_report(std::uint64_t seed, std::size_t index, const Command& c,
                            const std::vector<Event>& real, const std::vector<Event>& ref) {
    std::ostringstream s;
    s << "event mismatch: seed " << seed << ", command index " << index
      << "\n  command: " << describe(c) << "\n  matcher events (" << real.size() << "):\n";
    for (const Event& e : real) {
        s << "    " << describe(e) << "\n";
    }
    s << "  reference events (" << ref.size() << "):\n";
    for (const Event& e : ref) {
        s << "    " << describe(e) << "\n";
    }
    for (std::size_t i = 0; i < std::min(real.size(), ref.size()); ++i) {
        if (!(real[i] == ref[i])) {
            s << "  first differing event #" << i << ":" << field_diff(real[i], ref[i]) << "\n";
            break;
        }
    }
    return s.str();
}

std::string describe_order(const OrderView& o) {
    std::ostringstream s;
    s << "order_id=" << o.order_id << " cid=" << o.client_order_id << " account=" << o.account
      << " instrument=" << o.instrument << " side=" << static_cast<unsigned>(o.side)
      << " price=" << o.price << " leaves=" << o.leaves << " flags=" << +o.flags;
    return s.str();
}

bool same(const OrderView& a, const OrderView& b) {
    return a.order_id == b.order_id && a.client_order_id == b.client_order_id &&
           a.account == b.account && a.instrument == b.instrument && a.side == b.side &&
           a.price == b.price && a.leaves == b.leaves && a.flags == b.flags;
}

// Empty when the books agree, otherwise what differs first.
std::string compare_books(const Matcher& matcher, const reference::ReferenceBook& ref) {
    std::vector<OrderView> real;
    matcher.for_each_resting([&](const OrderView& o) { real.push_back(o); });
    const std::vector<OrderView> expected = ref.resting_in_priority_order();
    std::ostringstream s;
    if (matcher.next_order_id() != ref.next_order_id()) {
        s << "next_order_id: matcher=" << matcher.next_order_id()
          << " reference=" << ref.next_order_id() << "\n";
    }
    if (matcher.next_trade_id() != ref.next_trade_id()) {
        s << "next_trade_id: matcher=" << matcher.next_trade_id()
          << " reference=" << ref.next_trade_id() << "\n";
    }
    if (real.size() != expected.size() || matcher.resting_orders() != expected.size()) {
        s << "resting orders: matcher=" << real.size() << " (resting_orders() "
          << matcher.resting_orders() << ") reference=" << expected.size() << "\n";
    }
    for (std::size_t i = 0; i < std::min(real.size(), expected.size()); ++i) {
        if (!same(real[i], expected[i])) {
            s << "priority position " << i << ":\n  matcher:   " << describe_order(real[i])
              << "\n  reference: " << describe_order(expected[i]) << "\n";
            break;
        }
    }
    return s.str();
}

// Runs one seeded stream through both implementations; fails the test on the first difference.
Coverage run_seed(std::uint64_t seed, std::size_t commands) {
    const StreamConfig config = make_stream_config(seed);
    Matcher matcher(config.instruments, config.limits);
    reference::ReferenceBook ref(config.instruments, config.limits);
    RandomStream stream(config);
    Coverage coverage;
    std::vector<Event> real_events;
    std::vector<Event> ref_events;
    for (std::size_t i = 0; i < commands; ++i) {
        const Command c = stream.next();
        real_events.clear();
        ref_events.clear();
        matcher.apply(c, real_events);
        ref.apply(c, ref_events);
        if (real_events != ref_events) {
            FAIL(mismatch_report(seed, i, c, real_events, ref_events));
        }
        coverage.count(ref_events);
        coverage.count_scenarios(c, ref_events);
        stream.observe(ref_events);
        coverage.max_resting = std::max<std::uint64_t>(coverage.max_resting, stream.live_orders());
        if ((i + 1) % kCheckpointEvery == 0 || i + 1 == commands) {
            const std::string diff = compare_books(matcher, ref);
            if (!diff.empty()) {
                FAIL("book mismatch: seed " << seed << " after command index " << i << "\n"
                                            << diff);
            }
        }
    }
    return coverage;
}

}  // namespace

TEST_CASE("matcher agrees with the reference book on random streams", "[book][differential]") {
    // Seeds cover each limits variant of make_stream_config (seed % 3) at least twice.
    const std::uint64_t seeds[] = {1, 2, 3, 4, 5, 6, 7, 8};
    Coverage total;
    for (const std::uint64_t seed : seeds) {
        const Coverage c = run_seed(seed, kCommandsPerSeed);
        if (seed == seeds[0]) {
            std::printf("coverage of seed %llu (%zu commands):\n%s",
                        static_cast<unsigned long long>(seed), kCommandsPerSeed, c.table().c_str());
        }
        total.add(c);
    }
    std::printf("coverage of all seeds:\n%s", total.table().c_str());

    INFO("coverage:\n" << total.table());
    for (std::size_t i = 0; i < total.events.size(); ++i) {
        INFO("event " << to_string(static_cast<EventType>(i)));
        REQUIRE(total.events[i] > 0);
    }
    for (std::size_t i = 1; i < total.rejects.size(); ++i) {
        INFO("reject reason " << to_string(static_cast<RejectReason>(i)));
        REQUIRE(total.rejects[i] > 0);
    }
    for (std::size_t i = 1; i < total.cancels.size(); ++i) {
        INFO("cancel reason " << to_string(static_cast<CancelReason>(i)));
        REQUIRE(total.cancels[i] > 0);
    }
    REQUIRE(total.critical > 0);
    REQUIRE(total.replace_traded > 0);
    REQUIRE(total.replace_post_only_cross > 0);
    REQUIRE(total.replace_self_trade_stop > 0);
    REQUIRE(total.client_id_reused > 0);
    REQUIRE(total.liquidation_gtc_market > 0);
}

}  // namespace exchanged::book::testing

namespace exchanged::book::testing {
namespace {

// Feeds hand-written commands to both implementations, numbering them like the stream does.
struct Pair {
    StreamConfig config = make_stream_config(2);
    Matcher matcher{config.instruments, config.limits};
    reference::ReferenceBook ref{config.instruments, config.limits};
    SequenceNumber seq = 0;

    // Returns {matcher events, reference events}.
    std::pair<std::vector<Event>, std::vector<Event>> send(Command c) {
        c.seq = ++seq;
        c.timestamp_ns = static_cast<TimestampNs>(seq) * 10;
        std::pair<std::vector<Event>, std::vector<Event>> result;
        matcher.apply(c, result.first);
        ref.apply(c, result.second);
        return result;
    }
};

Command limit(AccountId account, Side side, Price price, Quantity quantity, ClientOrderId cid) {
    Command c;
    c.type = CommandType::NewOrder;
    c.instrument = 1;  // tick 1, lot 1, band 1..400
    c.account = account;
    c.side = side;
    c.price = price;
    c.quantity = quantity;
    c.client_order_id = cid;
    return c;
}

std::string listing(const std::vector<Event>& events) {
    std::string s;
    for (const Event& e : events) {
        s += "  " + describe(e) + "\n";
    }
    return s;
}

}  // namespace

// Each section is the smallest input found where the matcher and docs/matching.md disagreed. The
// expectations are the spec's; the reference must meet them, and so must the matcher.
TEST_CASE("spec corner cases", "[book][differential]") {
    Pair p;
    SECTION("a self-trade cancel caused by a liquidation is critical") {
        // "Liquidation orders are marked critical on every event they cause."
        p.send(limit(1, Side::Sell, 100, 5, 1));
        Command liq = limit(1, Side::Buy, 100, 5, 2);
        liq.time_in_force = TimeInForce::ImmediateOrCancel;
        liq.flags = order_flags::kLiquidation;
        const auto [real, ref] = p.send(liq);
        INFO("matcher:\n" << listing(real) << "reference:\n" << listing(ref));
        REQUIRE(ref.size() == 3);
        CHECK(ref[1].cancel_reason == CancelReason::SelfTrade);
        CHECK(ref[1].order_id == 1);
        CHECK(ref[1].critical);
        CHECK(real == ref);
    }
    SECTION("a fill-or-kill liquidation acts as immediate-or-cancel") {
        // "they act as immediate-or-cancel whatever time in force they carry"
        p.send(limit(1, Side::Sell, 100, 2, 1));
        Command liq = limit(2, Side::Buy, 100, 5, 1);
        liq.time_in_force = TimeInForce::FillOrKill;
        liq.flags = order_flags::kLiquidation;
        const auto [real, ref] = p.send(liq);
        INFO("matcher:\n" << listing(real) << "reference:\n" << listing(ref));
        REQUIRE(ref.size() == 3);
        CHECK(ref[1].type == EventType::Trade);
        CHECK(ref[1].quantity == 2);
        CHECK(ref[2].cancel_reason == CancelReason::ImmediateOrCancel);
        CHECK(ref[2].quantity == 3);
        CHECK(real == ref);
    }
    SECTION("cancel and replace name a configured instrument and account before the lookup") {
        // "unknown_instrument when the named instrument is not configured, unknown_account when
        // the account id is out of range; then ... unknown_order ... not_your_order"
        p.send(limit(1, Side::Sell, 100, 5, 1));
        for (const CommandType type : {CommandType::Cancel, CommandType::Replace}) {
            Command c;
            c.type = type;
            c.order_id = 1;
            c.price = 101;
            c.quantity = 5;
            c.instrument = 3;  // not configured
            c.account = 1;
            {
                const auto [real, ref] = p.send(c);
                INFO("unknown instrument, matcher:\n"
                     << listing(real) << "reference:\n"
                     << listing(ref));
                REQUIRE(ref.size() == 1);
                CHECK(ref[0].reject_reason == RejectReason::UnknownInstrument);
                CHECK(real == ref);
            }
            c.instrument = 1;
            c.account = p.config.limits.max_accounts;
            {
                const auto [real, ref] = p.send(c);
                INFO("unknown account, matcher:\n"
                     << listing(real) << "reference:\n"
                     << listing(ref));
                REQUIRE(ref.size() == 1);
                CHECK(ref[0].reject_reason == RejectReason::UnknownAccount);
                CHECK(real == ref);
            }
            c.account = 2;
            {
                const auto [real, ref] = p.send(c);
                REQUIRE(ref.size() == 1);
                CHECK(ref[0].reject_reason == RejectReason::NotYourOrder);
                CHECK(real == ref);
            }
        }
    }
}

}  // namespace exchanged::book::testing
