// `exchangectl wal state` as a process on a mini exchange's data directory: from LSN 1, and with
// --from-store from the books its store holds (the cluster test's check for logs whose first
// segments were released). Both must print the same state at the same LSN; a store holding
// another log's books must not; a store past --to, or no store, is refused by name.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "mini_exchange.hpp"
#include "temp_file.hpp"

using namespace exchanged;
using Catch::Matchers::Contains;
using test::ctl;

namespace {

// Orders that rest, trade and are cancelled; `variant` changes the prices, so two exchanges with
// different variants hold different books at the same LSN.
void trade(test::MiniExchange& exchange, int count, int variant) {
    for (int i = 0; i < count; ++i) {
        const OrderId id =
            exchange.order(i % 2 == 0 ? "alice" : "bob", 1, i % 3 == 0 ? Side::Buy : Side::Sell,
                           2'000'000 + ((i + variant) % 7) * 100, 1 + i % 13);
        if (i % 5 == 0 && id != 0) {
            exchange.cancel(i % 2 == 0 ? "alice" : "bob", 1, id);
        }
    }
    exchange.close_wal();
}

std::string shard_lines(const std::string& out) {
    std::string lines;
    std::size_t at = 0;
    while ((at = out.find("shard ", at)) != std::string::npos) {
        const std::size_t end = out.find('\n', at);
        lines += out.substr(at, end - at + 1);
        at = end;
    }
    return lines;
}

test::CommandResult state(const test::TempDir& dir, const test::MiniExchange& exchange, wal::Lsn to,
                          bool from_store) {
    std::vector<std::string> args = {"wal",
                                     "state",
                                     (dir.path() / "data").string(),
                                     "--config",
                                     exchange.profile_path(),
                                     "--to",
                                     std::to_string(to)};
    if (from_store) {
        args.push_back("--from-store");
    }
    return ctl(dir, args);
}

}  // namespace

TEST_CASE("wal state --from-store: the store's books and the WAL above give the replay's state",
          "[tools][cli][wal]") {
    test::TempDir dir;
    test::MiniExchange exchange(dir);
    trade(exchange, 300, 0);
    const wal::Lsn stored = exchange.last_lsn() / 2;
    exchange.fill_store(stored);
    const wal::Lsn to = exchange.last_lsn() - 10;

    const test::CommandResult replayed = state(dir, exchange, to, false);
    INFO(replayed.out << replayed.err);
    REQUIRE(replayed.exit_code == 0);
    CHECK_THAT(replayed.out, Contains("replayed from LSN 1 to LSN " + std::to_string(to)));
    const test::CommandResult loaded = state(dir, exchange, to, true);
    INFO(loaded.out << loaded.err);
    REQUIRE(loaded.exit_code == 0);
    CHECK_THAT(loaded.out, Contains("replayed from LSN " + std::to_string(stored + 1) +
                                    " (the store's books before it) to LSN " + std::to_string(to)));
    CHECK(!shard_lines(loaded.out).empty());
    CHECK(shard_lines(loaded.out) == shard_lines(replayed.out));

    // The store cannot be wound back below its store_lsn.
    const test::CommandResult early = state(dir, exchange, stored - 1, true);
    CHECK(early.exit_code == 1);
    CHECK_THAT(early.out, Contains("is at LSN " + std::to_string(stored) + ", past --to " +
                                   std::to_string(stored - 1)));
}

TEST_CASE("wal state --from-store: another log's books give another state", "[tools][cli][wal]") {
    test::TempDir dir;
    test::MiniExchange exchange(dir);
    trade(exchange, 300, 0);
    test::TempDir other_dir;
    test::MiniExchange other(other_dir);
    trade(other, 300, 3);
    const wal::Lsn stored = exchange.last_lsn() / 2;
    other.fill_store(stored);
    std::filesystem::copy_file(other.profile().persistence.store_path,
                               exchange.profile().persistence.store_path);

    const test::CommandResult replayed = state(dir, exchange, stored, false);
    const test::CommandResult loaded = state(dir, exchange, stored, true);
    INFO(replayed.out << loaded.out << loaded.err);
    REQUIRE(replayed.exit_code == 0);
    REQUIRE(loaded.exit_code == 0);
    CHECK(shard_lines(loaded.out) != shard_lines(replayed.out));
}

TEST_CASE("wal state --from-store: a data directory without a store is refused",
          "[tools][cli][wal]") {
    test::TempDir dir;
    test::MiniExchange exchange(dir);
    trade(exchange, 20, 0);
    const test::CommandResult none = state(dir, exchange, 0, true);
    CHECK(none.exit_code == 2);
    CHECK_THAT(none.err, Contains("--from-store: no store at"));
}
