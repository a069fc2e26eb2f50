// The client tools' pieces that need no daemon: journal lines (written, read back, refused when
// damaged), verify's consistency rules, the latency histogram and price text.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tools/client/ack_journal.hpp"
#include "tools/client/client_profile.hpp"
#include "tools/client/journal_check.hpp"
#include "tools/client/latency_histogram.hpp"

using namespace exchanged;
using namespace exchanged::tools;

namespace {

net::Accepted accepted(ClientOrderId client_order_id, OrderId order_id, Side side,
                       Quantity quantity) {
    net::Accepted a;
    a.side = side;
    a.instrument = 1;
    a.client_order_id = client_order_id;
    a.order_id = order_id;
    a.price = 2'000'000;
    a.quantity = quantity;
    return a;
}

net::Fill fill(OrderId order_id, TradeId trade_id, Side side, Quantity quantity, Quantity leaves,
               net::Liquidity liquidity) {
    net::Fill f;
    f.side = side;
    f.instrument = 1;
    f.order_id = order_id;
    f.client_order_id = order_id + 100;
    f.trade_id = trade_id;
    f.price = 2'000'000;
    f.quantity = quantity;
    f.leaves = leaves;
    f.liquidity = liquidity;
    return f;
}

std::string without_newline(std::string line) {
    REQUIRE(!line.empty());
    REQUIRE(line.back() == '\n');
    line.pop_back();
    return line;
}

net::OrderStatus resting(const JournaledOrder& order, Quantity leaves) {
    net::OrderStatus status;
    status.state = net::OrderState::Resting;
    status.instrument = order.instrument;
    status.client_order_id = order.client_order_id;
    status.order_id = order.order_id;
    status.price = order.price;
    status.leaves = leaves;
    status.side = order.side;
    return status;
}

// A journal: alice's order 7 (sell 10) fills 4 against bob's order 8 (buy 4).
JournalCheck standard_journal() {
    JournalCheck check;
    std::size_t line = 0;
    for (const std::string& text :
         {journal_line("alice", accepted(107, 7, Side::Sell, 10)),
          journal_line("bob", accepted(108, 8, Side::Buy, 4)),
          journal_line("bob", fill(8, 1, Side::Buy, 4, 0, net::Liquidity::Taker)),
          journal_line("alice", fill(7, 1, Side::Sell, 4, 6, net::Liquidity::Maker))}) {
        check.add_line(++line, without_newline(text));
    }
    check.finish_journal();
    return check;
}

}  // namespace

TEST_CASE("journal lines read back as what was written", "[tools][journal]") {
    std::string error;
    const std::string accepted_line =
        without_newline(journal_line("alice", accepted(5, 17, Side::Sell, 10)));
    CHECK(accepted_line ==
          "accepted account=alice instrument=1 client_order_id=5 order_id=17 side=sell "
          "price=2000000 qty=10");
    const auto a = parse_journal_line(accepted_line, error);
    REQUIRE(a.has_value());
    CHECK(a->kind == JournalKind::Accepted);
    CHECK(a->account == "alice");
    CHECK(a->client_order_id == 5);
    CHECK(a->order_id == 17);
    CHECK(a->side == Side::Sell);
    CHECK(a->price == 2'000'000);
    CHECK(a->quantity == 10);

    const auto f = parse_journal_line(
        without_newline(journal_line("bob", fill(17, 3, Side::Buy, 4, 6, net::Liquidity::Taker))),
        error);
    REQUIRE(f.has_value());
    CHECK(f->kind == JournalKind::Fill);
    CHECK(f->trade_id == 3);
    CHECK(f->order_id == 17);
    CHECK(f->quantity == 4);
    CHECK(f->leaves == 6);
    CHECK(f->liquidity == net::Liquidity::Taker);

    net::Cancelled c;
    c.instrument = 1;
    c.order_id = 17;
    c.quantity = 6;
    c.reason = book::CancelReason::ClientRequest;
    const auto cancelled = parse_journal_line(without_newline(journal_line("alice", c)), error);
    REQUIRE(cancelled.has_value());
    CHECK(cancelled->kind == JournalKind::Cancelled);
    CHECK(cancelled->reason == "client_request");

    net::Rejected r;
    r.reason = net::reject_code(book::RejectReason::Busy);
    r.instrument = 1;
    r.client_id = 99;
    const auto rejected = parse_journal_line(without_newline(journal_line("alice", r)), error);
    REQUIRE(rejected.has_value());
    CHECK(rejected->kind == JournalKind::Rejected);
    CHECK(rejected->reason == "busy");
    CHECK(rejected->request == "new_order");
    CHECK(rejected->client_order_id == 99);

    // Messages the journal does not keep give no line.
    CHECK(journal_line("alice", net::OrderStatus{}).empty());
}

TEST_CASE("journal lines may end with the time they were received", "[tools][journal]") {
    std::string error;
    const auto line = tools::parse_journal_line(
        "cancelled account=alice instrument=1 order_id=7 client_order_id=3 qty=5 reason=user "
        "ack_us=1700000000120000 at_us=1700000000123456 rx_us=1700000000123400",
        error);
    INFO(error);
    REQUIRE(line);
    CHECK(line->ack_us == 1'700'000'000'120'000);
    CHECK(line->at_us == 1'700'000'000'123'456);
    CHECK(line->rx_us == 1'700'000'000'123'400);
    CHECK(line->reason == "user");
    for (const char* bad :
         {" at_us=0", " at_us=x", " at_us=1 at_us=2", " ack_us=-1", " rx_us=1 rx_us=2"}) {
        INFO(bad);
        CHECK_FALSE(tools::parse_journal_line(
            std::string("cancelled account=alice instrument=1 order_id=7 client_order_id=3 qty=5 "
                        "reason=user") +
                bad,
            error));
    }
}

TEST_CASE("damaged journal lines are refused with the reason", "[tools][journal]") {
    std::string error;
    CHECK_FALSE(parse_journal_line("shipped account=a", error));
    CHECK(error.find("unknown record kind") != std::string::npos);
    CHECK_FALSE(parse_journal_line(
        "accepted account=a instrument=1 client_order_id=5 order_id=x side=buy price=1 qty=1",
        error));
    CHECK(error.find("order_id") != std::string::npos);
    CHECK_FALSE(parse_journal_line("accepted account=a instrument=1", error));
    CHECK(error.find("missing field") != std::string::npos);
    CHECK_FALSE(parse_journal_line(
        "accepted account=a instrument=1 instrument=1 client_order_id=5 order_id=1 side=buy "
        "price=1 qty=1",
        error));
    CHECK(error.find("repeated") != std::string::npos);
    CHECK_FALSE(parse_journal_line(
        "accepted account=a instrument=1 client_order_id=5 order_id=1 side=up price=1 qty=1",
        error));
    CHECK_FALSE(parse_journal_line("accepted account=a colour=blue", error));
    CHECK(error.find("unknown field") != std::string::npos);
    CHECK_FALSE(parse_journal_line("accepted junk", error));
    CHECK_FALSE(parse_journal_line(
        "accepted account=a instrument=99999999999 client_order_id=5 order_id=1 side=buy "
        "price=1 qty=1",
        error));

    JournalCheck check;
    check.add_line(1, "garbage");
    check.finish_journal();
    REQUIRE(check.failures().size() == 1);
    CHECK(check.failures()[0].find("line 1") != std::string::npos);
}

TEST_CASE("verify passes a daemon that agrees with the journal", "[tools][verify]") {
    JournalCheck check = standard_journal();
    REQUIRE(check.orders().size() == 2);
    CHECK(check.passed() == 0);  // fills count through their orders' checks, not on their own
    const JournaledOrder& sell = check.orders()[0];
    const JournaledOrder& buy = check.orders()[1];
    CHECK(sell.filled == 4);
    CHECK(buy.filled == 4);

    check.check_status(sell, resting(sell, 6));
    // Leaves below what the journal allows: more fills happened after the journal ended.
    check.check_status(sell, resting(sell, 2));
    net::OrderStatus done;
    done.state = net::OrderState::Done;
    done.order_id = buy.order_id;
    check.check_status(buy, done);
    CHECK(check.failures().empty());
    CHECK(check.passed() == 3);
}

TEST_CASE("verify fails each way the daemon can disagree with the journal", "[tools][verify]") {
    JournalCheck check = standard_journal();
    const JournaledOrder& sell = check.orders()[0];
    const JournaledOrder& buy = check.orders()[1];

    net::OrderStatus unknown;
    check.check_status(sell, unknown);
    CHECK(check.failures().back().find("not_found") != std::string::npos);

    net::OrderStatus other_id = resting(sell, 6);
    other_id.order_id = 999;
    check.check_status(sell, other_id);
    CHECK(check.failures().back().find("order_id=999") != std::string::npos);

    check.check_status(sell, resting(sell, 7));  // more open than quantity minus fills
    CHECK(check.failures().back().find("leaves=7") != std::string::npos);

    net::OrderStatus wrong_price = resting(sell, 6);
    wrong_price.price += 100;
    check.check_status(sell, wrong_price);
    CHECK(check.failures().back().find("price") != std::string::npos);

    net::OrderStatus wrong_side = resting(sell, 6);
    wrong_side.side = Side::Buy;
    check.check_status(sell, wrong_side);
    CHECK(check.failures().back().find("resting as a buy") != std::string::npos);

    // The buy is fully filled in the journal: resting contradicts it.
    check.check_status(buy, resting(buy, 1));
    CHECK(check.failures().back().find("fully filled") != std::string::npos);

    CHECK(check.failures().size() == 6);
    CHECK(check.passed() == 0);
}

TEST_CASE("verify finds journal faults: repeated fills and reused ids", "[tools][verify]") {
    const std::string order_a =
        without_newline(journal_line("alice", accepted(1, 7, Side::Sell, 10)));
    const std::string order_b =
        without_newline(journal_line("alice", accepted(2, 8, Side::Sell, 10)));
    const std::string fill_a =
        without_newline(journal_line("alice", fill(7, 5, Side::Sell, 1, 9, net::Liquidity::Maker)));
    const std::string fill_b =
        without_newline(journal_line("alice", fill(8, 5, Side::Sell, 1, 9, net::Liquidity::Maker)));

    SECTION("the same fill twice: one trade, seen by two sessions") {
        JournalCheck check;
        check.add_line(1, order_a);
        CHECK(check.add_line(2, fill_a) == LineEffect::New);
        CHECK(check.add_line(3, fill_a) == LineEffect::Duplicate);
        check.finish_journal();
        CHECK(check.failures().empty());
        CHECK(check.duplicates() == 1);
        CHECK(check.orders()[0].filled == 1);
    }
    SECTION("the same trade for the same order with other contents") {
        JournalCheck check;
        check.add_line(1, order_a);
        check.add_line(2, fill_a);
        const std::string other = without_newline(
            journal_line("alice", fill(7, 5, Side::Sell, 2, 8, net::Liquidity::Maker)));
        CHECK(check.add_line(3, other) == LineEffect::Failed);
        check.finish_journal();
        REQUIRE(check.failures().size() == 1);
        CHECK(check.failures()[0].find("line 3") != std::string::npos);
        CHECK(check.failures()[0].find("already on line 2 with other contents") !=
              std::string::npos);
    }
    SECTION("a trade id reused for another order on the same side") {
        JournalCheck check;
        check.add_line(1, order_a);
        check.add_line(2, order_b);
        check.add_line(3, fill_a);
        check.add_line(4, fill_b);
        check.finish_journal();
        REQUIRE(check.failures().size() == 1);
        CHECK(check.failures()[0].find("trade id already used") != std::string::npos);
    }
    SECTION("an order id given to two orders") {
        JournalCheck check;
        check.add_line(1, order_a);
        check.add_line(2, without_newline(journal_line("bob", accepted(3, 7, Side::Buy, 1))));
        check.finish_journal();
        REQUIRE(check.failures().size() == 1);
        CHECK(check.failures()[0].find("order id already given") != std::string::npos);
    }
    SECTION("a client order id accepted twice") {
        JournalCheck check;
        check.add_line(1, order_a);
        check.add_line(2, without_newline(journal_line("alice", accepted(1, 9, Side::Sell, 10))));
        check.finish_journal();
        REQUIRE(check.failures().size() == 1);
        CHECK(check.failures()[0].find("already accepted") != std::string::npos);
    }
    SECTION("a cancelled order the daemon says is resting") {
        JournalCheck check;
        check.add_line(1, order_a);
        net::Cancelled c;
        c.instrument = 1;
        c.order_id = 7;
        c.quantity = 10;
        check.add_line(2, without_newline(journal_line("alice", c)));
        check.finish_journal();
        check.check_status(check.orders()[0], resting(check.orders()[0], 10));
        REQUIRE(check.failures().size() == 1);
        CHECK(check.failures()[0].find("cancelled") != std::string::npos);
    }
}

TEST_CASE("latency histogram percentiles are within a percent", "[tools][latency]") {
    LatencyHistogram histogram;
    CHECK(histogram.percentile(0.5) == 0);
    for (std::uint64_t v = 1; v <= 100'000; ++v) {
        histogram.record(v * 1000);  // 1 us .. 100 ms
    }
    CHECK(histogram.count() == 100'000);
    CHECK(histogram.max() == 100'000'000);
    CHECK(histogram.percentile(0.5) == Approx(50'000'000).epsilon(0.01));
    CHECK(histogram.percentile(0.99) == Approx(99'000'000).epsilon(0.01));
    CHECK(histogram.percentile(0.999) == Approx(99'900'000).epsilon(0.01));
    CHECK(histogram.percentile(1.0) <= histogram.max());
    LatencyHistogram small;
    small.record(3);
    small.record(200);
    CHECK(small.percentile(0.5) == 3);
    CHECK(small.percentile(1.0) == 200);
    small.merge(histogram);
    CHECK(small.count() == 100'002);
}

TEST_CASE("prices read in dollars or units and print in dollars", "[tools][price]") {
    CHECK(parse_price("200.00", "--price") == 2'000'000);
    CHECK(parse_price("200", "--price") == 200);
    CHECK(parse_price("0.0001", "--price") == 1);
    CHECK(parse_price("12.5", "--price") == 125'000);
    CHECK_THROWS_AS(parse_price("1.00001", "--price"), CliError);
    CHECK_THROWS_AS(parse_price("-5", "--price"), CliError);
    CHECK_THROWS_AS(parse_price("abc", "--price"), CliError);
    CHECK_THROWS_AS(parse_price("99999999999999999999", "--price"), CliError);
    CHECK(format_price(2'000'000) == "200.0000");
    CHECK(format_price(125'001) == "12.5001");
    CHECK(format_price(0) == "0.0000");
}

namespace {

net::Replaced replaced(OrderId order_id, Price price, Quantity leaves) {
    net::Replaced r;
    r.instrument = 1;
    r.order_id = order_id;
    r.client_order_id = order_id + 100;
    r.client_request_id = 900;
    r.price = price;
    r.leaves = leaves;
    return r;
}

net::Cancelled cancelled(OrderId order_id, Quantity quantity, std::uint64_t request_id) {
    net::Cancelled c;
    c.instrument = 1;
    c.order_id = order_id;
    c.client_order_id = order_id + 100;
    c.client_request_id = request_id;
    c.quantity = quantity;
    c.reason = book::CancelReason::MassCancel;
    return c;
}

JournalCheck journal_of(const std::vector<std::string>& lines) {
    JournalCheck check;
    std::size_t number = 0;
    for (const std::string& line : lines) {
        check.add_line(++number, without_newline(line));
    }
    check.finish_journal();
    return check;
}

}  // namespace

TEST_CASE("replaced and mass_cancelled lines read back, newer trailing fields are skipped",
          "[tools][journal]") {
    std::string error;
    const auto r = parse_journal_line(
        without_newline(journal_line("alice", replaced(7, 2'000'100, 3))), error);
    REQUIRE(r.has_value());
    CHECK(r->kind == JournalKind::Replaced);
    CHECK(r->order_id == 7);
    CHECK(r->price == 2'000'100);
    CHECK(r->leaves == 3);
    CHECK(r->request_id == 900);

    net::MassCancelled m;
    m.instrument = 1;
    m.client_request_id = 901;
    m.cancelled_count = 4;
    const std::string mass = without_newline(journal_line("alice", m));
    CHECK(mass == "mass_cancelled account=alice instrument=1 request_id=901 count=4");
    const auto parsed = parse_journal_line(mass + " ts=12345", error);
    REQUIRE(parsed.has_value());
    CHECK(parsed->kind == JournalKind::MassCancelled);
    CHECK(parsed->quantity == 4);
    CHECK(parsed->request_id == 901);

    // A cancel line written before request_id existed still reads.
    const auto old = parse_journal_line(
        "cancelled account=a instrument=1 order_id=7 client_order_id=107 qty=6 "
        "reason=client_request",
        error);
    REQUIRE(old.has_value());
    CHECK(old->request_id == 0);
}

TEST_CASE("verify: a journal of two sessions of one account passes", "[tools][verify]") {
    // alice's two sessions both get the maker fill of her order 7; bob's taker fill once.
    const std::string maker =
        journal_line("alice", fill(7, 1, Side::Sell, 4, 6, net::Liquidity::Maker));
    JournalCheck check = journal_of(
        {journal_line("alice", accepted(107, 7, Side::Sell, 10)),
         journal_line("bob", accepted(108, 8, Side::Buy, 4)), maker,
         journal_line("bob", fill(8, 1, Side::Buy, 4, 0, net::Liquidity::Taker)), maker});
    CHECK(check.failures().empty());
    CHECK(check.duplicates() == 1);
    CHECK(check.orders()[0].filled == 4);
    check.check_status(check.orders()[0], resting(check.orders()[0], 6));
    CHECK(check.failures().empty());
    CHECK(check.passed() == 1);
}

TEST_CASE("verify: a fill, cancel or replace the daemon does not have fails", "[tools][verify]") {
    const std::string order = journal_line("alice", accepted(107, 7, Side::Sell, 10));
    SECTION("a planted fill: the daemon still has the whole order open") {
        JournalCheck check = journal_of(
            {order, journal_line("alice", fill(7, 9, Side::Sell, 4, 6, net::Liquidity::Maker))});
        check.check_status(check.orders()[0], resting(check.orders()[0], 10));
        REQUIRE(check.failures().size() == 1);
        CHECK(check.failures()[0].find("a fill or replace was lost") != std::string::npos);
    }
    SECTION("a planted final fill: the daemon has the order resting") {
        JournalCheck check = journal_of(
            {order, journal_line("alice", fill(7, 9, Side::Sell, 10, 0, net::Liquidity::Maker))});
        check.check_status(check.orders()[0], resting(check.orders()[0], 10));
        REQUIRE(check.failures().size() == 1);
        CHECK(check.failures()[0].find("fully filled") != std::string::npos);
    }
    SECTION("a lost cancel") {
        JournalCheck check = journal_of({order, journal_line("alice", cancelled(7, 10, 0))});
        check.check_status(check.orders()[0], resting(check.orders()[0], 10));
        REQUIRE(check.failures().size() == 1);
        CHECK(check.failures()[0].find("a cancel was lost") != std::string::npos);
    }
    SECTION("a replace: kept passes, lost or different fails") {
        JournalCheck check = journal_of({order, journal_line("alice", replaced(7, 2'000'100, 12))});
        const JournaledOrder& o = check.orders()[0];
        net::OrderStatus moved = resting(o, 12);
        moved.price = 2'000'100;
        check.check_status(o, moved);  // leaves above the first quantity: the replace raised it
        CHECK(check.failures().empty());
        check.check_status(o, resting(o, 10));  // still at the accepted price
        REQUIRE(check.failures().size() == 1);
        CHECK(check.failures()[0].find("replaced to 2000100: a replace was lost") !=
              std::string::npos);
        moved.leaves = 13;
        check.check_status(o, moved);
        REQUIRE(check.failures().size() == 2);
        CHECK(check.failures()[1].find("its last replace left open (12)") != std::string::npos);
    }
    SECTION("a cancelled order the daemon forgot how it ended passes") {
        JournalCheck check = journal_of({order, journal_line("alice", cancelled(7, 10, 0))});
        net::OrderStatus done;
        done.state = net::OrderState::Done;
        done.order_id = 7;
        check.check_status(check.orders()[0], done);
        CHECK(check.failures().empty());
    }
}

TEST_CASE("verify: a mass cancel must have as many cancels as it counted", "[tools][verify]") {
    net::MassCancelled m;
    m.instrument = 1;
    m.client_request_id = 50;
    m.cancelled_count = 2;
    const std::vector<std::string> lines = {journal_line("alice", accepted(107, 7, Side::Sell, 10)),
                                            journal_line("alice", accepted(108, 8, Side::Sell, 10)),
                                            journal_line("alice", cancelled(7, 10, 50)),
                                            journal_line("alice", cancelled(8, 10, 50)),
                                            journal_line("alice", m)};
    JournalCheck complete = journal_of(lines);
    CHECK(complete.failures().empty());
    CHECK(complete.passed() == 1);
    std::vector<std::string> missing = lines;
    missing.erase(missing.begin() + 3);
    JournalCheck short_one = journal_of(missing);
    REQUIRE(short_one.failures().size() == 1);
    CHECK(short_one.failures()[0].find(
              "the daemon said 2 orders were cancelled, the journal has 1") != std::string::npos);
}

TEST_CASE("verify: a replace sent without an answer may or may not have moved the order",
          "[tools][verify]") {
    const net::Replace request{1, 900, 7, 2'000'100, 12};
    const std::string order = journal_line("alice", accepted(107, 7, Side::Sell, 10));
    const std::string sent = replace_request_line("alice", request);
    net::OrderStatus moved;
    SECTION("unanswered: either state passes") {
        JournalCheck check = journal_of({order, sent});
        const JournaledOrder& o = check.orders()[0];
        moved = resting(o, 12);
        moved.price = 2'000'100;
        check.check_status(o, moved);
        check.check_status(o, resting(o, 10));
        CHECK(check.failures().empty());
    }
    SECTION("unanswered: fills beyond the accepted quantity pass, as after a raise") {
        JournalCheck check = journal_of(
            {order, sent,
             journal_line("alice", fill(7, 9, Side::Sell, 11, 1, net::Liquidity::Maker))});
        const JournaledOrder& o = check.orders()[0];
        moved = resting(o, 1);
        moved.price = 2'000'100;
        check.check_status(o, moved);
        CHECK(check.failures().empty());
    }
    SECTION("rejected: the order must not have moved") {
        net::Rejected r;
        r.reason = net::reject_code(book::RejectReason::UnknownOrder);
        r.instrument = 1;
        r.client_id = 900;
        r.order_id = 7;
        r.request_type = net::MessageType::Replace;
        JournalCheck check = journal_of({order, sent, journal_line("alice", r)});
        const JournaledOrder& o = check.orders()[0];
        moved = resting(o, 10);
        moved.price = 2'000'100;
        check.check_status(o, moved);
        REQUIRE(check.failures().size() == 1);
        CHECK(check.failures()[0].find("a replace was lost or changed") != std::string::npos);
    }
}

TEST_CASE("verify excuses only orders older than the daemon's finished-order memory",
          "[tools][verify]") {
    // Both orders trade on instrument 1; with a window of one finished order per shard the daemon
    // may have forgotten alice's (bob's was accepted after it), never bob's, the newest.
    JournalCheck check = standard_journal();
    check.mark_forgettable(1, [](InstrumentId) { return 0; });
    const JournaledOrder& sell = check.orders()[0];
    const JournaledOrder& buy = check.orders()[1];
    CHECK(sell.may_be_forgotten);
    CHECK_FALSE(buy.may_be_forgotten);
    net::OrderStatus unknown;
    check.check_status(sell, unknown);
    CHECK(check.failures().empty());
    CHECK(check.forgotten() == 1);
    check.check_status(buy, unknown);
    REQUIRE(check.failures().size() == 1);
    CHECK(check.failures().back().find("not_found") != std::string::npos);
    // On different shards each is the newest of its own: neither is excused.
    JournalCheck split = standard_journal();
    split.mark_forgettable(1, [n = 0](InstrumentId) mutable { return n++; });
    CHECK_FALSE(split.orders()[0].may_be_forgotten);
    CHECK_FALSE(split.orders()[1].may_be_forgotten);
}
