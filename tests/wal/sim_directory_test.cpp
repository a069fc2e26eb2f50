// The simulated storage's directory: a name created, renamed or removed survives a power loss only
// if the directory was fsynced after it, as on a real file system. Without this model no test
// could notice a missing directory fsync (docs/wal.md, "Simulated storage").
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "common/test_fault.hpp"
#include "wal/sim_storage.hpp"

using namespace exchanged;
using namespace exchanged::wal;

namespace {

std::vector<std::string> sorted_names(SimStorage& sim) {
    std::vector<std::string> names = sim.list_files();
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::byte> bytes(std::initializer_list<int> values) {
    std::vector<std::byte> out;
    for (const int value : values) {
        out.push_back(static_cast<std::byte>(value));
    }
    return out;
}

}  // namespace

TEST_CASE("a created file survives a power loss: creation fsyncs the directory", "[wal][sim]") {
    SimStorage sim(1);
    sim.create_zeroed("a", 16);
    sim.lose_power(SimStorage::PowerLoss::DropUnsynced);
    CHECK(sorted_names(sim) == std::vector<std::string>{"a"});
}

TEST_CASE("a rename or removal without a directory fsync reverts on power loss", "[wal][sim]") {
    SimStorage sim(1);
    sim.create_zeroed("spare", 16);
    sim.write_durable("spare", 0, bytes({1, 2, 3}));
    sim.create_zeroed("old", 16);
    sim.rename("spare", "wal-1", false);
    sim.remove("old");
    CHECK(sorted_names(sim) == std::vector<std::string>{"wal-1"});
    const std::string what = sim.lose_power(SimStorage::PowerLoss::DropUnsynced);
    CHECK(what.find("the directory reverted to its last sync") != std::string::npos);
    // The data went with the inode: it is back under the old name.
    CHECK(sorted_names(sim) == std::vector<std::string>{"old", "spare"});
    CHECK(sim.contents("spare")[1] == std::byte{2});
}

TEST_CASE("a rename with a directory fsync survives a power loss", "[wal][sim]") {
    SimStorage sim(1);
    sim.create_zeroed("spare", 16);
    sim.rename("spare", "wal-1", true);
    sim.lose_power(SimStorage::PowerLoss::DropUnsynced);
    CHECK(sorted_names(sim) == std::vector<std::string>{"wal-1"});
}

TEST_CASE("a group commit after set_active(name, true) makes the renamed name durable",
          "[wal][sim]") {
    SimStorage sim(1);
    sim.create_zeroed("spare", 16);
    sim.start_async(-1);
    sim.rename("spare", "wal-1", false);
    const std::vector<std::byte> record = bytes({7, 7});
    SECTION("the commit completes: name and data survive") {
        sim.set_active("wal-1", true);
        sim.submit(0, record);
        const auto outcome = sim.wait(-1);
        REQUIRE(outcome.has_value());
        REQUIRE(outcome->ok);
        sim.lose_power(SimStorage::PowerLoss::DropUnsynced);
        CHECK(sorted_names(sim) == std::vector<std::string>{"wal-1"});
        CHECK(sim.contents("wal-1")[0] == std::byte{7});
    }
    SECTION(
        "the power goes during the commit: the new name stays (it was synced before the "
        "write), the write is lost") {
        sim.set_active("wal-1", true);
        sim.crash_at_submit(1);
        sim.submit(0, record);
        const auto outcome = sim.wait(-1);
        REQUIRE(outcome.has_value());
        CHECK_FALSE(outcome->ok);
        sim.lose_power(SimStorage::PowerLoss::DropUnsynced);
        CHECK(sorted_names(sim) == std::vector<std::string>{"wal-1"});
        CHECK(sim.contents("wal-1")[0] == std::byte{0});
    }
    SECTION("a torn write during the commit is never found under the old name") {
        sim.set_active("wal-1", true);
        sim.crash_at_submit(1);
        sim.submit(0, record);
        REQUIRE(sim.wait(-1).has_value());
        sim.lose_power(SimStorage::PowerLoss::TornPrefix);
        CHECK(sorted_names(sim) == std::vector<std::string>{"wal-1"});
    }
    SECTION("with skip_dir_fsync armed the renamed name is lost although the commit completed") {
        test_fault::ScopedFault fault(test_fault::Fault::SkipDirectorySync);
        sim.set_active("wal-1", true);
        sim.submit(0, record);
        REQUIRE(sim.wait(-1)->ok);
        sim.lose_power(SimStorage::PowerLoss::DropUnsynced);
        CHECK(sorted_names(sim) == std::vector<std::string>{"spare"});
    }
    SECTION("with skip_wal_fdatasync armed the committed record is lost") {
        test_fault::ScopedFault fault(test_fault::Fault::SkipWalFdatasync);
        sim.set_active("wal-1", true);
        sim.submit(0, record);
        REQUIRE(sim.wait(-1)->ok);
        sim.lose_power(SimStorage::PowerLoss::DropUnsynced);
        CHECK(sorted_names(sim) == std::vector<std::string>{"wal-1"});
        CHECK(sim.contents("wal-1")[0] == std::byte{0});
    }
    sim.stop_async();
}

TEST_CASE("a file unlinked before the last directory fsync is gone with its data", "[wal][sim]") {
    SimStorage sim(1);
    sim.create_zeroed("a", 16);
    sim.remove("a");
    sim.create_zeroed("b", 16);  // fsyncs the directory, the removal included
    sim.lose_power(SimStorage::PowerLoss::DropUnsynced);
    CHECK(sorted_names(sim) == std::vector<std::string>{"b"});
}
