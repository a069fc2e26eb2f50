// Damage in the SQLite store file: the check finds it and names the table, index or header it lies
// in, REINDEX repairs index damage, and a damaged page met by a query (or a file that is no
// database) is a StoreCorruptError naming the file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "file_damage.hpp"
#include "store/sqlite_check.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_store.hpp"
#include "store_feed.hpp"
#include "temp_file.hpp"

using namespace exchanged::store;
namespace damage = exchanged::test;
using exchanged::test::TempDir;

namespace {

// A store of a few thousand random commands of one shard: orders (open and finished) and trades,
// spread over many pages.
std::filesystem::path write_store(const TempDir& dir) {
    const std::filesystem::path path = dir.path() / "store.sqlite";
    SqliteStore store(path);
    store.migrate();
    exchanged::store::test::StoreFeed feed(11, 1);
    StoreBatch batch;
    batch.first_lsn = 1;
    for (int command = 0; command < 4000; ++command) {
        const StoreLsn lsn = feed.step(batch.events);
        if (lsn - batch.first_lsn + 1 == 500) {
            batch.last_lsn = lsn;
            store.apply(batch);
            batch.events.clear();
            batch.first_lsn = lsn + 1;
        }
    }
    return path;
}

bool names(const SqliteCheckReport& report, const std::string& type, const std::string& name) {
    for (const SqliteDamage& damage : report.damaged) {
        if (damage.type == type && damage.name == name) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("store check: a sound file passes both checks", "[store][corruption]") {
    TempDir dir;
    const std::filesystem::path path = write_store(dir);
    for (const SqliteCheckLevel level : {SqliteCheckLevel::Quick, SqliteCheckLevel::Full}) {
        const SqliteCheckReport report = check_sqlite_file(path, level);
        INFO(report.describe());
        CHECK(report.ok());
        CHECK(report.file_bytes > 100'000);
    }
    // A file created and never written (a store before its first migration) is fine too.
    const std::filesystem::path empty = dir.write("empty.sqlite", "");
    CHECK(check_sqlite_file(empty, SqliteCheckLevel::Quick).ok());
    CHECK_THROWS_AS(check_sqlite_file(dir.path() / "missing.sqlite", SqliteCheckLevel::Quick),
                    StoreError);
}

TEST_CASE("store check: a damaged table page is found and named, and REINDEX cannot repair it",
          "[store][corruption]") {
    TempDir dir;
    const std::filesystem::path path = write_store(dir);
    const std::uint32_t page = damage::break_sqlite_page(path, "orders");
    const SqliteCheckReport report = check_sqlite_file(path, SqliteCheckLevel::Quick);
    INFO(report.describe());
    CHECK(!report.ok());
    CHECK(names(report, "table", "orders"));
    CHECK(!report.only_indexes);
    CHECK_THAT(report.where(), Catch::Contains("table orders (page " + std::to_string(page)));
    CHECK_THAT(report.describe(), Catch::StartsWith(path.string() + ": the store file is damaged"));
    CHECK_THAT(report.describe(), Catch::Contains("Page " + std::to_string(page)));
    CHECK_THROWS_AS(reindex_sqlite_file(report), StoreError);
}

TEST_CASE("store check: index damage is named as such and REINDEX repairs it",
          "[store][corruption]") {
    TempDir dir;
    const std::filesystem::path path = write_store(dir);
    const std::vector<std::uint32_t> pages = damage::sqlite_leaf_pages(path, "orders_finished");
    REQUIRE(!pages.empty());
    // A cell pointer, not the page type: REINDEX must be able to read the page to free it.
    const std::uint32_t page = pages.front();
    damage::flip_byte(path, std::uint64_t{page - 1} * damage::sqlite_page_size(path) + 9, 0x01);
    const SqliteCheckReport found = check_sqlite_file(path, SqliteCheckLevel::Quick);
    INFO(found.describe());
    REQUIRE(!found.ok());
    CHECK(names(found, "index", "orders_finished"));
    CHECK(found.only_indexes);

    const SqliteCheckReport repaired = reindex_sqlite_file(found);
    INFO(repaired.describe());
    CHECK(repaired.ok());
    CHECK(check_sqlite_file(path, SqliteCheckLevel::Full).ok());
}

TEST_CASE("store check: the pages below a damaged index root still count as index damage",
          "[store][corruption]") {
    TempDir dir;
    const std::filesystem::path path = write_store(dir);
    std::uint32_t root = 0;
    {
        SqliteDb db(path);
        SqliteStatement query(db,
                              "SELECT rootpage FROM sqlite_schema WHERE name = 'orders_finished'");
        REQUIRE(query.step());
        root = static_cast<std::uint32_t>(query.column_int(0));
    }
    REQUIRE(damage::sqlite_leaf_pages(path, "orders_finished").size() >
            1);  // the root has children
    damage::flip_byte(path, std::uint64_t{root - 1} * damage::sqlite_page_size(path));
    const SqliteCheckReport report = check_sqlite_file(path, SqliteCheckLevel::Quick);
    INFO(report.describe());
    // SQLite also lists the orphaned children ("Page N is never used"); they belong to no b-tree
    // any more, and must not make this look like damage to the orders table.
    CHECK_THAT(report.describe(), Catch::Contains("is never used"));
    CHECK(names(report, "index", "orders_finished"));
    CHECK(report.damaged.size() == 1);
    CHECK(report.only_indexes);
}

TEST_CASE("store check: header fields SQLite relies on are checked", "[store][corruption]") {
    TempDir dir;
    const std::filesystem::path path = write_store(dir);
    SECTION("the magic string") {
        damage::flip_byte(path, 3);
        const SqliteCheckReport report = check_sqlite_file(path, SqliteCheckLevel::Quick);
        CHECK(names(report, "header", "header"));
        CHECK_THAT(report.describe(), Catch::Contains("header bytes 0-15"));
        CHECK(!report.only_indexes);
    }
    SECTION("the write version, which SQLite's own check does not look at") {
        damage::flip_byte(path, 18);
        const SqliteCheckReport report = check_sqlite_file(path, SqliteCheckLevel::Quick);
        CHECK(names(report, "header", "header"));
        CHECK_THAT(report.describe(), Catch::Contains("header byte 18"));
    }
    SECTION("the largest root page, which makes SQLite look for pointer maps") {
        damage::flip_byte(path, 55);
        const SqliteCheckReport report = check_sqlite_file(path, SqliteCheckLevel::Quick);
        INFO(report.describe());
        CHECK(!report.ok());
        CHECK(names(report, "header", "header"));
    }
}

TEST_CASE("store: a damaged page met by a query is a StoreCorruptError naming the file",
          "[store][corruption]") {
    TempDir dir;
    const std::filesystem::path path = write_store(dir);
    damage::break_sqlite_page(path, "orders");
    SqliteStore store(path);
    store.migrate();
    try {
        store.read_orders([](const StoredOrder&) {});
        FAIL("a damaged page was read without an error");
    } catch (const StoreCorruptError& error) {
        CHECK_THAT(std::string(error.what()),
                   Catch::StartsWith(path.string() + ": ") &&
                       Catch::Contains("database disk image is malformed") &&
                       Catch::Contains("exchangectl store check"));
    }
}

TEST_CASE("store: a file that is not a database is a StoreCorruptError at open",
          "[store][corruption]") {
    TempDir dir;
    const std::filesystem::path path = write_store(dir);
    damage::flip_byte(path, 0);
    try {
        SqliteStore store(path);
        store.migrate();
        FAIL("a file with a damaged header was opened");
    } catch (const StoreCorruptError& error) {
        CHECK_THAT(std::string(error.what()), Catch::StartsWith(path.string() + ": ") &&
                                                  Catch::Contains("file is not a database"));
    }
}
