// The seed's scenario B (power loss) through the library: a few hundred seeded crash cycles must
// each recover every acknowledged order and trade and pass every check; a seed must replay to the
// same crashes; and each kind of damage to the recovered state must be caught, so that a passing
// run means something.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "../sanitizer_scale.hpp"
#include "tools/crash/power_loss_cycles.hpp"

using namespace exchanged;
using namespace exchanged::tools;

namespace {

std::string describe(const PowerLossOutcome& outcome) {
    std::string text = "seed " + std::to_string(outcome.seed) + " cycle " +
                       std::to_string(outcome.failed_cycle) + " (" +
                       to_string(outcome.failed_mode) + "):";
    for (const std::string& problem : outcome.problems) {
        text += "\n  " + problem;
    }
    return text;
}

bool any_problem_contains(const PowerLossOutcome& outcome, const std::string& text) {
    return std::any_of(outcome.problems.begin(), outcome.problems.end(),
                       [&](const std::string& p) { return p.find(text) != std::string::npos; });
}

// Runs `cycles` cycles of seed 11 with `tamper` and returns the outcome.
PowerLossOutcome tampered(std::uint32_t cycles,
                          std::function<void(std::uint32_t, const Acks&, RecoveredState&)> tamper) {
    PowerLossOptions options;
    options.cycles = cycles;
    options.tamper = std::move(tamper);
    return run_power_loss(11, options);
}

}  // namespace

TEST_CASE("power loss cycles recover every acknowledged order and trade",
          "[tools][crash][power-loss]") {
    // 30 seeds of 10 cycles: each scenario crashes, recovers and is checked 10 times running.
    PowerLossStats total;
    for (std::uint64_t seed = 1; seed <= exchanged::sanitizer::scaled<std::uint64_t>(30); ++seed) {
        PowerLossOptions options;
        options.cycles = 10;
        const PowerLossOutcome outcome = run_power_loss(seed, options);
        INFO(describe(outcome));
        REQUIRE(outcome.passed);
        REQUIRE(outcome.stats.cycles == 10);
        total.add(outcome.stats);
    }
    // The cycles did what they are for: commands were lost and kept, logs were torn, orders
    // traded and were resent, the store was written during the cycles.
    CHECK(total.commands_acked > 0);
    CHECK(total.commands_acked < total.commands_logged);
    CHECK(total.trades_acked > 0);
    CHECK(total.beyond_durable > 0);
    CHECK(total.torn_tails > 0);
    CHECK(total.resent_duplicates > 0);
    CHECK(total.resent > total.resent_duplicates);
    CHECK(total.store_batches > 0);
}

TEST_CASE("a power loss seed replays to the same crashes and recoveries",
          "[tools][crash][power-loss]") {
    PowerLossOptions options;
    options.cycles = 6;
    options.modes = {PowerLossMode::Drop, PowerLossMode::Torn, PowerLossMode::Flip};
    for (const std::uint64_t seed : {3u, 4u, 5u}) {
        const PowerLossOutcome first = run_power_loss(seed, options);
        const PowerLossOutcome second = run_power_loss(seed, options);
        INFO(describe(first));
        REQUIRE(first.passed);
        CHECK(second.passed);
        CHECK(first.stats.fingerprint == second.stats.fingerprint);
        CHECK(first.stats.cycles == second.stats.cycles);
        CHECK(first.stats.commands_logged == second.stats.commands_logged);
        CHECK(first.stats.beyond_durable == second.stats.beyond_durable);
        CHECK(first.stats.torn_tails == second.stats.torn_tails);
    }
}

TEST_CASE("power loss with a flipped synced bit recovers or refuses naming the place",
          "[tools][crash][power-loss]") {
    PowerLossOptions options;
    options.cycles = 5;
    options.modes = {PowerLossMode::Flip};
    std::uint64_t refusals = 0;
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        const PowerLossOutcome outcome = run_power_loss(seed, options);
        INFO(describe(outcome));
        REQUIRE(outcome.passed);
        refusals += outcome.stats.refusals;
    }
    CHECK(refusals > 0);
}

TEST_CASE("the power loss checks catch a lost acknowledged order", "[tools][crash][power-loss]") {
    std::string dropped;
    std::uint32_t at_cycle = 0;
    const PowerLossOutcome outcome =
        tampered(8, [&](std::uint32_t cycle, const Acks& acked, RecoveredState& state) {
            // Once some order was acknowledged in an earlier cycle: it must survive every later
            // recovery, not only the next.
            if (cycle < 3 || acked.orders.empty() || at_cycle != 0) {
                return;
            }
            at_cycle = cycle;
            // Recovery "forgets" the first order any client was told about.
            const auto& [key, order] = *acked.orders.begin();
            std::erase_if(state.rows.orders, [&](const store::StoredOrder& o) {
                return o.shard == key.first && o.order_id == key.second;
            });
            dropped = "acknowledged order " + std::to_string(key.second) + " of shard " +
                      std::to_string(key.first);
        });
    INFO(describe(outcome));
    REQUIRE(!dropped.empty());
    CHECK(!outcome.passed);
    CHECK(outcome.failed_cycle == at_cycle);
    CHECK(any_problem_contains(outcome, dropped));
    CHECK(any_problem_contains(outcome, "is missing after recovery"));
}

TEST_CASE("the power loss checks catch a lost acknowledged trade", "[tools][crash][power-loss]") {
    std::uint32_t at_cycle = 0;
    const PowerLossOutcome outcome =
        tampered(8, [&](std::uint32_t cycle, const Acks& acked, RecoveredState& state) {
            if (acked.trades.empty() || at_cycle != 0) {
                return;
            }
            at_cycle = cycle;
            const auto& [key, trade] = *acked.trades.rbegin();
            std::erase_if(state.rows.trades, [&](const store::StoredTrade& t) {
                return t.shard == key.first && t.trade_id == key.second;
            });
        });
    INFO(describe(outcome));
    REQUIRE(at_cycle != 0);
    CHECK(!outcome.passed);
    CHECK(outcome.failed_cycle == at_cycle);
    CHECK(any_problem_contains(outcome, "acknowledged trade"));
    // Its orders' executed quantities no longer add up to their trades either.
    CHECK(any_problem_contains(outcome, "executed"));
}

TEST_CASE("the power loss checks catch a stored order twice and invented fills",
          "[tools][crash][power-loss]") {
    SECTION("an order stored twice under one client order id") {
        const PowerLossOutcome outcome =
            tampered(2, [&](std::uint32_t cycle, const Acks&, RecoveredState& state) {
                if (cycle != 2 || state.rows.orders.empty()) {
                    return;
                }
                store::StoredOrder twin = state.rows.orders.front();
                twin.order_id = state.rows.orders.back().order_id + 1000;
                state.rows.orders.push_back(twin);
            });
        INFO(describe(outcome));
        CHECK(!outcome.passed);
        CHECK(any_problem_contains(outcome, "is in the store twice"));
    }
    SECTION("a trade whose quantity grew") {
        const PowerLossOutcome outcome =
            tampered(2, [&](std::uint32_t cycle, const Acks&, RecoveredState& state) {
                if (cycle == 2 && !state.rows.trades.empty()) {
                    state.rows.trades.front().quantity += 1;
                }
            });
        INFO(describe(outcome));
        CHECK(!outcome.passed);
        CHECK(any_problem_contains(outcome, "differs from the trade its logged command made"));
    }
}

TEST_CASE("the power loss checks catch recovered books that differ from a full replay",
          "[tools][crash][power-loss]") {
    const PowerLossOutcome outcome =
        tampered(2, [&](std::uint32_t cycle, const Acks&, RecoveredState& state) {
            if (cycle != 2) {
                return;
            }
            // Recovery "lost" every resting order of shard 0.
            auto& matchers = state.recovery.replay.matchers;
            book::MatcherLimits small;
            small.max_orders = 64;
            small.client_order_id_window = 64;
            matchers[0] = book::Matcher(matchers[0].instruments(), small);
        });
    INFO(describe(outcome));
    CHECK(!outcome.passed);
    CHECK(any_problem_contains(outcome, "a full replay of the logged prefix gives"));
}
