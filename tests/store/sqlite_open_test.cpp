// Opening the SQLite store after a power cut: whatever the cut left of the -shm file (nothing, an
// empty file, garbage, even something that cannot be opened as a file), with committed
// transactions that exist only in the -wal, the store opens and holds them. The store runs in
// exclusive locking mode, which keeps the wal-index in memory and never touches the -shm; so it is
// one process at a time, and a second one is told the store is in use.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/sqlite_check.hpp"
#include "store/sqlite_store.hpp"
#include "temp_file.hpp"

namespace exchanged::store {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using exchanged::test::TempDir;

constexpr StoreLsn kCommitted = 40;

book::Event accepted(OrderId id) {
    book::Event e;
    e.type = book::EventType::Accepted;
    e.seq = id;
    e.instrument = 1;
    e.account = 2;
    e.order_id = id;
    e.client_order_id = 100 + id;
    e.price = 50 + static_cast<Price>(id);
    e.quantity = 10;
    e.leaves = 10;
    return e;
}

fs::path with_suffix(const fs::path& path, const char* suffix) {
    return fs::path(path.string() + suffix);
}

// What a power cut can leave: the main file and its -wal as they were while the store was open,
// with every transaction (the schema's too) committed in the -wal only and no checkpoint run.
void write_crash_image(const fs::path& live, const fs::path& image) {
    SqliteStore store(live);
    store.migrate();
    for (StoreLsn lsn = 1; lsn <= kCommitted; ++lsn) {
        store.apply(StoreBatch{lsn, lsn, {StoreEvent{lsn, 0, 0, accepted(lsn)}}});
    }
    REQUIRE(fs::file_size(with_suffix(live, "-wal")) > fs::file_size(live));
    fs::copy_file(live, image);
    fs::copy_file(with_suffix(live, "-wal"), with_suffix(image, "-wal"));
}

void check_holds_committed(const fs::path& path) {
    const bool had_shm = fs::exists(with_suffix(path, "-shm"));
    SqliteStore store(path);
    store.migrate();
    // The wal-index lives in memory: while the store is open no -shm is created (SQLite deletes
    // one it used when the last connection closes, so only now tells).
    CHECK(fs::exists(with_suffix(path, "-shm")) == had_shm);
    CHECK(store.store_lsn() == kCommitted);
    std::vector<OrderId> orders;
    store.read_orders([&](const StoredOrder& order) { orders.push_back(order.order_id); });
    REQUIRE(orders.size() == kCommitted);
    CHECK(orders.front() == 1);
    CHECK(orders.back() == kCommitted);
}

}  // namespace

TEST_CASE("store: committed transactions only in the -wal survive whatever the -shm is",
          "[store][sqlite][recovery]") {
    TempDir dir;
    const fs::path live = dir.path() / "live.sqlite";
    const fs::path image = dir.path() / "image.sqlite";
    write_crash_image(live, image);
    {
        // The main file alone holds none of it: the -wal is ahead of it.
        const fs::path main_only = dir.path() / "main-only.sqlite";
        fs::copy_file(image, main_only);
        CHECK(SqliteStore(main_only).schema_version() == 0);
    }
    const fs::path shm = with_suffix(image, "-shm");
    const auto copy = [&](const std::string& name) {
        const fs::path target = dir.path() / name;
        fs::copy_file(image, target);
        fs::copy_file(with_suffix(image, "-wal"), with_suffix(target, "-wal"));
        return target;
    };

    SECTION("no -shm") {
        const fs::path path = copy("missing.sqlite");
        check_holds_committed(path);
    }
    SECTION("an empty -shm, as the FUSE power-loss run left it") {
        const fs::path path = copy("empty.sqlite");
        std::ofstream(with_suffix(path, "-shm"), std::ios::binary).flush();
        check_holds_committed(path);
    }
    SECTION("a -shm of garbage") {
        const fs::path path = copy("garbage.sqlite");
        {
            std::ofstream out(with_suffix(path, "-shm"), std::ios::binary);
            for (int i = 0; i < 32768; ++i) {
                out.put(static_cast<char>(i * 131 + 7));
            }
        }
        check_holds_committed(path);
    }
    SECTION("a -shm that cannot be sized or mapped") {
        // A FIFO in its place opens, but cannot be truncated or mmap'ed: a store that used the
        // -shm failed here with "disk I/O error" (before exclusive locking mode), as it did on
        // the FUSE file system whose shared mapping of the -shm failed.
        const fs::path path = copy("unmappable.sqlite");
        REQUIRE(::mkfifo(with_suffix(path, "-shm").c_str(), 0600) == 0);
        check_holds_committed(path);
        // The start-up check opens the file the same way.
        CHECK(check_sqlite_file(path, SqliteCheckLevel::Quick).ok());
    }
    CHECK_FALSE(fs::exists(shm));
}

TEST_CASE("store: a store another process holds is refused as in use, without a hang",
          "[store][sqlite]") {
    TempDir dir;
    const fs::path path = dir.path() / "store.sqlite";
    SqliteStore daemon(path);
    daemon.migrate();
    daemon.apply(StoreBatch{1, 1, {}});
    SqliteStoreOptions tool;
    tool.busy_timeout = std::chrono::milliseconds(50);
    CHECK_THROWS_WITH(SqliteStore(path, tool), Contains("store.sqlite") &&
                                                   Contains("in use by another process") &&
                                                   Contains("stop exchanged first"));
    CHECK_THROWS_WITH(check_sqlite_file(path, SqliteCheckLevel::Quick),
                      Contains("in use by another process"));
    // The holder goes on undisturbed.
    daemon.apply(StoreBatch{2, 2, {}});
    CHECK(daemon.store_lsn() == 2);
}

}  // namespace exchanged::store
