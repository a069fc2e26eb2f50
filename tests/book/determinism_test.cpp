// The matcher is a pure function of its command sequence: replaying commands, in one go or in
// pieces, must reproduce the same events and the same state hash. WAL replay and snapshot checks
// depend on exactly this.
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "book/matcher.hpp"
#include "random_stream.hpp"

namespace exchanged::book::testing {
namespace {

constexpr std::size_t kCommands = 20'000;

// A fixed command list: generated once with a matcher supplying the feedback, so every run below
// sees exactly the same commands whatever it does with them.
std::vector<Command> record_stream(const StreamConfig& config, std::size_t count) {
    Matcher matcher(config.instruments, config.limits);
    RandomStream stream(config);
    std::vector<Command> commands;
    std::vector<Event> events;
    for (std::size_t i = 0; i < count; ++i) {
        commands.push_back(stream.next());
        events.clear();
        matcher.apply(commands.back(), events);
        stream.observe(events);
    }
    return commands;
}

struct Run {
    std::vector<std::vector<Event>> events;  // per command
    std::vector<std::uint64_t> hashes;       // hashes[k]: after the first k commands
    OrderId next_order_id = 0;
    TradeId next_trade_id = 0;
};

Run run_all(const StreamConfig& config, const std::vector<Command>& commands) {
    Matcher matcher(config.instruments, config.limits);
    Run run;
    run.hashes.push_back(matcher.state_hash());
    for (const Command& c : commands) {
        run.events.emplace_back();
        matcher.apply(c, run.events.back());
        run.hashes.push_back(matcher.state_hash());
    }
    run.next_order_id = matcher.next_order_id();
    run.next_trade_id = matcher.next_trade_id();
    return run;
}

}  // namespace

TEST_CASE("a stream run twice gives the same events and hashes", "[book][determinism]") {
    for (const std::uint64_t seed : {11u, 12u, 13u}) {
        const StreamConfig config = make_stream_config(seed);
        const std::vector<Command> commands = record_stream(config, kCommands);
        const Run first = run_all(config, commands);
        const Run second = run_all(config, commands);
        INFO("seed " << seed);
        REQUIRE(first.events.size() == second.events.size());
        for (std::size_t i = 0; i < first.events.size(); ++i) {
            INFO("command index " << i << ": " << describe(commands[i]));
            REQUIRE(first.events[i] == second.events[i]);
        }
        REQUIRE(first.hashes == second.hashes);
        // A stream that does something moves the hash.
        REQUIRE(first.hashes.front() != first.hashes.back());
    }
}

TEST_CASE("replaying a prefix then the rest equals one run", "[book][determinism]") {
    const StreamConfig config = make_stream_config(21);
    const std::vector<Command> commands = record_stream(config, kCommands);
    const Run whole = run_all(config, commands);

    for (const std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{777}, kCommands / 2,
                                kCommands - 1, kCommands}) {
        INFO("k = " << k);
        Matcher matcher(config.instruments, config.limits);
        std::vector<Event> events;
        for (std::size_t i = 0; i < k; ++i) {
            events.clear();
            matcher.apply(commands[i], events);
        }
        REQUIRE(matcher.state_hash() == whole.hashes[k]);
        for (std::size_t i = k; i < commands.size(); ++i) {
            events.clear();
            matcher.apply(commands[i], events);
            if (events != whole.events[i]) {
                FAIL("events differ at command index " << i << ": " << describe(commands[i]));
            }
        }
        REQUIRE(matcher.state_hash() == whole.hashes.back());
        REQUIRE(matcher.next_order_id() == whole.next_order_id);
        REQUIRE(matcher.next_trade_id() == whole.next_trade_id);
    }
}

TEST_CASE("the hash after k commands on a fresh matcher equals the hash at k in a full run",
          "[book][determinism]") {
    const StreamConfig config = make_stream_config(22);
    const std::vector<Command> commands = record_stream(config, kCommands);
    const Run whole = run_all(config, commands);
    for (const std::size_t k : {std::size_t{1}, std::size_t{2}, std::size_t{50}, std::size_t{999},
                                std::size_t{4'321}, std::size_t{12'345}, kCommands}) {
        Matcher matcher(config.instruments, config.limits);
        std::vector<Event> events;
        for (std::size_t i = 0; i < k; ++i) {
            events.clear();
            matcher.apply(commands[i], events);
        }
        INFO("k = " << k);
        REQUIRE(matcher.state_hash() == whole.hashes[k]);
    }
}

TEST_CASE("different streams give different hashes", "[book][determinism]") {
    std::vector<std::uint64_t> finals;
    for (const std::uint64_t seed : {31u, 32u, 33u, 34u, 35u, 36u}) {
        // Same limits variant for some pairs (seed % 3), so the difference comes from the commands.
        const StreamConfig config = make_stream_config(seed);
        const std::vector<Command> commands = record_stream(config, 5'000);
        finals.push_back(run_all(config, commands).hashes.back());
    }
    for (std::size_t i = 0; i < finals.size(); ++i) {
        for (std::size_t j = i + 1; j < finals.size(); ++j) {
            INFO("streams " << i << " and " << j);
            REQUIRE(finals[i] != finals[j]);
        }
    }
    // And within one stream, the hash changes as commands change the book.
    const StreamConfig config = make_stream_config(31);
    const Run run = run_all(config, record_stream(config, 2'000));
    std::size_t distinct_steps = 0;
    for (std::size_t k = 1; k < run.hashes.size(); ++k) {
        distinct_steps += run.hashes[k] != run.hashes[k - 1] ? 1 : 0;
    }
    REQUIRE(distinct_steps > 1'000);
}

}  // namespace exchanged::book::testing
