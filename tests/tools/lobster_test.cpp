// The LOBSTER reader must turn any bad input into an error naming the file and line, and the
// replayed sample day is a real-data check of price-time priority: each visible execution of an
// order we know must trade against exactly that order, and our book (a subset of the real one)
// must never show a better price than the real book did.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "book/matcher.hpp"
#include "tools/workloads/lobster.hpp"
#include "tools/workloads/lobster_check.hpp"

namespace exchanged::tools::lobster {
namespace {

using Catch::Matchers::Contains;

const std::string kSampleDir = std::string(EXCHANGED_SHARED_DIR) + "/data/lobster/";
const std::string kMessageFile = kSampleDir + "AMZN_2012-06-21_34200000_57600000_message_1.csv";
const std::string kOrderbookFile = kSampleDir + "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv";

constexpr const char* kGoodLine = "34200.18960767,1,11885113,21,2238100,1\n";

std::vector<Message> parse(const std::string& text) {
    std::istringstream in(text);
    return parse_messages(in, "test.csv");
}

// The parse error for `bad` placed on line 2, after one good line.
std::string error_for(const std::string& bad) {
    try {
        parse(std::string(kGoodLine) + bad + "\n");
    } catch (const LobsterError& error) {
        return error.what();
    }
    return "no error";
}

// A scratch file removed at the end of the test.
class TempFile {
  public:
    explicit TempFile(const std::string& text)
        : path_(std::filesystem::temp_directory_path() /
                ("lobster_test_" + std::to_string(::getpid()) + ".csv")) {
        std::ofstream(path_) << text;
    }
    ~TempFile() {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    std::string path() const { return path_.string(); }

  private:
    std::filesystem::path path_;
};

bool sample_present() {
    if (std::filesystem::exists(kMessageFile) && std::filesystem::exists(kOrderbookFile)) {
        return true;
    }
    WARN("test skipped: LOBSTER sample not found at " << kSampleDir);
    return false;
}

}  // namespace

TEST_CASE("lobster parser reads good lines", "[tools][lobster]") {
    const std::vector<Message> m = parse(std::string(kGoodLine) +
                                         "34200.190226476,4,11534792,26,2237500,-1\r\n"
                                         "34200.017459617,5,0,1,2238250,-1\n"
                                         "36023,7,0,0,-1,-1\n");
    REQUIRE(m.size() == 4);
    CHECK(m[0].time_ns == 34'200'189'607'670);
    CHECK(m[0].type == MessageType::NewLimit);
    CHECK(m[0].order_id == 11'885'113);
    CHECK(m[0].size == 21);
    CHECK(m[0].price == 2'238'100);
    CHECK(m[0].side == Side::Buy);
    CHECK(m[0].line == 1);
    CHECK(m[1].type == MessageType::VisibleExecution);
    CHECK(m[1].side == Side::Sell);  // the Windows line ending is not part of the direction
    CHECK(m[2].type == MessageType::HiddenExecution);
    CHECK(m[2].order_id == 0);
    CHECK(m[3].type == MessageType::TradingHalt);
    CHECK(m[3].time_ns == 36'023'000'000'000);
    CHECK(m[3].price == -1);
    CHECK(parse("").empty());
}

TEST_CASE("lobster parser names the line and the problem", "[tools][lobster]") {
    CHECK_THAT(error_for("34200.1,1,5,21,2238100"),
               Contains("test.csv:2:") && Contains("expected 6 columns") && Contains("found 5"));
    CHECK_THAT(error_for("34200.1,1,5,21,2238100,1,9"),
               Contains("test.csv:2:") && Contains("found 7"));
    CHECK_THAT(error_for(""), Contains("test.csv:2:") && Contains("found 1"));
    CHECK_THAT(error_for("34200.1,1,abc,21,2238100,1"),
               Contains("test.csv:2:") && Contains("order id is not a whole number: 'abc'"));
    CHECK_THAT(error_for("34200.1,1,5,21x,2238100,1"),
               Contains("test.csv:2:") && Contains("size is not a whole number"));
    CHECK_THAT(error_for("34200.1,1,5,21,,1"),
               Contains("test.csv:2:") && Contains("price is not a whole number"));
    CHECK_THAT(error_for("noon,1,5,21,2238100,1"), Contains("test.csv:2:") && Contains("time"));
    CHECK_THAT(error_for("34200.1234567891,1,5,21,2238100,1"),
               Contains("test.csv:2:") && Contains("at most 9 decimals"));
    CHECK_THAT(error_for("34200.1,6,5,21,2238100,1"),
               Contains("test.csv:2:") && Contains("unknown message type 6"));
    CHECK_THAT(error_for("34200.1,0,5,21,2238100,1"),
               Contains("test.csv:2:") && Contains("unknown message type 0"));
    CHECK_THAT(error_for("34200.1,1,5,21,2238100,0"),
               Contains("test.csv:2:") && Contains("direction must be 1 (buy) or -1 (sell)"));
    CHECK_THAT(error_for("34200.1,1,5,21,2238100,2"),
               Contains("test.csv:2:") && Contains("found 2"));
    CHECK_THAT(error_for("34200.1,1,5,-21,2238100,1"),
               Contains("test.csv:2:") && Contains("size is negative (-21)"));
    CHECK_THAT(error_for("34200.1,3,5,0,2238100,1"),
               Contains("test.csv:2:") && Contains("size is 0"));
    CHECK_THAT(error_for("34200.1,1,5,21,-100,1"),
               Contains("test.csv:2:") && Contains("price is not positive"));
    CHECK_THAT(error_for("34200.1,1,-5,21,2238100,1"),
               Contains("test.csv:2:") && Contains("order id is negative"));
    CHECK_THAT(error_for("34200.1,4,0,21,2238100,1"),
               Contains("test.csv:2:") && Contains("order id is 0"));
    // Overflow is a bad number, not a wrapped one.
    CHECK_THAT(error_for("34200.1,1,5,99999999999999999999,2238100,1"),
               Contains("test.csv:2:") && Contains("size is not a whole number"));
}

TEST_CASE("lobster parser survives garbage", "[tools][lobster]") {
    std::string garbage;
    for (int i = 0; i < 4096; ++i) {
        garbage += static_cast<char>((i * 131 + 7) % 256);
    }
    CHECK_THROWS_AS(parse(garbage), LobsterError);
    CHECK_THROWS_WITH(parse(std::string("\0\0\0,\xff", 5)),
                      Contains("test.csv:1:") && Contains("expected 6 columns"));
}

TEST_CASE("lobster reader names the file", "[tools][lobster]") {
    const TempFile file(std::string(kGoodLine) + kGoodLine + "34200.1,1,5,21,2238100,-2\n");
    CHECK_THROWS_WITH(read_messages(file.path()), Contains(file.path() + ":3:"));
    CHECK_THROWS_WITH(read_messages(file.path() + ".missing"),
                      Contains(file.path() + ".missing") && Contains("cannot open"));
}

TEST_CASE("lobster orderbook rows and empty sides", "[tools][lobster]") {
    std::istringstream in(
        "2239500,100,2231800,100\n"
        "9999999999,0,2231800,100,9999999999,0,-9999999999,0\n"
        "2239500,100,-9999999999,0\n");
    const std::vector<TopOfBook> rows = parse_orderbook(in, "book.csv");
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].ask == 2'239'500);
    CHECK(rows[0].bid == 2'231'800);
    CHECK_FALSE(rows[1].ask.has_value());
    CHECK(rows[1].bid == 2'231'800);
    CHECK_FALSE(rows[2].bid.has_value());

    std::istringstream bad("2239500,100,2231800,100\n2239500,100,2231800\n");
    CHECK_THROWS_WITH(parse_orderbook(bad, "book.csv"),
                      Contains("book.csv:2:") && Contains("found 3"));
}

TEST_CASE("lobster conversion of a small day", "[tools][lobster]") {
    // 7 rested before the file (unknown); 1 and 2 are new bids at one price, 3 a new ask.
    const std::vector<Message> messages = parse(
        "1.0,1,1,100,2000000,1\n"
        "1.1,1,2,50,2000000,1\n"
        "1.2,1,3,10,2010000,-1\n"
        "1.3,2,1,30,2000000,1\n"   // partial cancel: 70 left, keeps priority over order 2
        "1.4,4,1,20,2000000,1\n"   // must hit order 1, not 2
        "1.5,4,7,5,2000000,1\n"    // unknown order: skipped
        "1.6,2,1,50,2000000,1\n"   // cancels all that is left: a Cancel
        "1.7,3,3,10,2010000,-1\n"  // delete
        "1.8,3,3,10,2010000,-1\n"  // already gone: skipped
        "1.9,5,0,10,2005050,1\n"
        "2.0,7,0,0,-1,-1\n");
    const Conversion c = convert(messages);
    CHECK(c.counts.new_orders == 3);
    CHECK(c.counts.replaces == 1);
    CHECK(c.counts.cancels == 2);
    CHECK(c.counts.executions == 1);
    CHECK(c.counts.unknown_executions == 1);
    CHECK(c.counts.unknown_deletes == 1);
    CHECK(c.counts.hidden_skipped == 1);
    CHECK(c.counts.halts_skipped == 1);
    CHECK(c.counts.rejected == 0);
    REQUIRE(c.commands.size() == 7);
    CHECK(c.commands[0].account == 1 + 1 % kRestingAccounts);
    CHECK(c.commands[3].type == book::CommandType::Replace);
    CHECK(c.commands[3].quantity == 70);
    CHECK(c.commands[4].account == kAggressorAccount);
    CHECK(c.commands[4].side == Side::Sell);
    CHECK(c.commands[4].time_in_force == book::TimeInForce::ImmediateOrCancel);
    CHECK(c.commands[5].type == book::CommandType::Cancel);
    REQUIRE(c.executions.size() == 1);
    CHECK(c.executions[0].command == 4);
    CHECK(c.executions[0].maker_order_id == 1);
    CHECK(c.executions[0].quantity == 20);
    CHECK(c.message_of_command[4] == 4);
}

TEST_CASE("lobster reconciliation drops orders that leave the top level", "[tools][lobster]") {
    // Order 1 is pushed to the second level by order 2, is then cancelled there without a message
    // (a level-1 file does not see it), and order 2 goes: the real best bid is empty.
    const std::vector<Message> messages = parse(
        "1.0,1,1,100,2000000,1\n"
        "1.1,1,2,50,2000100,1\n"
        "1.2,3,2,50,2000100,1\n"
        "1.3,4,1,10,2000000,1\n");  // order 1 is unknown by now: no execution
    std::vector<TopOfBook> tops(4);
    tops[0].bid = 2'000'000;
    tops[0].bid_size = 100;
    tops[1].bid = 2'000'100;
    tops[1].bid_size = 50;
    const Conversion raw = convert(messages);
    CHECK(raw.counts.executions == 1);  // the stale order would be executed
    const Conversion c = convert(messages, &tops);
    CHECK(c.counts.reconcile_cancels == 1);
    CHECK(c.counts.executions == 0);
    CHECK(c.counts.unknown_executions == 1);
    REQUIRE(c.commands.size() == 4);
    CHECK(c.commands[2].type == book::CommandType::Cancel);
    CHECK(c.commands[2].order_id == 1);
    CHECK(c.message_of_command[2] == 1);
    CHECK(c.message_of_command[3] == 2);
    std::vector<TopOfBook> short_tops(3);
    CHECK_THROWS_WITH(convert(messages, &short_tops), Contains("3 rows for 4 messages"));
}

TEST_CASE("lobster executions with one timestamp are one aggressor", "[tools][lobster]") {
    // As on line 1947 of the sample: the newer order 2 is listed before the older order 1.
    const std::vector<Message> messages = parse(
        "1.0,1,1,4,2236900,-1\n"
        "1.1,1,2,10,2236900,-1\n"
        "1.2,1,3,5,2237000,-1\n"
        "2.0,4,2,10,2236900,-1\n"
        "2.0,4,9,3,2236900,-1\n"  // rested before the file: not in our book
        "2.0,4,1,4,2236900,-1\n"
        "2.0,4,3,2,2237000,-1\n"
        "2.0,4,8,1,2236000,1\n");  // the other side: a new run
    const Conversion c = convert(messages);
    CHECK(c.counts.aggressors == 1);  // the last message names a buy order nobody knows
    CHECK(c.counts.executions == 3);
    CHECK(c.counts.unknown_executions == 2);
    CHECK(c.counts.messages_by_type[4] == 5);
    REQUIRE(c.commands.size() == 4);
    const book::Command& sweep = c.commands[3];
    CHECK(sweep.side == Side::Buy);
    CHECK(sweep.price == 2'237'000);
    CHECK(sweep.quantity == 16);
    CHECK(c.message_of_command[3] == 3);

    book::Matcher matcher(c.instruments, c.limits);
    std::vector<book::Event> events;
    for (const book::Command& command : c.commands) {
        events.clear();
        matcher.apply(command, events);
    }
    std::vector<std::pair<OrderId, Quantity>> fills;
    for (const book::Event& e : events) {
        if (e.type == book::EventType::Trade) {
            fills.emplace_back(e.maker_order_id, e.quantity);
        }
    }
    // Priority order, not the file's order.
    CHECK(fills == std::vector<std::pair<OrderId, Quantity>>{{1, 4}, {2, 10}, {3, 2}});
}

// A $5 stock, far outside the AMZN sample's prices: the instrument comes from the data, so the
// day replays (a fixed $100-$400 band rejected every order of it).
constexpr const char* kCheapDay =
    "1.0,1,1,100,50000,-1\n"
    "1.1,1,2,200,50100,-1\n"
    "1.2,1,3,300,49900,1\n"
    "2.0,4,1,40,50000,-1\n"
    "2.1,2,2,50,50100,-1\n"
    "2.2,3,3,300,49900,1\n";

TEST_CASE("lobster instrument comes from the day's prices", "[tools][lobster]") {
    const std::vector<Message> messages = parse(kCheapDay);
    const book::InstrumentSpec spec = instrument_for(messages, "CHEAP");
    CHECK(spec.symbol == "CHEAP");
    CHECK(spec.tick_size == 100);
    CHECK(spec.min_price == 49'900);
    CHECK(spec.max_price == 50'100);
    CHECK(spec.max_order_quantity == 600);

    const Conversion c = convert(messages, nullptr, "CHEAP");
    CHECK(c.counts.rejected == 0);
    CHECK(c.counts.executions == 1);
    const ReplayCheck r = check_replay(messages, nullptr, c);
    CHECK(r.rejected == 0);
    CHECK(r.passed() == 1);
    CHECK(r.failed() == 0);

    // Sub-penny prices give a finer tick; a halt's price column is not a price.
    const std::vector<Message> fine = parse(
        "1.0,1,1,10,12345,1\n1.1,1,2,10,12350,1\n"
        "1.2,7,0,0,-1,-1\n");
    CHECK(instrument_for(fine, "X").tick_size == 5);
    CHECK_THROWS_WITH(instrument_for(parse("1.0,7,0,0,-1,-1\n"), "X"),
                      Contains("no new limit order"));
    // One price at 1 and one at 9,999,999 in steps of 1: too many levels for the book.
    CHECK_THROWS_WITH(instrument_for(parse("1.0,1,1,10,1,1\n1.1,1,2,10,99999999,1\n"), "X"),
                      Contains("price levels, more than the book's"));
    CHECK(symbol_for("/data/MSFT_2012-06-21_34200000_57600000_message_5.csv") == "MSFT");
    CHECK(symbol_for("day.csv") == "LOBSTER");
}

TEST_CASE("lobster check fails a replay that does not match the data", "[tools][lobster]") {
    // The execution says $5.01 for an order that rests at $5.00: the data and our book disagree.
    const std::vector<Message> messages = parse(
        "1.0,1,1,100,50000,-1\n"
        "1.1,1,2,100,50100,-1\n"
        "2.0,4,1,40,50100,-1\n");
    const Conversion c = convert(messages);
    const ReplayCheck r = check_replay(messages, nullptr, c);
    CHECK(r.executions_checked == 1);
    CHECK(r.execution_mismatches == 1);
    CHECK(r.failed() == 1);
    CHECK(r.passed() == 0);
    REQUIRE_FALSE(r.problems.empty());
    CHECK_THAT(r.problems.front(), Contains("line 3:"));

    // Our book showing a better bid than the real one is a top-of-book violation.
    const std::vector<Message> bid = parse("1.0,1,1,100,50000,1\n");
    std::vector<TopOfBook> tops(1);
    tops[0].bid = 49'900;
    tops[0].bid_size = 100;
    const Conversion b = convert(bid);
    const ReplayCheck t = check_replay(bid, &tops, b);
    CHECK(t.top_violations == 1);
    CHECK(t.failed() == 1);
    std::vector<TopOfBook> short_tops;
    CHECK_THROWS_WITH(check_replay(bid, &short_tops, b), Contains("0 rows for 1 messages"));
}

TEST_CASE("lobster default data paths", "[tools][lobster]") {
    const std::vector<std::string> paths = default_message_paths("/repo/build-x/bin/exchangectl");
    REQUIRE(paths.size() == 2);
    CHECK(paths[0] == kDefaultMessageFile);
    CHECK(paths[1] == "/shared/data/lobster/AMZN_2012-06-21_34200000_57600000_message_1.csv");
}

TEST_CASE("lobster sample day replays with exact price-time priority", "[tools][lobster]") {
    if (!sample_present()) {
        return;
    }
    const std::vector<Message> messages = read_messages(kMessageFile);
    const std::vector<TopOfBook> tops = read_orderbook(kOrderbookFile);
    REQUIRE(tops.size() == messages.size());

    // The messages alone, as the level-1 file gives them: orders cancelled below the top level
    // linger, so this pass is only reported, to show why reconciliation is needed.
    const Conversion raw = convert(messages);
    const ReplayCheck unreconciled = check_replay(messages, &tops, raw);
    print_check(stdout, "LOBSTER replay, messages only", messages, raw, unreconciled);

    const Conversion c = convert(messages, &tops);
    const ReplayCheck r = check_replay(messages, &tops, c);
    print_check(stdout, "LOBSTER replay, reconciled with the orderbook file", messages, c, r);
    INFO((r.problems.empty() ? std::string() : r.problems.front()));
    REQUIRE(c.counts.rejected == 0);
    CHECK(c.instruments.front().tick_size == 100);  // learnt from the data: $0.01
    CHECK(r.commands_applied == c.commands.size());
    CHECK(r.executions_checked == c.executions.size());
    CHECK(r.executions_checked > 1000);  // the check has to bite, not pass vacuously
    CHECK(r.execution_mismatches == 0);
    CHECK(r.unexpected_trades == 0);
    CHECK(r.top_violations == 0);
    CHECK(r.rejected == 0);
    CHECK(r.failed() == 0);
    CHECK(r.passed() == r.executions_checked);
    CHECK(r.trades == r.fills_expected);
}

TEST_CASE("lobster workload repeats the day on a fresh book", "[tools][lobster]") {
    if (!sample_present()) {
        return;
    }
    const std::vector<TopOfBook> tops = read_orderbook(kOrderbookFile);
    const Conversion day = convert(read_messages(kMessageFile), &tops);
    REQUIRE(orderbook_path_for(kMessageFile) == kOrderbookFile);
    const std::size_t per_day = day.commands.size() + kRestingAccounts;
    const Workload w = make_lobster_workload(kMessageFile, 2 * per_day + 1000);
    REQUIRE(w.commands.size() == 2 * per_day + 1000);

    book::Matcher matcher(w.instruments, w.limits);
    std::vector<book::Event> events;
    std::uint64_t rejected = 0;
    std::vector<TradeId> trades_after;  // trade count at the end of each whole day
    std::vector<std::uint64_t> resting_after;
    for (std::size_t i = 0; i < w.commands.size(); ++i) {
        events.clear();
        matcher.apply(w.commands[i], events);
        for (const book::Event& e : events) {
            rejected += e.type == book::EventType::Rejected ? 1 : 0;
        }
        if ((i + 1) % per_day == 0) {
            trades_after.push_back(matcher.next_trade_id() - 1);
            resting_after.push_back(matcher.resting_orders());
        }
    }
    // A wrongly shifted order id would show up as unknown_order or a trade that did not happen.
    CHECK(rejected == 0);
    REQUIRE(trades_after.size() == 2);
    CHECK(trades_after[0] > 1000);
    CHECK(trades_after[1] == 2 * trades_after[0]);
    CHECK(resting_after[1] == resting_after[0]);
}

}  // namespace exchanged::tools::lobster
