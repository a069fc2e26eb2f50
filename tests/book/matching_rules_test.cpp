// Hand-written scenarios for the matching rules of docs/matching.md: priority, prices, order types,
// time in force, post-only, liquidation and self-trade prevention.
#include <catch2/catch.hpp>

#include "book_fixture.hpp"

using namespace exchanged;
using namespace exchanged::book;
using namespace exchanged::book::testing;

using ET = EventType;

TEST_CASE("a trade prints at the resting order's price", "[book][matching]") {
    BookFixture f;
    f.sell(1, 1000, 10);
    auto events = f.buy(2, 1050, 10);
    REQUIRE(types(events) == std::vector{ET::Accepted, ET::Trade});
    CHECK(events[1].price == 1000);
    CHECK(events[1].quantity == 10);
    CHECK(events[1].leaves == 0);
    CHECK(events[1].maker_leaves == 0);
    CHECK(events[1].maker_account == 1);
    CHECK(events[1].account == 2);
    CHECK(events[1].side == Side::Buy);
    CHECK(events[1].trade_id == 1);
    CHECK(f.matcher.resting_orders() == 0);
}

TEST_CASE("better prices trade first, then older orders at the same price", "[book][matching]") {
    BookFixture f;
    const OrderId first_1000 = f.rest(1, Side::Sell, 1000, 10);
    const OrderId at_995 = f.rest(3, Side::Sell, 995, 10);
    const OrderId second_1000 = f.rest(4, Side::Sell, 1000, 10);
    auto events = f.buy(2, 1000, 30);
    REQUIRE(types(events) == std::vector{ET::Accepted, ET::Trade, ET::Trade, ET::Trade});
    CHECK(events[1].maker_order_id == at_995);
    CHECK(events[1].price == 995);
    CHECK(events[2].maker_order_id == first_1000);
    CHECK(events[3].maker_order_id == second_1000);
    CHECK(events[3].leaves == 0);
}

TEST_CASE("a bid side trades best (highest) first", "[book][matching]") {
    BookFixture f;
    f.rest(1, Side::Buy, 990, 10);
    const OrderId best = f.rest(1, Side::Buy, 1000, 10);
    auto events = f.sell(2, 900, 10);
    REQUIRE(events.size() == 2);
    CHECK(events[1].maker_order_id == best);
    CHECK(events[1].price == 1000);
    CHECK(f.matcher.best_bid(kBtc) == 990);
}

TEST_CASE("a partly filled GTC order rests with its remainder", "[book][matching]") {
    BookFixture f;
    f.sell(1, 1000, 10);
    auto events = f.buy(2, 1000, 30);
    REQUIRE(types(events) == std::vector{ET::Accepted, ET::Trade});
    CHECK(events[1].leaves == 20);
    CHECK(f.matcher.best_bid(kBtc) == 1000);
    CHECK(!f.matcher.best_ask(kBtc));
    auto order = f.matcher.find_order(events[0].order_id);
    REQUIRE(order);
    CHECK(order->leaves == 20);
}

TEST_CASE("a non-crossing limit order rests silently after its ack", "[book][matching]") {
    BookFixture f;
    f.sell(1, 1010, 10);
    auto events = f.buy(2, 1000, 10);
    REQUIRE(types(events) == std::vector{ET::Accepted});
    CHECK(events[0].leaves == 10);
    CHECK(f.matcher.best_bid(kBtc) == 1000);
    CHECK(f.matcher.best_ask(kBtc) == 1010);
}

TEST_CASE("IOC trades what it can and cancels the rest", "[book][matching]") {
    BookFixture f;
    f.sell(1, 1000, 10);
    auto events = f.buy(2, 1000, 30, {.tif = TimeInForce::ImmediateOrCancel});
    REQUIRE(types(events) == std::vector{ET::Accepted, ET::Trade, ET::Cancelled});
    CHECK(events[2].cancel_reason == CancelReason::ImmediateOrCancel);
    CHECK(events[2].quantity == 20);
    CHECK(events[2].leaves == 0);
    CHECK(f.matcher.resting_orders() == 0);
}

TEST_CASE("IOC with nothing to meet is cancelled whole", "[book][matching]") {
    BookFixture f;
    auto events = f.buy(2, 1000, 30, {.tif = TimeInForce::ImmediateOrCancel});
    REQUIRE(types(events) == std::vector{ET::Accepted, ET::Cancelled});
    CHECK(events[1].quantity == 30);
}

TEST_CASE("FOK fills completely across levels or not at all", "[book][matching]") {
    BookFixture f;
    f.sell(1, 1000, 10);
    f.sell(3, 1005, 10);
    SECTION("not enough at acceptable prices: killed, nothing trades") {
        auto events = f.buy(2, 1005, 30, {.tif = TimeInForce::FillOrKill});
        REQUIRE(types(events) == std::vector{ET::Accepted, ET::Cancelled});
        CHECK(events[1].cancel_reason == CancelReason::FillOrKill);
        CHECK(events[1].quantity == 30);
        CHECK(f.matcher.resting_orders() == 2);
    }
    SECTION("the limit price excludes deeper liquidity") {
        auto events = f.buy(2, 1000, 20, {.tif = TimeInForce::FillOrKill});
        REQUIRE(types(events) == std::vector{ET::Accepted, ET::Cancelled});
    }
    SECTION("exactly enough: fills") {
        auto events = f.buy(2, 1005, 20, {.tif = TimeInForce::FillOrKill});
        REQUIRE(types(events) == std::vector{ET::Accepted, ET::Trade, ET::Trade});
        CHECK(events[2].leaves == 0);
        CHECK(f.matcher.resting_orders() == 0);
    }
}

TEST_CASE("FOK does not count the account's own orders", "[book][matching][stp]") {
    BookFixture f;
    f.sell(2, 1000, 10);  // own
    f.sell(1, 1000, 10);
    SECTION("cancel-resting: own orders are skipped; others suffice") {
        auto events = f.buy(2, 1000, 10, {.tif = TimeInForce::FillOrKill});
        REQUIRE(types(events) == std::vector{ET::Accepted, ET::Cancelled, ET::Trade});
        CHECK(events[1].cancel_reason == CancelReason::SelfTrade);
        CHECK(events[1].account == 2);
    }
    SECTION("cancel-resting: own quantity does not make up the total") {
        auto events = f.buy(2, 1000, 20, {.tif = TimeInForce::FillOrKill});
        REQUIRE(types(events) == std::vector{ET::Accepted, ET::Cancelled});
        CHECK(events[1].cancel_reason == CancelReason::FillOrKill);
        CHECK(f.matcher.resting_orders() == 2);
    }
    SECTION("cancel-incoming: counting stops at the first own order") {
        auto events = f.buy(2, 1000, 10,
                            {.tif = TimeInForce::FillOrKill, .stp = SelfTradePrevention::CancelIncoming});
        REQUIRE(types(events) == std::vector{ET::Accepted, ET::Cancelled});
        CHECK(events[1].cancel_reason == CancelReason::FillOrKill);
    }
}

TEST_CASE("market orders sweep levels and cancel what is left", "[book][matching][market]") {
    BookFixture f;
    f.sell(1, 1000, 10);
    f.sell(3, 2000, 10);
    auto events = f.buy(2, 0, 30, {.type = OrderType::Market, .tif = TimeInForce::ImmediateOrCancel});
    REQUIRE(types(events) == std::vector{ET::Accepted, ET::Trade, ET::Trade, ET::Cancelled});
    CHECK(events[1].price == 1000);
    CHECK(events[2].price == 2000);
    CHECK(events[3].quantity == 10);
    CHECK(events[3].cancel_reason == CancelReason::ImmediateOrCancel);
}

TEST_CASE("a market order meeting an empty side is rejected", "[book][matching][market]") {
    BookFixture f;
    f.buy(1, 1000, 10);  // same side: no help
    auto events = f.buy(2, 0, 10, {.type = OrderType::Market, .tif = TimeInForce::ImmediateOrCancel});
    REQUIRE(types(events) == std::vector{ET::Rejected});
    CHECK(events[0].reject_reason == RejectReason::NoLiquidity);
}

TEST_CASE("market orders must be immediate and cannot be post-only", "[book][matching][market]") {
    BookFixture f;
    f.sell(1, 1000, 10);
    auto gtc = f.buy(2, 0, 10, {.type = OrderType::Market});
    CHECK(gtc[0].reject_reason == RejectReason::InvalidTimeInForce);
    auto post = f.buy(2, 0, 10,
                      {.type = OrderType::Market,
                       .tif = TimeInForce::ImmediateOrCancel,
                       .flags = order_flags::kPostOnly});
    CHECK(post[0].reject_reason == RejectReason::InvalidFlags);
    auto fok = f.buy(2, 0, 10, {.type = OrderType::Market, .tif = TimeInForce::FillOrKill});
    CHECK(types(fok) == std::vector{ET::Accepted, ET::Trade});
}

TEST_CASE("post-only rests, or is rejected when it would take liquidity", "[book][matching]") {
    BookFixture f;
    f.sell(1, 1000, 10);
    auto resting = f.buy(2, 995, 10, {.flags = order_flags::kPostOnly});
    CHECK(types(resting) == std::vector{ET::Accepted});
    auto crossing = f.buy(2, 1000, 10, {.flags = order_flags::kPostOnly});
    REQUIRE(types(crossing) == std::vector{ET::Rejected});
    CHECK(crossing[0].reject_reason == RejectReason::PostOnlyWouldCross);
    auto own_cross = f.sell(1, 995, 10, {.flags = order_flags::kPostOnly});
    CHECK(own_cross[0].reject_reason == RejectReason::PostOnlyWouldCross);
    auto ioc = f.buy(2, 990, 10,
                     {.tif = TimeInForce::ImmediateOrCancel, .flags = order_flags::kPostOnly});
    CHECK(ioc[0].reject_reason == RejectReason::InvalidTimeInForce);
    CHECK(f.matcher.resting_orders() == 2);
}

TEST_CASE("a liquidation order acts as an aggressive IOC and is critical", "[book][matching]") {
    BookFixture f;
    f.sell(1, 1000, 10);
    auto events = f.buy(2, 1005, 30, {.flags = order_flags::kLiquidation});  // GTC given
    REQUIRE(types(events) == std::vector{ET::Accepted, ET::Trade, ET::Cancelled});
    for (const Event& e : events) {
        CHECK(e.critical);
    }
    CHECK(events[2].cancel_reason == CancelReason::ImmediateOrCancel);
    CHECK(f.matcher.resting_orders() == 0);

    auto market = f.sell(2, 0, 10, {.type = OrderType::Market, .flags = order_flags::kLiquidation});
    CHECK(market[0].reject_reason == RejectReason::NoLiquidity);
    CHECK(market[0].critical);
    auto both = f.buy(2, 1000, 10, {.flags = order_flags::kLiquidation | order_flags::kPostOnly});
    CHECK(both[0].reject_reason == RejectReason::InvalidFlags);
}

TEST_CASE("self-trade prevention: cancel resting is the default", "[book][matching][stp]") {
    BookFixture f;
    const OrderId own = f.rest(2, Side::Sell, 1000, 10);
    const OrderId other = f.rest(1, Side::Sell, 1000, 10);
    auto events = f.buy(2, 1000, 10);
    REQUIRE(types(events) == std::vector{ET::Accepted, ET::Cancelled, ET::Trade});
    CHECK(events[1].order_id == own);
    CHECK(events[1].cancel_reason == CancelReason::SelfTrade);
    CHECK(events[1].quantity == 10);
    CHECK(events[2].maker_order_id == other);
    CHECK(f.matcher.resting_orders() == 0);
}

TEST_CASE("self-trade prevention: cancel incoming keeps the resting order", "[book][matching][stp]") {
    BookFixture f;
    const OrderId other = f.rest(1, Side::Sell, 995, 10);
    const OrderId own = f.rest(2, Side::Sell, 1000, 10);
    auto events = f.buy(2, 1000, 30, {.stp = SelfTradePrevention::CancelIncoming});
    REQUIRE(types(events) == std::vector{ET::Accepted, ET::Trade, ET::Cancelled});
    CHECK(events[1].maker_order_id == other);
    CHECK(events[2].order_id == events[0].order_id);
    CHECK(events[2].cancel_reason == CancelReason::SelfTrade);
    CHECK(events[2].quantity == 20);
    CHECK(f.resting() == std::vector{own});
}

TEST_CASE("self-trade prevention: cancel both", "[book][matching][stp]") {
    BookFixture f;
    const OrderId own = f.rest(2, Side::Sell, 1000, 10);
    const OrderId other = f.rest(1, Side::Sell, 1000, 10);
    auto events = f.buy(2, 1000, 10, {.stp = SelfTradePrevention::CancelBoth});
    REQUIRE(types(events) == std::vector{ET::Accepted, ET::Cancelled, ET::Cancelled});
    CHECK(events[1].order_id == own);
    CHECK(events[2].order_id == events[0].order_id);
    CHECK(f.resting() == std::vector{other});
}

TEST_CASE("books of different instruments are independent", "[book][matching]") {
    BookFixture f;
    f.sell(1, 1000, 10, {.instrument = kEth});
    auto events = f.buy(2, 1000, 10);
    CHECK(types(events) == std::vector{ET::Accepted});
    CHECK(f.matcher.best_ask(kEth) == 1000);
    CHECK(f.matcher.best_bid(kBtc) == 1000);
}

TEST_CASE("levels report total quantity and order count", "[book]") {
    BookFixture f;
    f.buy(1, 1000, 10);
    f.buy(2, 1000, 20);
    f.buy(1, 990, 30);
    auto levels = f.matcher.levels(kBtc, Side::Buy, 10);
    REQUIRE(levels.size() == 2);
    CHECK(levels[0].price == 1000);
    CHECK(levels[0].total == 30);
    CHECK(levels[0].count == 2);
    CHECK(levels[1].price == 990);
    f.sell(3, 1000, 20);
    levels = f.matcher.levels(kBtc, Side::Buy, 1);
    REQUIRE(levels.size() == 1);
    CHECK(levels[0].total == 10);
    CHECK(levels[0].count == 1);
}

TEST_CASE("prices at the edges of the band work", "[book]") {
    BookFixture f;
    f.sell(1, 100'000, 10);
    f.buy(2, 100, 10);
    CHECK(f.matcher.best_ask(kBtc) == 100'000);
    CHECK(f.matcher.best_bid(kBtc) == 100);
    auto events = f.sell(3, 100, 20, {.tif = TimeInForce::ImmediateOrCancel});
    REQUIRE(types(events) == std::vector{ET::Accepted, ET::Trade, ET::Cancelled});
    CHECK(!f.matcher.best_bid(kBtc));
}
