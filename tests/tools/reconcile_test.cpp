// `exchangectl reconcile` without processes: a store filled from the events of a real WAL agrees
// with the WAL's replay, with itself and with the journal; each kind of damage to its rows is
// found by the check meant for it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "mini_exchange.hpp"
#include "temp_file.hpp"
#include "tools/client/journal_contents.hpp"
#include "tools/store/positions.hpp"
#include "tools/store/profile_names.hpp"
#include "tools/store/reconcile.hpp"
#include "tools/store/store_from_config.hpp"
#include "tools/store/wal_replay.hpp"
#include "wal/segment_format.hpp"

using namespace exchanged;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

tools::StoreRows store_rows(const test::MiniExchange& x) {
    return tools::read_store_rows(*tools::open_configured_store(x.profile()));
}

std::string reports(const std::vector<tools::CheckResult>& checks) {
    std::string text;
    for (const tools::CheckResult& check : checks) {
        text += check.report();
    }
    return text;
}

std::vector<std::string> failed_names(const std::vector<tools::CheckResult>& checks) {
    std::vector<std::string> names;
    for (const tools::CheckResult& check : checks) {
        if (!check.ok()) {
            names.push_back(check.name());
        }
    }
    return names;
}

tools::JournalContents journal_of(const std::string& text) {
    std::istringstream in(text);
    return tools::read_journal(in);
}

store::StoredOrder& order_row(tools::StoreRows& rows, OrderId id) {
    const auto it = std::find_if(rows.orders.begin(), rows.orders.end(),
                                 [&](const store::StoredOrder& o) { return o.order_id == id; });
    REQUIRE(it != rows.orders.end());
    return *it;
}

struct Traded {
    test::TempDir dir;
    test::MiniExchange x{dir};
    test::Scenario s = test::trade_scenario(x);
    Traded() { x.close_wal(); }
};

}  // namespace

TEST_CASE("reconcile: the store agrees with the WAL replay and the journal", "[tools][store]") {
    Traded t;
    t.x.fill_store();
    const tools::WalReplay replay = tools::replay_wal(t.x.profile(), t.x.layout(), {});
    INFO(replay.check.report());
    REQUIRE(replay.check.ok());
    REQUIRE(replay.rows);
    CHECK_THAT(replay.check.report(), StartsWith("WAL replay: PASS (LSN 1..7: 7 records (0 "
                                                 "checkpoints matched the live state hash), ") &&
                                          Contains("; 6 orders, 2 trades)"));
    const tools::StoreRows rows = store_rows(t.x);
    const tools::JournalContents journal = journal_of(t.x.journal());
    const std::vector<tools::CheckResult> checks = tools::reconcile(
        rows, &*replay.rows, &journal, t.x.layout(), tools::ProfileNames(t.x.profile()));
    INFO(reports(checks));
    CHECK(failed_names(checks).empty());
    CHECK(checks.size() == 10);
    CHECK_THAT(reports(checks),
               Contains("store vs replay: orders: PASS (6 checked)") &&
                   Contains("store vs replay: trades: PASS (2 checked)") &&
                   Contains("store vs replay: positions: PASS (2 account/instrument positions "
                            "equal)") &&
                   Contains("journal vs store: positions: PASS (2 account/instrument positions "
                            "over 4 journaled fills equal)"));
}

TEST_CASE("reconcile: a store behind the WAL differs from the replay", "[tools][store]") {
    Traded t;
    t.x.fill_store(t.s.before_b2);
    const tools::WalReplay replay = tools::replay_wal(t.x.profile(), t.x.layout(), {});
    REQUIRE(replay.rows);
    const std::vector<tools::CheckResult> checks = tools::reconcile(
        store_rows(t.x), &*replay.rows, nullptr, t.x.layout(), tools::ProfileNames(t.x.profile()));
    INFO(reports(checks));
    CHECK(failed_names(checks) == std::vector<std::string>{"store vs replay: orders",
                                                           "store vs replay: trades",
                                                           "store vs replay: positions"});
    CHECK_THAT(reports(checks),
               Contains("order " + std::to_string(t.s.b3) +
                        " of shard 0: in the replay, not in the store") &&
                   Contains("trade 2 of shard 0: in the replay, not in the store") &&
                   Contains("alice(1) AMZN: store bought 0 sold 4 cash 8000000, replay bought 0 "
                            "sold 10 cash 20000000"));
}

TEST_CASE("reconcile: each kind of damage is found", "[tools][store]") {
    Traded t;
    t.x.fill_store();
    const tools::StoreRows replay = store_rows(t.x);
    tools::StoreRows rows = replay;
    std::string journal_text = t.x.journal();
    std::vector<std::string> expected_failures;
    std::string expected;

    SECTION("an order's leaves") {
        order_row(rows, t.s.a3).leaves = 2;
        expected_failures = {"store vs replay: orders"};
        expected =
            "order " + std::to_string(t.s.a3) + " of shard 0: leaves 2 vs 3 (store vs replay)";
    }
    SECTION("an order's executed quantity") {
        order_row(rows, t.s.b1).executed = 3;
        expected_failures = {"store: executed = sum of trades", "store vs replay: orders"};
        expected =
            "order " + std::to_string(t.s.b1) + " of shard 0: executed 3, its trades add up to 4";
    }
    SECTION("a filled order with leaves") {
        order_row(rows, t.s.b2).leaves = 1;
        expected_failures = {"store: leaves agree with order states", "store vs replay: orders"};
        expected = "order " + std::to_string(t.s.b2) + " of shard 0 is filled with leaves 1";
    }
    SECTION("a trade's price: the positions differ") {
        rows.trades[0].price += 100;
        expected_failures = {"store vs replay: trades", "store vs replay: positions",
                             "journal vs store: positions"};
        expected =
            "bob(2) AMZN: store bought 10 sold 0 cash -20000400, replay bought 10 sold 0 "
            "cash -20000000";
    }
    SECTION("a journaled fill's quantity: the journal's positions differ") {
        journal_text = [&] {
            const std::string from = "trade_id=2 order_id=" + std::to_string(t.s.a1);
            std::string text = journal_text;
            const std::size_t at = text.find(from);
            REQUIRE(at != std::string::npos);
            const std::size_t qty = text.find("qty=6", at);
            return text.replace(qty, 5, "qty=5");
        }();
        expected_failures = {"journal vs store: positions"};
        expected =
            "alice(1) AMZN: journal bought 0 sold 9 cash 18000000, store bought 0 sold 10 "
            "cash 20000000";
    }
    SECTION("a crossed book") {
        order_row(rows, t.s.b3).price = 2'000'500;
        expected_failures = {"store: books not crossed", "store vs replay: orders"};
        expected = "AMZN: best bid 2000500 (order " + std::to_string(t.s.b3) +
                   " of shard 0) at or above best ask 2000500 (order " + std::to_string(t.s.a3) +
                   " of shard 0)";
    }
    SECTION("a trade id twice") {
        rows.trades.insert(rows.trades.begin(), rows.trades[0]);
        // The journal's positions look each trade up once, so they still agree.
        expected_failures = {"store: trade ids unique", "store: executed = sum of trades",
                             "store vs replay: trades", "store vs replay: positions"};
        expected = "trade 1 of shard 0 is in the store more than once";
    }
    SECTION("a trade whose maker is someone else's order") {
        rows.trades[0].maker_order_id = t.s.a3;
        rows.trades[0].maker_account = 2;
        expected_failures = {"store: trades match their orders", "store: executed = sum of trades",
                             "store vs replay: trades", "store vs replay: positions",
                             "journal vs store: positions"};
        expected = "trade 1 of shard 0: maker order " + std::to_string(t.s.a3) +
                   " belongs to alice(1), the trade says bob(2)";
    }
    SECTION("an order missing from the store") {
        rows.orders.erase(rows.orders.begin());
        expected_failures = {"store: trades match their orders", "store vs replay: orders"};
        expected =
            "order " + std::to_string(t.s.a1) + " of shard 0: in the replay, not in the store";
    }
    const tools::JournalContents journal = journal_of(journal_text);
    const std::vector<tools::CheckResult> checks =
        tools::reconcile(rows, &replay, &journal, t.x.layout(), tools::ProfileNames(t.x.profile()));
    INFO(reports(checks));
    CHECK(failed_names(checks) == expected_failures);
    CHECK_THAT(reports(checks), Contains(expected));
}

TEST_CASE("reconcile: the WAL replay is skipped when the log does not start at LSN 1",
          "[tools][store]") {
    test::TempDir dir;
    test::TempDir other;
    const exchanged::Config profile = exchanged::load_config(
        test::MiniExchange(dir).profile_path(),
        exchanged::ConfigOverrides{other.path().string(), std::nullopt, std::nullopt});
    const engine::ShardLayout layout = engine::make_shard_layout(profile);

    SECTION("older segments recycled") {
        std::filesystem::create_directories(profile.persistence.wal_path);
        std::ofstream(profile.persistence.wal_path / wal::segment_file_name(5001)) << "";
        std::ofstream(profile.persistence.wal_path / wal::segment_file_name(9001)) << "";
        CHECK(tools::oldest_segment_lsn(profile.persistence.wal_path) == 5001);
        CHECK(tools::replay_wal(profile, layout, {}).check.report() ==
              "WAL replay: skipped, the WAL starts at LSN 5001 (older segments were recycled "
              "after they reached the store)\n");
    }
    SECTION("no WAL at all") {
        CHECK(tools::replay_wal(profile, layout, {}).check.report() ==
              "WAL replay: skipped, no WAL segment in " + profile.persistence.wal_path.string() +
                  "\n");
        exchanged::Config unlogged = profile;
        unlogged.persistence.enable_wal = false;
        CHECK(tools::replay_wal(unlogged, layout, {}).check.report() ==
              "WAL replay: skipped, the profile keeps no WAL (enable_wal = false)\n");
    }
}

TEST_CASE("reconcile: positions and their cash", "[tools][store]") {
    tools::Positions positions;
    // 1e9 × 1e6 per trade, ten thousand times: beyond 64 bits.
    for (int i = 0; i < 10'000; ++i) {
        tools::add_execution(positions, 1, 4, Side::Buy, 1'000'000'000, 1'000'000);
    }
    const tools::Position& p = positions.at({1, 4});
    CHECK(p.bought == 10'000'000'000);
    CHECK(tools::cash_text(p.cash) == "-10000000000000000000");
    CHECK(tools::cash_text(0) == "0");
    CHECK(tools::cash_text(42) == "42");
}
