// Hand-written scenarios for validation, client order ids, cancel, replace, mass cancel, capacity
// and the state hash (docs/matching.md).
#include <catch2/catch.hpp>

#include "book_fixture.hpp"

using namespace exchanged;
using namespace exchanged::book;
using namespace exchanged::book::testing;

using ET = EventType;

namespace {

RejectReason reject_of(const std::vector<Event>& events) {
    REQUIRE(events.size() == 1);
    REQUIRE(events[0].type == ET::Rejected);
    return events[0].reject_reason;
}

}  // namespace

TEST_CASE("new orders are validated with a reason for each fault", "[book][validation]") {
    BookFixture f;
    CHECK(reject_of(f.buy(1, 1000, 10, {.instrument = 99})) == RejectReason::UnknownInstrument);
    CHECK(reject_of(f.buy(8, 1000, 10)) == RejectReason::UnknownAccount);
    CHECK(reject_of(f.buy(1, 1003, 10)) == RejectReason::PriceOffTick);
    CHECK(reject_of(f.buy(1, 1000, 15)) == RejectReason::QuantityOffLot);
    CHECK(reject_of(f.buy(1, 1000, 0)) == RejectReason::InvalidQuantity);
    CHECK(reject_of(f.buy(1, 1000, -10)) == RejectReason::InvalidQuantity);
    CHECK(reject_of(f.buy(1, 1000, 1'000'010)) == RejectReason::QuantityTooLarge);
    CHECK(reject_of(f.buy(1, 0, 10)) == RejectReason::InvalidPrice);
    CHECK(reject_of(f.buy(1, -5, 10)) == RejectReason::InvalidPrice);
    CHECK(reject_of(f.buy(1, 95, 10)) == RejectReason::PriceOutsideBand);
    CHECK(reject_of(f.buy(1, 100'005, 10)) == RejectReason::PriceOutsideBand);
    CHECK(reject_of(f.buy(1, 1000, 10, {.flags = 0x80})) == RejectReason::InvalidFlags);

    Command bad;
    bad.instrument = kBtc;
    bad.price = 1000;
    bad.quantity = 10;
    bad.client_order_id = 777;
    Command c = bad;
    c.side = static_cast<Side>(7);
    CHECK(reject_of(f.send(c)) == RejectReason::InvalidSide);
    c = bad;
    c.order_type = static_cast<OrderType>(7);
    CHECK(reject_of(f.send(c)) == RejectReason::InvalidOrderType);
    c = bad;
    c.time_in_force = static_cast<TimeInForce>(7);
    CHECK(reject_of(f.send(c)) == RejectReason::InvalidTimeInForce);
    c = bad;
    c.self_trade = static_cast<SelfTradePrevention>(7);
    CHECK(reject_of(f.send(c)) == RejectReason::InvalidSelfTradePrevention);
    c = bad;
    c.type = static_cast<CommandType>(9);
    CHECK(reject_of(f.send(c)) == RejectReason::InvalidCommand);

    CHECK(f.matcher.resting_orders() == 0);
    CHECK(f.matcher.next_order_id() == 1);  // rejected orders consume no order id
}

TEST_CASE("a reject echoes the command so the client can match it", "[book][validation]") {
    BookFixture f;
    auto events = f.buy(3, 1003, 10);
    REQUIRE(events.size() == 1);
    CHECK(events[0].account == 3);
    CHECK(events[0].client_order_id == f.client_order_id);
    CHECK(events[0].price == 1003);
    CHECK(events[0].quantity == 10);
    CHECK(events[0].seq == f.seq);
    CHECK(events[0].timestamp_ns == static_cast<TimestampNs>(f.seq) * 1'000);
}

TEST_CASE("client order ids are unique per account", "[book][client-order-id]") {
    BookFixture f;
    Command c;
    c.account = 1;
    c.instrument = kBtc;
    c.price = 1000;
    c.quantity = 10;
    c.client_order_id = 42;
    CHECK(types(f.send(c)) == std::vector{ET::Accepted});

    SECTION("while the order rests") {
        CHECK(reject_of(f.send(c)) == RejectReason::DuplicateClientOrderId);
    }
    SECTION("after it finished, a resend is still refused") {
        f.sell(2, 1000, 10);
        CHECK(f.matcher.resting_orders() == 0);
        CHECK(reject_of(f.send(c)) == RejectReason::DuplicateClientOrderId);
    }
    SECTION("another account may use the same id") {
        c.account = 2;
        CHECK(types(f.send(c)) == std::vector{ET::Accepted});
    }
    SECTION("a rejected order does not use up its id") {
        Command bad = c;
        bad.client_order_id = 43;
        bad.price = 1001;
        CHECK(reject_of(f.send(bad)) == RejectReason::PriceOffTick);
        bad.price = 1000;
        CHECK(types(f.send(bad)) == std::vector{ET::Accepted});
    }
}

TEST_CASE("finished client order ids are remembered for the configured window",
          "[book][client-order-id]") {
    MatcherLimits limits = BookFixture::small_limits();
    limits.client_order_id_window = 3;
    BookFixture f(limits);
    auto ioc = [&](ClientOrderId id) {
        Command c;
        c.account = 1;
        c.instrument = kBtc;
        c.price = 1000;
        c.quantity = 10;
        c.time_in_force = TimeInForce::ImmediateOrCancel;
        c.client_order_id = id;
        return f.send(c);
    };
    for (ClientOrderId id = 1; id <= 3; ++id) {
        CHECK(types(ioc(id)) == std::vector{ET::Accepted, ET::Cancelled});
    }
    CHECK(reject_of(ioc(1)) == RejectReason::DuplicateClientOrderId);
    CHECK(types(ioc(4)) == std::vector{ET::Accepted, ET::Cancelled});  // pushes id 1 out
    CHECK(types(ioc(1)) == std::vector{ET::Accepted, ET::Cancelled});
    CHECK(reject_of(ioc(3)) == RejectReason::DuplicateClientOrderId);
}

TEST_CASE("a full book rejects orders that could rest, not immediate ones", "[book][capacity]") {
    MatcherLimits limits = BookFixture::small_limits();
    limits.max_orders = 2;
    BookFixture f(limits);
    f.buy(1, 1000, 10);
    f.buy(1, 995, 10);
    CHECK(reject_of(f.buy(1, 990, 10)) == RejectReason::BookFull);
    CHECK(types(f.sell(2, 1000, 10, {.tif = TimeInForce::ImmediateOrCancel})) ==
          std::vector{ET::Accepted, ET::Trade});
    CHECK(types(f.buy(1, 990, 10)) == std::vector{ET::Accepted});  // a slot was freed
}

TEST_CASE("cancel removes a resting order of the caller's account", "[book][cancel]") {
    BookFixture f;
    const OrderId id = f.rest(1, Side::Buy, 1000, 10);
    CHECK(reject_of(f.cancel(2, id)) == RejectReason::NotYourOrder);
    CHECK(reject_of(f.cancel(1, id, kEth)) == RejectReason::UnknownOrder);
    CHECK(reject_of(f.cancel(1, id + 100)) == RejectReason::UnknownOrder);
    CHECK(reject_of(f.cancel(1, id, 99)) == RejectReason::UnknownInstrument);
    auto events = f.cancel(1, id);
    REQUIRE(types(events) == std::vector{ET::Cancelled});
    CHECK(events[0].order_id == id);
    CHECK(events[0].cancel_reason == CancelReason::ClientRequest);
    CHECK(events[0].quantity == 10);
    CHECK(events[0].price == 1000);
    CHECK(f.matcher.resting_orders() == 0);
    CHECK(!f.matcher.best_bid(kBtc));
    CHECK(reject_of(f.cancel(1, id)) == RejectReason::UnknownOrder);
}

TEST_CASE("cancelling from the middle of a level keeps the others' order", "[book][cancel]") {
    BookFixture f;
    const OrderId a = f.rest(1, Side::Sell, 1000, 10);
    const OrderId b = f.rest(1, Side::Sell, 1000, 10);
    const OrderId c = f.rest(1, Side::Sell, 1000, 10);
    f.cancel(1, b);
    CHECK(f.resting() == std::vector{a, c});
    auto events = f.buy(2, 1000, 20);
    CHECK(events[1].maker_order_id == a);
    CHECK(events[2].maker_order_id == c);
}

TEST_CASE("replace: a smaller quantity at the same price keeps time priority", "[book][replace]") {
    BookFixture f;
    const OrderId first = f.rest(1, Side::Sell, 1000, 30);
    const OrderId second = f.rest(3, Side::Sell, 1000, 10);
    auto events = f.replace(1, first, 1000, 20);
    REQUIRE(types(events) == std::vector{ET::Replaced});
    CHECK(events[0].leaves == 20);
    CHECK(f.resting() == std::vector{first, second});
    CHECK(f.matcher.levels(kBtc, Side::Sell, 1)[0].total == 30);
    auto same = f.replace(1, first, 1000, 20);
    CHECK(types(same) == std::vector{ET::Replaced});
    CHECK(f.resting() == std::vector{first, second});
}

TEST_CASE("replace: a larger quantity or a new price loses time priority", "[book][replace]") {
    BookFixture f;
    const OrderId first = f.rest(1, Side::Sell, 1000, 10);
    const OrderId second = f.rest(3, Side::Sell, 1000, 10);
    SECTION("larger quantity") {
        CHECK(types(f.replace(1, first, 1000, 20)) == std::vector{ET::Replaced});
        CHECK(f.resting() == std::vector{second, first});
        CHECK(f.matcher.find_order(first)->leaves == 20);
    }
    SECTION("new price and back") {
        f.replace(1, first, 1005, 10);
        CHECK(f.matcher.best_ask(kBtc) == 1000);
        f.replace(1, first, 1000, 10);
        CHECK(f.resting() == std::vector{second, first});
    }
}

TEST_CASE("replace: a crossing price trades as a new arrival", "[book][replace]") {
    BookFixture f;
    const OrderId bid = f.rest(2, Side::Buy, 995, 10);
    const OrderId ask = f.rest(1, Side::Sell, 1000, 30);
    auto events = f.replace(1, ask, 995, 30);
    REQUIRE(types(events) == std::vector{ET::Replaced, ET::Trade});
    CHECK(events[1].maker_order_id == bid);
    CHECK(events[1].order_id == ask);
    CHECK(events[1].price == 995);
    CHECK(events[1].leaves == 20);
    CHECK(f.matcher.best_ask(kBtc) == 995);
    CHECK(f.matcher.find_order(ask)->leaves == 20);
    SECTION("and fully filled it leaves the book") {
        f.rest(3, Side::Buy, 990, 20);
        auto filled = f.replace(1, ask, 990, 20);
        REQUIRE(types(filled) == std::vector{ET::Replaced, ET::Trade});
        CHECK(!f.matcher.find_order(ask));
        CHECK(reject_of(f.cancel(1, ask)) == RejectReason::UnknownOrder);
    }
    SECTION("meeting its own account with cancel-incoming cancels the replaced order") {
        f.rest(1, Side::Buy, 990, 10);
        auto stopped = f.replace(1, ask, 990, 20, kBtc, SelfTradePrevention::CancelIncoming);
        REQUIRE(types(stopped) == std::vector{ET::Replaced, ET::Cancelled});
        CHECK(stopped[1].order_id == ask);
        CHECK(stopped[1].cancel_reason == CancelReason::SelfTrade);
        CHECK(!f.matcher.find_order(ask));
    }
}

TEST_CASE("replace: a post-only order that would cross is refused and kept", "[book][replace]") {
    BookFixture f;
    f.rest(2, Side::Buy, 995, 10);
    const OrderId ask = f.rest(1, Side::Sell, 1000, 10, {.flags = order_flags::kPostOnly});
    CHECK(reject_of(f.replace(1, ask, 995, 10)) == RejectReason::PostOnlyWouldCross);
    auto order = f.matcher.find_order(ask);
    REQUIRE(order);
    CHECK(order->price == 1000);
    CHECK(types(f.replace(1, ask, 1005, 10)) == std::vector{ET::Replaced});
}

TEST_CASE("replace is validated like a new order", "[book][replace]") {
    BookFixture f;
    const OrderId id = f.rest(1, Side::Buy, 1000, 10);
    CHECK(reject_of(f.replace(2, id, 1000, 10)) == RejectReason::NotYourOrder);
    CHECK(reject_of(f.replace(1, id + 9, 1000, 10)) == RejectReason::UnknownOrder);
    CHECK(reject_of(f.replace(1, id, 1000, 0)) == RejectReason::InvalidQuantity);
    CHECK(reject_of(f.replace(1, id, 1000, 15)) == RejectReason::QuantityOffLot);
    CHECK(reject_of(f.replace(1, id, 1000, 2'000'000)) == RejectReason::QuantityTooLarge);
    CHECK(reject_of(f.replace(1, id, 1001, 10)) == RejectReason::PriceOffTick);
    CHECK(reject_of(f.replace(1, id, 50, 10)) == RejectReason::PriceOutsideBand);
    CHECK(reject_of(f.replace(1, id, 0, 10)) == RejectReason::InvalidPrice);
    CHECK(f.matcher.find_order(id)->price == 1000);
}

TEST_CASE("mass cancel removes an account's orders, in one instrument or all", "[book][mass]") {
    BookFixture f;
    const OrderId a = f.rest(1, Side::Buy, 1000, 10);
    const OrderId other = f.rest(2, Side::Buy, 1000, 10);
    const OrderId b = f.rest(1, Side::Sell, 10, 5, {.instrument = kEth});
    const OrderId c = f.rest(1, Side::Sell, 2000, 10);
    SECTION("one instrument") {
        auto events = f.mass_cancel(1, kBtc);
        REQUIRE(types(events) == std::vector{ET::Cancelled, ET::Cancelled, ET::MassCancelled});
        CHECK(events[0].order_id == a);
        CHECK(events[1].order_id == c);
        CHECK(events[0].cancel_reason == CancelReason::MassCancel);
        CHECK(events[2].quantity == 2);
        CHECK(f.resting(kBtc) == std::vector{other});
        CHECK(f.resting(kEth) == std::vector{b});
    }
    SECTION("all instruments, in order-id order") {
        auto events = f.mass_cancel(1);
        REQUIRE(events.size() == 4);
        CHECK(events[0].order_id == a);
        CHECK(events[1].order_id == b);
        CHECK(events[1].instrument == kEth);
        CHECK(events[2].order_id == c);
        CHECK(events[3].quantity == 3);
        CHECK(f.matcher.resting_orders() == 1);
    }
    SECTION("nothing to cancel still reports") {
        auto events = f.mass_cancel(5);
        REQUIRE(types(events) == std::vector{ET::MassCancelled});
        CHECK(events[0].quantity == 0);
    }
    SECTION("bad account or instrument") {
        CHECK(reject_of(f.mass_cancel(9)) == RejectReason::UnknownAccount);
        CHECK(reject_of(f.mass_cancel(1, 77)) == RejectReason::UnknownInstrument);
    }
}

TEST_CASE("the state hash follows the resting orders and counters", "[book][hash]") {
    BookFixture a;
    BookFixture b;
    CHECK(a.matcher.state_hash() == b.matcher.state_hash());
    a.buy(1, 1000, 10);
    CHECK(a.matcher.state_hash() != b.matcher.state_hash());
    b.buy(1, 1000, 10);
    CHECK(a.matcher.state_hash() == b.matcher.state_hash());
    // Same orders, different priority: different hash.
    BookFixture c;
    BookFixture d;
    const OrderId c1 = c.rest(1, Side::Buy, 1000, 10);
    c.rest(2, Side::Buy, 1000, 20);
    d.rest(1, Side::Buy, 1000, 10);
    d.rest(2, Side::Buy, 1000, 20);
    CHECK(c.matcher.state_hash() == d.matcher.state_hash());
    c.replace(1, c1, 1000, 20);  // loses priority
    d.replace(1, c1, 1000, 10);  // keeps it
    CHECK(c.matcher.state_hash() != d.matcher.state_hash());
}

TEST_CASE("bad instrument specs and limits are refused with the reason", "[book][config]") {
    auto make = [](InstrumentSpec spec) {
        std::vector<InstrumentSpec> specs{spec};
        return Matcher(specs, MatcherLimits{});
    };
    CHECK_THROWS_WITH(make({1, "X", 0, 1, 1, 10, 1}), Catch::Contains("tick_size"));
    CHECK_THROWS_WITH(make({1, "X", 1, 0, 1, 10, 1}), Catch::Contains("lot_size"));
    CHECK_THROWS_WITH(make({1, "X", 1, 1, 10, 5, 1}), Catch::Contains("band"));
    CHECK_THROWS_WITH(make({1, "X", 5, 1, 7, 100, 1}), Catch::Contains("multiples of tick_size"));
    CHECK_THROWS_WITH(make({1, "X", 1, 1, 1, 100'000'000, 1}), Catch::Contains("ticks"));
    CHECK_THROWS_WITH(make({1, "X", 1, 10, 1, 100, 15}), Catch::Contains("max_order_quantity"));
    CHECK_THROWS_WITH(make({70'000, "X", 1, 1, 1, 100, 1}), Catch::Contains("above"));
    std::vector<InstrumentSpec> twice{{1, "X", 1, 1, 1, 10, 1}, {1, "Y", 1, 1, 1, 10, 1}};
    CHECK_THROWS_WITH(Matcher(twice, MatcherLimits{}), Catch::Contains("twice"));
    MatcherLimits no_orders;
    no_orders.max_orders = 0;
    CHECK_THROWS_WITH(Matcher(std::vector<InstrumentSpec>{}, no_orders),
                      Catch::Contains("max_orders"));
}

TEST_CASE("client order ids look up resting, finished and unknown orders",
          "[book][client-order-id]") {
    MatcherLimits limits = BookFixture::small_limits();
    limits.client_order_id_window = 1;
    BookFixture f(limits);
    const OrderId resting = f.rest(1, Side::Buy, 1000, 10);
    const ClientOrderId resting_id = f.client_order_id;
    auto lookup = f.matcher.find_by_client_order_id(1, resting_id);
    CHECK(lookup.state == ClientOrderLookup::State::Resting);
    CHECK(lookup.order_id == resting);
    REQUIRE(lookup.resting);
    CHECK(lookup.resting->leaves == 10);
    CHECK(f.matcher.find_by_client_order_id(2, resting_id).state ==
          ClientOrderLookup::State::Unknown);

    f.cancel(1, resting);
    lookup = f.matcher.find_by_client_order_id(1, resting_id);
    CHECK(lookup.state == ClientOrderLookup::State::Finished);
    CHECK(lookup.order_id == resting);
    CHECK(!lookup.resting);

    // A second finished order pushes the first out of a window of one.
    f.buy(1, 1000, 10, {.tif = TimeInForce::ImmediateOrCancel});
    CHECK(f.matcher.find_by_client_order_id(1, resting_id).state ==
          ClientOrderLookup::State::Unknown);
}
