// `exchangectl wal compare` on logs the test writes: equal records over the common LSNs pass
// (also when one log is shorter, as a lagging follower's is), and a record that differs in its
// payload or its type is named by LSN with exit 1: the check the cluster tests rely on can fail.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli_support.hpp"
#include "temp_file.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"

using namespace exchanged;
using Catch::Matchers::Contains;
using test::ctl;

namespace {

std::vector<std::byte> payload_for(wal::Lsn lsn) {
    std::vector<std::byte> payload(8 + lsn % 24);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<std::byte>((lsn * 31 + i) & 0xFF);
    }
    return payload;
}

// Records 1..count; record `changed` (if any) gets one payload byte flipped, or its type bumped.
std::string write_log(const test::TempDir& dir, const std::string& name, wal::Lsn count,
                      wal::Lsn changed = 0, bool change_type = false) {
    const std::filesystem::path path = dir.path() / name;
    std::filesystem::create_directories(path);
    wal::UringStorage storage(path.string());
    wal::WalOptions options;
    options.segment_bytes = 1 << 20;
    options.max_payload_bytes = 64;
    wal::WalWriter writer(storage, options);
    for (wal::Lsn lsn = 1; lsn <= count; ++lsn) {
        std::vector<std::byte> payload = payload_for(lsn);
        std::uint16_t type = 7;
        if (lsn == changed) {
            if (change_type) {
                type = 8;
            } else {
                payload[3] ^= std::byte{0x10};
            }
        }
        while (writer.try_append(type, payload).status == wal::AppendStatus::Busy) {
            std::this_thread::yield();
        }
    }
    REQUIRE(writer.wait_durable(count));
    return path.string();
}

}  // namespace

TEST_CASE("wal compare: equal records over the common range pass", "[tools][cli][wal]") {
    test::TempDir dir;
    const std::string leader = write_log(dir, "leader", 3000);
    const std::string follower = write_log(dir, "follower", 2500);
    const test::CommandResult same = ctl(dir, {"wal", "compare", leader, follower});
    INFO(same.out << same.err);
    CHECK(same.exit_code == 0);
    CHECK_THAT(same.out, Contains("identical over LSN 1..2500 (2500 records)"));
    CHECK_THAT(same.out, Contains("(LSN 1..3000)"));
}

TEST_CASE("wal compare: a differing payload or type is named by its LSN", "[tools][cli][wal]") {
    test::TempDir dir;
    const std::string leader = write_log(dir, "leader", 2000);
    const std::string payload = write_log(dir, "payload", 2000, 1234);
    const std::string type = write_log(dir, "type", 2000, 77, true);

    const test::CommandResult flipped = ctl(dir, {"wal", "compare", leader, payload});
    INFO(flipped.out << flipped.err);
    CHECK(flipped.exit_code == 1);
    CHECK_THAT(flipped.out, Contains("DIFFERENT at LSN 1234: payload differs at byte 3"));

    const test::CommandResult retyped = ctl(dir, {"wal", "compare", type, leader});
    INFO(retyped.out << retyped.err);
    CHECK(retyped.exit_code == 1);
    CHECK_THAT(retyped.out, Contains("DIFFERENT at LSN 77: type 8 in A, 7 in B"));
}

TEST_CASE("wal compare: bad arguments are refused", "[tools][cli][wal]") {
    test::TempDir dir;
    const test::CommandResult one = ctl(dir, {"wal", "compare", dir.path().string()});
    CHECK(one.exit_code == 2);
    CHECK_THAT(one.err, Contains("expected two PATHs"));
    const test::CommandResult missing =
        ctl(dir, {"wal", "compare", dir.path().string(), (dir.path() / "nope").string()});
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.err, Contains("is not a directory"));
}

TEST_CASE("wal cut: the log ends at a record boundary, the rest still equal", "[tools][cli][wal]") {
    test::TempDir dir;
    const std::string log = write_log(dir, "log", 3000);
    const std::string copy = write_log(dir, "copy", 3000);

    const test::CommandResult dropped = ctl(dir, {"wal", "cut", log, "--drop", "300"});
    INFO(dropped.out << dropped.err);
    CHECK(dropped.exit_code == 0);
    CHECK_THAT(dropped.out, Contains("LSN 2701..3000 cut, the log ends at LSN 2700"));
    const test::CommandResult verify = ctl(dir, {"wal", "verify", log});
    CHECK_THAT(verify.out, Contains("lsn range: 1..2700"));
    const test::CommandResult same = ctl(dir, {"wal", "compare", copy, log});
    CHECK(same.exit_code == 0);
    CHECK_THAT(same.out, Contains("identical over LSN 1..2700"));

    const test::CommandResult to = ctl(dir, {"wal", "cut", log, "--to", "2000"});
    CHECK(to.exit_code == 0);
    CHECK_THAT(to.out, Contains("the log ends at LSN 2000"));
    const test::CommandResult beyond = ctl(dir, {"wal", "cut", log, "--to", "2500"});
    CHECK(beyond.exit_code == 0);
    CHECK_THAT(beyond.out, Contains("nothing cut"));

    const test::CommandResult both = ctl(dir, {"wal", "cut", log, "--to", "5", "--drop", "1"});
    CHECK(both.exit_code == 2);
    CHECK_THAT(both.err, Contains("either --to LSN"));
    const test::CommandResult too_many = ctl(dir, {"wal", "cut", log, "--drop", "5000"});
    CHECK(too_many.exit_code == 2);
    CHECK_THAT(too_many.err, Contains("the log holds only 2000 records"));
}
