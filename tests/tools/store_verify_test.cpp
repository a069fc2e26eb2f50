// `exchangectl store verify` without processes: an acknowledgement journal against a store filled
// from the same events passes, and each way the two can disagree is found and named.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "mini_exchange.hpp"
#include "temp_file.hpp"
#include "tools/client/journal_contents.hpp"
#include "tools/store/profile_names.hpp"
#include "tools/store/store_from_config.hpp"
#include "tools/store/store_journal_check.hpp"

using namespace exchanged;
using Catch::Matchers::Contains;

namespace {

tools::StoreVerifyResult verify(const test::MiniExchange& x, const std::string& journal_text) {
    std::istringstream in(journal_text);
    tools::JournalContents journal = tools::read_journal(in);
    const auto store = tools::open_configured_store(x.profile());
    return tools::verify_store_against_journal(journal, *store, x.layout(),
                                               tools::ProfileNames(x.profile()));
}

std::string all_failures(const tools::StoreVerifyResult& result) {
    std::string text;
    for (const std::string& failure : result.failures) {
        text += failure + "\n";
    }
    return text;
}

// The journal with the first occurrence of `from` replaced by `to`.
std::string edited(std::string journal, const std::string& from, const std::string& to) {
    const std::size_t at = journal.find(from);
    REQUIRE(at != std::string::npos);
    return journal.replace(at, from.size(), to);
}

std::string nth_line(const std::string& text, int n) {
    std::istringstream in(text);
    std::string line;
    for (int i = 0; i < n; ++i) {
        std::getline(in, line);
    }
    return line;
}

}  // namespace

TEST_CASE("store verify: a store holding every event passes", "[tools][store]") {
    test::TempDir dir;
    test::MiniExchange x(dir);
    test::trade_scenario(x);
    x.fill_store();
    const tools::StoreVerifyResult result = verify(x, x.journal());
    INFO(all_failures(result));
    CHECK(result.failures.empty());
    CHECK(result.passed == 6 + 4);  // six orders, two trades of two fills each
    CHECK(result.store_orders == 6);
    CHECK(result.store_trades == 2);
}

TEST_CASE("store verify: ids are per shard", "[tools][store]") {
    test::TempDir dir;
    test::MiniExchange x(dir, 2);  // AMZN on shard 0, AAPL on shard 1: both count from 1
    const OrderId amzn = x.order("alice", 1, Side::Sell, 2'000'000, 10);
    const OrderId aapl = x.order("bob", 2, Side::Sell, 1'000'000, 10);
    CHECK(amzn == aapl);
    x.order("bob", 1, Side::Buy, 2'000'000, 3);
    x.order("alice", 2, Side::Buy, 1'000'000, 3);
    x.fill_store();
    const tools::StoreVerifyResult result = verify(x, x.journal());
    INFO(all_failures(result));
    CHECK(result.failures.empty());
    CHECK(result.passed == 4 + 4);
}

TEST_CASE("store verify: a store missing events fails", "[tools][store]") {
    test::TempDir dir;
    test::MiniExchange x(dir);
    const test::Scenario s = test::trade_scenario(x);
    std::vector<std::string> expected;

    SECTION("an acknowledged order") {
        x.fill_store(s.before_b3);
        expected = {"FAIL line 11: order account=bob instrument=1 client_order_id=106 order_id=" +
                    std::to_string(s.b3) +
                    ": not in the store (shard 0): an acknowledged order was lost"};
    }
    SECTION("a cancel") {
        x.fill_store(s.before_cancel);
        expected = {"cancelled in the journal, open in the store"};
    }
    SECTION("fills") {
        x.fill_store(s.before_b1);
        expected = {"trade_id=1 taker order_id=" + std::to_string(s.b1) +
                        ": not in the store (shard 0): an acknowledged trade was lost",
                    "leaves 10 in the store, more than quantity minus journaled fills (0)",
                    "executed 0 in the store, less than the journaled fills (10)",
                    "fully filled in the journal, open in the store"};
    }
    const std::string failures = all_failures(verify(x, x.journal()));
    for (const std::string& text : expected) {
        CHECK_THAT(failures, Contains(text));
    }
}

TEST_CASE("store verify: a journal that disagrees with the store fails", "[tools][store]") {
    test::TempDir dir;
    test::MiniExchange x(dir);
    const test::Scenario s = test::trade_scenario(x);
    x.fill_store();
    struct Edit {
        std::string from;
        std::string to;
        std::string expected;
    };
    const std::vector<Edit> edits = {
        {"price=2000500 qty=3", "price=2000500 qty=7", "quantity 7 in the journal, 3 in the store"},
        {"side=buy price=1999000", "side=buy price=1999100",
         "price 1999100 in the journal, 1999000 in the store"},
        // The taker's fill of trade 1 turned into a second maker fill.
        {"liquidity=taker", "liquidity=maker",
         "maker order_id " + std::to_string(s.b1) + " in the journal, " + std::to_string(s.a1) +
             " in the store"},
        {"accepted account=alice", "accepted account=carol",
         "account 'carol' is not in the profile"},
        {"accepted account=alice", "accepted account=bob",
         "account bob(2) in the journal, alice(1) in the store"},
    };
    for (const Edit& edit : edits) {
        INFO(edit.from << " -> " << edit.to);
        CHECK_THAT(all_failures(verify(x, edited(x.journal(), edit.from, edit.to))),
                   Contains(edit.expected));
    }
    // Line 3 is the taker's fill of trade 1: journaled again, or again for another instrument.
    // Journaled again as it was (another session's copy) it is the same trade, counted once; with
    // other contents it fails.
    const std::string fill = nth_line(x.journal(), 3);
    const tools::StoreVerifyResult repeated = verify(x, x.journal() + fill + "\n");
    CHECK(repeated.failures.empty());
    CHECK(repeated.passed == verify(x, x.journal()).passed);
    CHECK_THAT(all_failures(verify(x, x.journal() + edited(fill, " qty=", " qty=1") + "\n")),
               Contains("FAIL line 12: fill instrument=1 trade_id=1 taker order_id=" +
                        std::to_string(s.b1) +
                        ": the same trade for the same order already on line 3 with other "
                        "contents"));
    // A fill the store never had (a planted trade id), and a replace it never had.
    CHECK_THAT(
        all_failures(verify(x, x.journal() + edited(fill, "trade_id=1", "trade_id=77") + "\n")),
        Contains("trade_id=77 taker order_id=" + std::to_string(s.b1) +
                 ": not in the store (shard 0): an acknowledged trade was lost"));
    CHECK_THAT(
        all_failures(verify(x, x.journal() + "replaced account=alice instrument=1 order_id=" +
                                   std::to_string(s.a1) +
                                   " client_order_id=1 request_id=5 price=1 leaves=1\n")),
        Contains("price (replaced) 1 in the journal"));
    // A replace sent without an answer may or may not have happened: the row's price passes.
    const std::string unanswered =
        "replace_sent account=alice instrument=1 order_id=" + std::to_string(s.a1) +
        " request_id=5 price=1 qty=1\n";
    CHECK(verify(x, x.journal() + unanswered).failures.empty());
    CHECK_THAT(all_failures(verify(x, x.journal() + edited(fill, "instrument=1", "instrument=2"))),
               Contains("FAIL line 12: fill account=bob instrument=2 trade_id=1 taker order_id=" +
                        std::to_string(s.b1) +
                        ": trade id already journaled on line 3 for instrument 1 of the same "
                        "shard"));
}
