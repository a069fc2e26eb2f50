// The `redis loss` line of --check-config: what Redis reports of its AOF, and the words for it.
#include <catch2/catch.hpp>

#include "redis_server.hpp"

namespace exchanged::test {

using mirror::describe_redis_loss;
using mirror::RedisDurability;

TEST_CASE("describe_redis_loss states the loss window of each AOF setting", "[mirror]") {
    CHECK(describe_redis_loss({true, "always"}) ==
          "none for acknowledged orders while Redis's disk survives (Redis appendonly yes, "
          "appendfsync always)");
    CHECK(describe_redis_loss({true, "everysec"}) ==
          "up to 1 s of acknowledged orders not yet in the store if the Redis machine loses power "
          "(Redis appendonly yes, appendfsync everysec)");
    CHECK(describe_redis_loss({true, "no"}) ==
          "unbounded: Redis leaves syncing its AOF to the OS (Redis appendonly yes, appendfsync "
          "no)");
    // Without an AOF the fsync setting promises nothing.
    CHECK(describe_redis_loss({false, "always"}) ==
          "everything not in the store if Redis restarts: it keeps no AOF (Redis appendonly no, "
          "appendfsync always)");
    CHECK(describe_redis_loss({true, "unknown"}) ==
          "unknown: Redis did not report its AOF settings (Redis appendonly yes, appendfsync "
          "unknown)");
}

TEST_CASE("read_durability reads a live Redis's AOF settings as CONFIG SET leaves them",
          "[mirror]") {
    const auto server = RedisServer::start();
    if (!server) {
        return;
    }
    mirror::RedisClient client = server->client();
    // The test server's own settings (scripts/redis-test-server.sh).
    RedisDurability read = mirror::read_durability(client);
    CHECK(read.append_only);
    CHECK(read.append_fsync == "always");
    CHECK_THAT(describe_redis_loss(read), Catch::StartsWith("none for acknowledged orders"));

    REQUIRE_FALSE(client.command({"CONFIG", "SET", "appendfsync", "everysec"}).is_error());
    read = mirror::read_durability(client);
    CHECK(read.append_only);
    CHECK(read.append_fsync == "everysec");
    CHECK_THAT(describe_redis_loss(read),
               Catch::StartsWith("up to 1 s of acknowledged orders not yet in the store") &&
                   Catch::EndsWith("(Redis appendonly yes, appendfsync everysec)"));

    REQUIRE_FALSE(client.command({"CONFIG", "SET", "appendonly", "no"}).is_error());
    read = mirror::read_durability(client);
    CHECK_FALSE(read.append_only);
    CHECK_THAT(describe_redis_loss(read),
               Catch::StartsWith("everything not in the store if Redis restarts") &&
                   Catch::EndsWith("(Redis appendonly no, appendfsync everysec)"));
}

}  // namespace exchanged::test
