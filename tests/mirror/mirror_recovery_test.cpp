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

#include "config/config.hpp"
#include "engine/shard.hpp"
#include "engine/shard_layout.hpp"
#include "engine/startup.hpp"
#include "engine/store_recovery.hpp"
#include "minimal_config.hpp"
#include "store/open_store.hpp"

namespace exchanged::test {

TEST_CASE(
    "recovery rebuilds the books from the store plus the mirror's entries above it, and "
    "writes them into the store",
    "[mirror]") {
    const auto server = RedisServer::start();
    if (!server) {
        return;
    }
    TempDir dir;
    ConfigOverrides overrides;
    overrides.data_dir = dir.path().string();
    const Config config = load_config(
        dir.write("mirror.ini",
                  "[persistence]\nmode = double_write\nredis_address = " + server->host() + ":" +
                      std::to_string(server->port()) + "\n" + kMinimalConfigTail),
        overrides);
    const engine::ShardLayout layout = engine::make_shard_layout(config);
    mirror::MirrorOptions options = mirror_options(*server);
    options.stream_key = mirror::stream_key(config.persistence.redis_key_prefix);

    // A live shard logs its commands through the mirror, as the daemon's would.
    mirror::MirrorLog log(options);
    log.start();
    engine::Shard shard(layout.make_matcher(0), log, engine::ShardOptions{0, 25, 1});
    std::vector<engine::ShardEvent> events;
    constexpr std::uint64_t kOrders = 200;
    for (std::uint64_t i = 1; i <= kOrders; ++i) {
        book::Command command;
        command.type = book::CommandType::NewOrder;
        command.side = i % 2 == 0 ? Side::Buy : Side::Sell;
        command.instrument = 1;
        command.account = 1;
        command.client_order_id = i;
        // Buys below sells, with some overlap, so that some orders trade and some rest.
        command.price = (i % 2 == 0 ? 2'000'000 : 2'001'000) + static_cast<Price>(i % 17) * 100;
        command.quantity = 1 + i % 5;
        events.clear();
        shard.process(command, static_cast<TimestampNs>(i), events);
        REQUIRE_FALSE(events.empty());
        REQUIRE(events.front().lsn != 0);
    }
    const wal::Lsn last = log.next_lsn() - 1;  // the commands and their checkpoints
    wait_until_durable(log, last);
    log.close();

    std::unique_ptr<store::Store> primary = store::open_store(engine::store_settings(config));
    mirror::RedisClient client = server->client();
    const engine::RecordSource source = mirror::mirror_source(client, options.stream_key);
    engine::StoreRecoveryResult recovered =
        engine::recover_from_store(*primary, source, layout, engine::RecoveryOptions{});
    INFO(recovered.replay.error);
    REQUIRE(recovered.replay.ok());
    CHECK(recovered.replay.commands == kOrders);
    CHECK(recovered.replay.checkpoints_verified == kOrders / 25);
    CHECK(recovered.replay.next_lsn == last + 1);
    CHECK(recovered.replay.shards[0].next_seq == kOrders + 1);
    CHECK(recovered.replay.matchers[0].state_hash() == shard.matcher().state_hash());
    CHECK(primary->store_lsn() == last);

    // Again: the store holds everything now, so nothing is replayed, and the books load equal.
    recovered = engine::recover_from_store(*primary, source, layout, engine::RecoveryOptions{});
    REQUIRE(recovered.replay.ok());
    CHECK(recovered.replay.records == 0);
    CHECK(recovered.replay.next_lsn == last + 1);
    CHECK(recovered.replay.matchers[0].state_hash() == shard.matcher().state_hash());
}

}  // namespace exchanged::test
