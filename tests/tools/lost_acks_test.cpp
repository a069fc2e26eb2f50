// `exchangectl store lost` without processes: a store cut at any LSN, as a crash leaves a profile
// that acknowledges at match, loses exactly the journal lines of the later commands, and what it
// keeps then passes `store verify`; a hole, a contradiction or a broken promise is a failure.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "mini_exchange.hpp"
#include "temp_file.hpp"
#include "tools/client/journal_contents.hpp"
#include "tools/store/lost_acks.hpp"
#include "tools/store/profile_names.hpp"
#include "tools/store/store_from_config.hpp"
#include "tools/store/store_journal_check.hpp"
#include "tools/store/store_rows.hpp"

using namespace exchanged;
using Catch::Matchers::Contains;

namespace {

struct Split {
    tools::LostAcks lost;
    std::string kept;
};

Split split(const test::MiniExchange& x, const std::string& journal,
            const tools::LossRules& rules = {}) {
    std::istringstream in(journal);
    std::ostringstream kept;
    const tools::StoreRows rows =
        tools::read_store_rows(*tools::open_configured_store(x.profile()));
    Split result{
        tools::find_lost_acks(in, rows, x.layout(), tools::ProfileNames(x.profile()), rules, kept),
        {}};
    result.kept = kept.str();
    return result;
}

std::string failures(const tools::LostAcks& lost) {
    std::string text;
    for (const std::string& failure : lost.failures) {
        text += failure + "\n";
    }
    return text;
}

std::string edited(std::string journal, const std::string& from, const std::string& to) {
    const std::size_t at = journal.find(from);
    REQUIRE(at != std::string::npos);
    return journal.replace(at, from.size(), to);
}

std::uint64_t count_lines(const std::string& text, const std::string& prefix) {
    std::istringstream in(text);
    std::uint64_t count = 0;
    for (std::string line; std::getline(in, line);) {
        count += line.rfind(prefix, 0) == 0 ? 1 : 0;
    }
    return count;
}

}  // namespace

TEST_CASE("store lost: a store cut at any LSN loses the later lines and keeps a clean journal",
          "[tools][store]") {
    for (int cut = 0; cut <= 8; ++cut) {
        INFO("store cut after LSN " << cut);
        test::TempDir dir;
        test::MiniExchange x(dir);
        test::trade_scenario(x);
        REQUIRE(x.last_lsn() <= 8);
        x.fill_store(static_cast<wal::Lsn>(cut));

        const Split result = split(x, x.journal());
        INFO(failures(result.lost));
        REQUIRE(result.lost.failures.empty());
        CHECK(result.lost.kept + result.lost.lost() == result.lost.lines);
        const std::string& journal = x.journal();
        CHECK(result.lost.lost_accepted + count_lines(result.kept, "accepted ") ==
              count_lines(journal, "accepted "));
        if (static_cast<wal::Lsn>(cut) >= x.last_lsn()) {
            CHECK(result.lost.lost() == 0);
            CHECK(result.kept == journal);
        } else {
            CHECK(result.lost.lost() > 0);
        }

        // What is kept holds up to the strict check the later cycles run.
        std::istringstream kept(result.kept);
        tools::JournalContents contents = tools::read_journal(kept);
        const auto store = tools::open_configured_store(x.profile());
        const tools::StoreVerifyResult strict = tools::verify_store_against_journal(
            contents, *store, x.layout(), tools::ProfileNames(x.profile()));
        std::string strict_failures;
        for (const std::string& failure : strict.failures) {
            strict_failures += failure + "\n";
        }
        INFO(strict_failures);
        CHECK(strict.failures.empty());
    }
}

TEST_CASE("store lost: a line missing before a present one is a hole, not a loss",
          "[tools][store]") {
    test::TempDir dir;
    test::MiniExchange x(dir);
    const test::Scenario s = test::trade_scenario(x);
    x.fill_store();
    // The first accepted line now names an order the store does not have; bob's later lines
    // are all there.
    const std::string journal =
        edited(x.journal(), "order_id=" + std::to_string(s.b1) + " ", "order_id=999 ");
    const Split result = split(x, journal);
    CHECK_THAT(failures(result.lost), Contains("a record was lost from the middle"));
}

TEST_CASE("store lost: a row that contradicts its line fails", "[tools][store]") {
    test::TempDir dir;
    test::MiniExchange x(dir);
    test::trade_scenario(x);
    x.fill_store();
    const Split result =
        split(x, edited(x.journal(), "price=2000000 qty=10", "price=2000000 qty=11"));
    CHECK_THAT(failures(result.lost), Contains("has other fields"));
}

TEST_CASE("store lost: a critical order or a trade the profile acked after the store is never lost",
          "[tools][store]") {
    test::TempDir dir;
    test::MiniExchange x(dir);
    const test::Scenario s = test::trade_scenario(x);
    tools::LossRules rules;
    SECTION("critical orders") {
        x.fill_store(s.before_b3);  // bob's resting buy of 2 is lost
        rules.critical_orders_durable = true;
        rules.critical_order_threshold = 1;
        CHECK_THAT(failures(split(x, x.journal(), rules).lost),
                   Contains("a critical order is acknowledged only after the store committed it"));
        rules.critical_order_threshold = 2;
        CHECK(split(x, x.journal(), rules).lost.failures.empty());
    }
    SECTION("trades") {
        x.fill_store(s.before_b2);  // trade 2 is lost
        rules.trades_durable = true;
        CHECK_THAT(failures(split(x, x.journal(), rules).lost), Contains("sync_all_trades"));
    }
}

TEST_CASE("store lost: rejected lines are kept and unreadable lines fail", "[tools][store]") {
    test::TempDir dir;
    test::MiniExchange x(dir);
    test::trade_scenario(x);
    x.fill_store();
    const std::string rejected =
        "rejected account=alice instrument=1 client_id=7 order_id=0 request=new_order "
        "reason=busy\n";
    const Split result = split(x, x.journal() + rejected + "nonsense here\n");
    CHECK(result.kept == x.journal() + rejected);
    CHECK_THAT(failures(result.lost), Contains("not a journal line"));
}

TEST_CASE("store lost: the loss in time spans the lost lines' receive times", "[tools][store]") {
    test::TempDir dir;
    test::MiniExchange x(dir);
    test::trade_scenario(x);
    x.fill_store(3);
    // Each line received a millisecond after the one before it.
    std::istringstream in(x.journal());
    std::string stamped;
    std::int64_t at_us = 1'700'000'000'000'000;
    for (std::string line; std::getline(in, line); at_us += 1000) {
        stamped += line + " at_us=" + std::to_string(at_us) + "\n";
    }
    const Split plain = split(x, x.journal());
    const Split timed = split(x, stamped);
    INFO(failures(timed.lost));
    REQUIRE(timed.lost.failures.empty());
    REQUIRE(timed.lost.lost() > 1);
    CHECK(timed.lost.lost() == plain.lost.lost());
    // The span covers the lost accepted orders (the window bounds new orders, not cancels).
    const auto lost_orders = static_cast<std::uint64_t>(count_lines(x.journal(), "accepted ") -
                                                        count_lines(timed.kept, "accepted "));
    REQUIRE(lost_orders > 1);
    CHECK(timed.lost.lost_untimed == 0);
    CHECK(plain.lost.lost_untimed == lost_orders);
    CHECK(plain.lost.lost_span.empty());
    // The kept lines carry their stamps, and the lost ones are the journal's tail.
    CHECK_THAT(timed.kept, Contains(" at_us="));
    CHECK(timed.lost.lost_span.last_us <= at_us - 1000);
    CHECK(timed.lost.lost_span.ms() >= static_cast<double>(lost_orders - 1));
    CHECK(timed.lost.accepted_timed == count_lines(x.journal(), "accepted "));
    CHECK_FALSE(timed.lost.lost_span_by_ack);

    // With the daemon's stamps on every line (here 2 ms apart), those measure the loss.
    std::istringstream again(x.journal());
    std::string acked;
    std::int64_t ack_us = 1'700'000'000'000'000;
    for (std::string line; std::getline(again, line); ack_us += 2000) {
        acked +=
            line + " ack_us=" + std::to_string(ack_us) + " at_us=" + std::to_string(ack_us) + "\n";
    }
    const Split by_ack = split(x, acked);
    REQUIRE(by_ack.lost.failures.empty());
    CHECK(by_ack.lost.lost_span_by_ack);
    CHECK(by_ack.lost.lost_span.last_us == ack_us - 2000);
    CHECK(by_ack.lost.lost_span.ms() == Approx(2.0 * timed.lost.lost_span.ms()));
}

TEST_CASE("store lost: a mass cancel is kept only while nothing before it on its shard is lost",
          "[tools][store]") {
    test::TempDir dir;
    test::MiniExchange x(dir);
    test::trade_scenario(x);
    const std::string extra =
        "replace_sent account=alice instrument=1 order_id=1 request_id=8 price=1 qty=1\n"
        "mass_cancelled account=alice instrument=1 request_id=9 count=0\n";
    SECTION("everything in the store: both kept") {
        x.fill_store();
        const Split result = split(x, x.journal() + extra);
        INFO(failures(result.lost));
        CHECK(result.lost.failures.empty());
        CHECK(count_lines(result.kept, "mass_cancelled ") == 1);
        CHECK(count_lines(result.kept, "replace_sent ") == 1);
    }
    SECTION("alice's lines lost: the mass cancel after them goes too, the request stays") {
        x.fill_store(0);
        const Split result = split(x, x.journal() + extra);
        INFO(failures(result.lost));
        CHECK(result.lost.failures.empty());
        CHECK(count_lines(result.kept, "mass_cancelled ") == 0);
        CHECK(count_lines(result.kept, "replace_sent ") == 1);
    }
}
