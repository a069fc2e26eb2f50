#include <catch2/catch.hpp>

#include <vector>

#include "mirror/mirror_recovery.hpp"
#include "mirror_test_util.hpp"

namespace exchanged::test {
namespace {

struct Seen {
    wal::Lsn lsn;
    std::uint16_t type;
    std::vector<std::byte> payload;
};

std::vector<Seen> read_all(const engine::RecordSource& source, wal::Lsn after) {
    std::vector<Seen> seen;
    source(after, [&](const wal::RecordView& record) {
        seen.push_back({record.lsn, record.type, {record.payload.begin(), record.payload.end()}});
    });
    return seen;
}

}  // namespace

TEST_CASE("recovery reads the mirror's entries above the store's LSN, in pages, as records",
          "[mirror]") {
    const auto server = RedisServer::start();
    if (!server) {
        return;
    }
    const mirror::MirrorOptions options = mirror_options(*server);
    {
        mirror::MirrorLog log(options);
        log.start();
        for (std::uint64_t n = 1; n <= 250; ++n) {
            REQUIRE(log.try_append(n % 7 == 0 ? 2 : 1, payload_for(n)).status ==
                    wal::AppendStatus::Ok);
        }
        wait_until_durable(log, 250);
    }
    mirror::RedisClient client = server->client();
    const engine::RecordSource source = mirror::mirror_source(client, options.stream_key, 32);
    const std::vector<Seen> seen = read_all(source, 40);
    REQUIRE(seen.size() == 210);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        const wal::Lsn lsn = 41 + i;
        CHECK(seen[i].lsn == lsn);
        CHECK(seen[i].type == (lsn % 7 == 0 ? 2 : 1));
        const auto expected = payload_for(lsn);
        CHECK(std::equal(seen[i].payload.begin(), seen[i].payload.end(), expected.begin(),
                         expected.end()));
    }
    CHECK(read_all(source, 250).empty());
}

TEST_CASE("recovery refuses a mirror entry that is not a whole record of its own LSN", "[mirror]") {
    const auto server = RedisServer::start();
    if (!server) {
        return;
    }
    const mirror::MirrorOptions options = mirror_options(*server);
    {
        mirror::MirrorLog log(options);
        log.start();
        for (std::uint64_t n = 1; n <= 3; ++n) {
            REQUIRE(log.try_append(1, payload_for(n)).status == wal::AppendStatus::Ok);
        }
        wait_until_durable(log, 3);
    }
    mirror::RedisClient client = server->client();
    SECTION("damaged bytes") {
        REQUIRE_FALSE(
            client.command({"XADD", options.stream_key, "4-0", "r", "not a record at all"})
                .is_error());
        const engine::RecordSource source = mirror::mirror_source(client, options.stream_key);
        CHECK_THROWS_WITH(read_all(source, 0), Catch::Contains("entry 4-0 is damaged"));
    }
    SECTION("a record under another LSN's ID") {
        const mirror::RedisReply three =
            client.command({"XRANGE", options.stream_key, "3-0", "3-0"});
        const std::string bytes = three.elements[0].elements[1].elements[1].text;
        REQUIRE_FALSE(client.command({"XADD", options.stream_key, "4-0", "r", bytes}).is_error());
        const engine::RecordSource source = mirror::mirror_source(client, options.stream_key);
        CHECK_THROWS_WITH(read_all(source, 0), Catch::Contains("names LSN 3"));
    }
}

}  // namespace exchanged::test
