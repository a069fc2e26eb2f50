// `exchangectl store check` as a process: its verdict line and exit code on a sound store, on a
// damaged table (not repairable here), on damaged indexes (--repair rebuilds them), on a store
// missing rows, without a store and with bad flags.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "file_damage.hpp"
#include "mini_exchange.hpp"
#include "store/sqlite_db.hpp"
#include "temp_file.hpp"

using namespace exchanged;
using Catch::Matchers::Contains;
using test::ctl;
using test::last_line;

namespace {

// A mini exchange's store with enough orders (resting, filled and cancelled) and trades to
// spread the tables and indexes over several pages.
struct Stored {
    test::TempDir dir;
    test::MiniExchange exchange{dir};
    std::filesystem::path file;

    Stored() {
        for (int i = 0; i < 1500; ++i) {
            const OrderId id =
                exchange.order(i % 2 == 0 ? "alice" : "bob", 1, i % 3 == 0 ? Side::Buy : Side::Sell,
                               2'000'000 + (i % 7) * 100, 1 + i % 13);
            if (i % 5 == 0 && id != 0) {
                exchange.cancel(i % 2 == 0 ? "alice" : "bob", 1, id);
            }
        }
        exchange.close_wal();
        exchange.fill_store();
        file = exchange.profile().persistence.store_path;
    }

    test::CommandResult check(std::vector<std::string> extra = {}) const {
        std::vector<std::string> args = {"store", "check", "--config", exchange.profile_path()};
        args.insert(args.end(), extra.begin(), extra.end());
        return ctl(dir, args);
    }
};

}  // namespace

TEST_CASE("store check: a sound store passes, quick and full", "[tools][cli][corruption]") {
    Stored s;
    const test::CommandResult quick = s.check();
    INFO(quick.out << quick.err);
    CHECK(quick.exit_code == 0);
    CHECK_THAT(quick.out, Contains("store: sqlite:" + s.file.string()) &&
                              Contains("PRAGMA quick_check: ok") &&
                              Contains("store: order ids 1..next without gaps: PASS"));
    CHECK(last_line(quick.out) == "store check: PASS");
    const test::CommandResult full = s.check({"--full"});
    CHECK(full.exit_code == 0);
    CHECK_THAT(full.out, Contains("PRAGMA integrity_check: ok"));
}

TEST_CASE("store check: a damaged table page fails, names the table, and is not repaired here",
          "[tools][cli][corruption]") {
    Stored s;
    const std::uint32_t page = test::break_sqlite_page(s.file, "orders");
    const test::CommandResult found = s.check();
    INFO(found.out << found.err);
    CHECK(found.exit_code == 1);
    CHECK_THAT(found.out, Contains("PRAGMA quick_check: DAMAGED") &&
                              Contains("table orders (page " + std::to_string(page) + ")"));
    CHECK_THAT(last_line(found.out), Contains("store check: FAIL (the store file is damaged; "
                                              "docs/recovery.md (Store corruption)"));
    const test::CommandResult repair = s.check({"--repair"});
    CHECK(repair.exit_code == 1);
    CHECK_THAT(repair.out, Contains("repair: not possible here"));
    CHECK(!std::filesystem::exists(s.file.string() + ".before-repair"));
}

TEST_CASE("store check: damaged indexes fail, and --repair rebuilds them",
          "[tools][cli][corruption]") {
    Stored s;
    const std::vector<std::uint32_t> pages = test::sqlite_leaf_pages(s.file, "orders_finished");
    REQUIRE(!pages.empty());
    test::flip_byte(s.file, std::uint64_t{pages.front() - 1} * test::sqlite_page_size(s.file) + 9,
                    0x01);
    const test::CommandResult found = s.check();
    INFO(found.out << found.err);
    CHECK(found.exit_code == 1);
    CHECK_THAT(found.out, Contains("index orders_finished"));
    CHECK(last_line(found.out) ==
          "store check: FAIL (only indexes are damaged: --repair rebuilds them)");

    const test::CommandResult repaired = s.check({"--repair"});
    INFO(repaired.out << repaired.err);
    CHECK(repaired.exit_code == 0);
    CHECK_THAT(repaired.out, Contains("repair: REINDEX orders_finished") &&
                                 Contains("repair: checked again: PRAGMA quick_check: ok"));
    CHECK(last_line(repaired.out) == "store check: PASS");
    CHECK(std::filesystem::exists(s.file.string() + ".before-repair"));
    CHECK(s.check({"--full"}).exit_code == 0);
}

TEST_CASE("store check: rows missing from a sound file are named by their ids and damaged keys too",
          "[tools][cli][corruption]") {
    Stored s;
    {
        store::SqliteDb db(s.file);
        db.exec("DELETE FROM orders WHERE shard = 0 AND order_id IN (5, 6)", "test");
        db.exec("DELETE FROM trades WHERE shard = 0 AND trade_id = 1", "test");
        // A key damage changed, as a dump carries it over: a text shard sorts after every number.
        db.exec("UPDATE orders SET shard = 'x' WHERE shard = 0 AND order_id = 9", "test");
    }
    const test::CommandResult found = s.check();
    INFO(found.out << found.err);
    CHECK(found.exit_code == 1);
    CHECK_THAT(found.out, Contains("PRAGMA quick_check: ok") &&
                              Contains("order ids 5..6 of shard 0 are missing (2 rows)") &&
                              Contains("order ids 9..9 of shard 0 are missing (1 rows)") &&
                              Contains("order 9 of shard 0 is out of order (a damaged row?)") &&
                              Contains("trade ids 1..1 of shard 0 are missing (1 rows)"));
    CHECK(last_line(found.out) ==
          "store check: FAIL (rows missing: 3 orders, 1 trades; 1 rows out of place)");
}

TEST_CASE("store check: no store, and usage errors", "[tools][cli][corruption]") {
    test::TempDir dir;
    test::MiniExchange exchange(dir);
    const test::CommandResult missing =
        ctl(dir, {"store", "check", "--config", exchange.profile_path(), "--data-dir",
                  (dir.path() / "elsewhere").string()});
    CHECK(missing.exit_code == 1);
    CHECK_THAT(last_line(missing.out), Contains("store check: FAIL (no store at "));
    CHECK(ctl(dir, {"store", "check", "--config", exchange.profile_path(), "--bogus"}).exit_code ==
          2);
    CHECK(ctl(dir, {"store", "check", "--config", exchange.profile_path(), "extra"}).exit_code ==
          2);
}
