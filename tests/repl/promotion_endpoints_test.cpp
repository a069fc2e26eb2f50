// The daemon's part in a promotion (src/app/promotion.hpp) without processes: the promise is on
// disk before anything acts on it, older or equal epochs are refused, the lead needs the promise,
// and the state file outranks the profile only with a higher epoch.
#include <catch2/catch.hpp>

#include <fstream>
#include <optional>
#include <utility>
#include <vector>

#include "../engine/temp_file.hpp"
#include "app/promotion.hpp"
#include "repl/replication_state.hpp"

using namespace exchanged;
using Catch::Contains;

namespace {

Config follower_config(const std::filesystem::path& data_dir) {
    Config config;
    config.server.data_dir = data_dir;
    config.replication.enabled = true;
    config.replication.node_id = 2;
    config.replication.role = ReplicationRole::Follower;
    config.replication.epoch = 1;
    config.replication.factor = 3;
    config.replication.clients = {{1, {"127.0.0.1", 9310}}, {2, {"127.0.0.1", 9320}}};
    config.replication.leader_client = {"127.0.0.1", 9310};
    return config;
}

}  // namespace

TEST_CASE("a promise is on disk before the node acts on it or answers", "[repl][promotion]") {
    test::TempDir dir;
    const Config config = follower_config(dir.path());
    const auto path = repl::replication_state_path(dir.path());
    std::optional<repl::ReplicationState> seen_by_hook;
    repl::Epoch led = 0;
    app::PromotionHooks hooks;
    hooks.durable_lsn = [] { return wal::Lsn{42}; };
    hooks.promised = [&](repl::Epoch, repl::NodeId) {
        seen_by_hook = repl::read_replication_state(path);
    };
    hooks.lead = [&](repl::Epoch epoch) { led = epoch; };
    app::PromotionEndpoints endpoints(config, hooks);

    auto [status, body] = endpoints.promise("epoch=3 candidate=2");
    CHECK(status == 200);
    CHECK(body == "durable_lsn=42 last_epoch=1 node=2\n");
    REQUIRE(seen_by_hook.has_value());
    CHECK(*seen_by_hook == repl::ReplicationState{3, repl::StateRole::Follower, 2});
    CHECK(endpoints.promised_epoch() == 3);

    // The same or an older epoch: refused, naming the promised one.
    const auto again = endpoints.promise("epoch=3 candidate=3");
    CHECK(again.first == 409);
    CHECK_THAT(again.second, Contains("has promised epoch 3"));
    CHECK(endpoints.promise("epoch=2&candidate=3").first == 409);
    // The same promise again (a candidate's round and this node's own look at etcd's leader key
    // may both ask): answered as before.
    const auto repeated = endpoints.promise("epoch=3 candidate=2");
    CHECK(repeated.first == 200);
    CHECK(repeated.second == "durable_lsn=42 last_epoch=1 node=2\n");
    CHECK(endpoints.promise("epoch=x candidate=2").first == 400);
    CHECK(endpoints.promise("candidate=2").first == 400);

    // The lead: only the epoch promised to this node.
    CHECK(endpoints.lead("epoch=4").first == 409);
    CHECK(led == 0);
    const auto lead = endpoints.lead("epoch=3");
    CHECK(lead.first == 200);
    CHECK(led == 3);
    CHECK(repl::read_replication_state(path) ==
          repl::ReplicationState{3, repl::StateRole::Leader, 2});
    CHECK(endpoints.lead("epoch=3").first == 409);  // once
}

TEST_CASE("a promise to another candidate leads nowhere here", "[repl][promotion]") {
    test::TempDir dir;
    const Config config = follower_config(dir.path());
    app::PromotionHooks hooks;
    hooks.lead = [](repl::Epoch) { FAIL("led without being the candidate"); };
    app::PromotionEndpoints endpoints(config, hooks);
    REQUIRE(endpoints.promise("epoch=2 candidate=3").first == 200);
    const auto lead = endpoints.lead("epoch=2");
    CHECK(lead.first == 409);
    CHECK_THAT(lead.second, Contains("promised epoch 2 to node 3"));
    CHECK(endpoints.append("x").first == 409);  // fetched records: the candidate only
}

TEST_CASE("a promise given before a restart still binds", "[repl][promotion]") {
    test::TempDir dir;
    const Config config = follower_config(dir.path());
    repl::write_replication_state(repl::replication_state_path(dir.path()),
                                  {5, repl::StateRole::Follower, 1});
    app::PromotionEndpoints endpoints(config, {});
    CHECK(endpoints.promised_epoch() == 5);
    CHECK(endpoints.promise("epoch=4 candidate=2").first == 409);
}

TEST_CASE("a promise repeated after a restart is the same promise again", "[repl][promotion]") {
    test::TempDir dir;
    Config config = follower_config(dir.path());
    config.replication.epoch = 5;  // the profile made effective from the state file below
    repl::write_replication_state(repl::replication_state_path(dir.path()),
                                  {5, repl::StateRole::Follower, 3});
    app::PromotionHooks hooks;
    hooks.durable_lsn = [] { return wal::Lsn{7}; };
    app::PromotionEndpoints endpoints(config, hooks);
    const auto repeated = endpoints.promise("epoch=5 candidate=3");
    CHECK(repeated.first == 200);
    CHECK(repeated.second == "durable_lsn=7 last_epoch=5 node=2\n");
    // The same epoch to another candidate is still a second promise.
    CHECK(endpoints.promise("epoch=5 candidate=1").first == 409);
}

// The daemon steps down to follow only on news: an epoch this node promised itself is a promotion
// it answered, whose candidate may still fetch records from it.
TEST_CASE("a leader deposed by a follower's newer epoch records it once", "[repl][promotion]") {
    test::TempDir dir;
    Config config = follower_config(dir.path());
    config.replication.node_id = 1;
    config.replication.role = ReplicationRole::Leader;
    app::PromotionEndpoints endpoints(config, {});
    CHECK(endpoints.deposed(3));
    CHECK(*repl::read_replication_state(repl::replication_state_path(dir.path())) ==
          repl::ReplicationState{3, repl::StateRole::Follower, 0});
    CHECK_FALSE(endpoints.deposed(3));
    CHECK_FALSE(endpoints.deposed(2));
    REQUIRE(endpoints.promise("epoch=5 candidate=2").first == 200);
    CHECK_FALSE(endpoints.deposed(5));
    CHECK(endpoints.deposed(6));
}

TEST_CASE("the state file outranks the profile only with a higher epoch", "[repl][promotion]") {
    test::TempDir dir;
    Config config = follower_config(dir.path());
    const auto path = repl::replication_state_path(dir.path());

    SECTION("no file: the profile") {
        const Config effective = app::apply_replication_state(config);
        CHECK(effective.replication.role == ReplicationRole::Follower);
        CHECK(effective.replication.epoch == 1);
    }
    SECTION("a promoted leader") {
        repl::write_replication_state(path, {3, repl::StateRole::Leader, 2});
        const Config effective = app::apply_replication_state(config);
        CHECK(effective.replication.role == ReplicationRole::Leader);
        CHECK(effective.replication.epoch == 3);
        CHECK(effective.persistence.ack_after == AckPoint::Quorum);
    }
    SECTION("a deposed leader follows, naming the new leader from clients") {
        config.replication.node_id = 1;
        config.replication.role = ReplicationRole::Leader;
        repl::write_replication_state(path, {2, repl::StateRole::Follower, 2});
        const Config effective = app::apply_replication_state(config);
        CHECK(effective.replication.role == ReplicationRole::Follower);
        CHECK(effective.replication.epoch == 2);
        CHECK(to_string(effective.replication.leader_client) == "127.0.0.1:9320");
    }
    SECTION("an epoch not above the profile's: the profile") {
        config.replication.epoch = 4;
        repl::write_replication_state(path, {4, repl::StateRole::Leader, 2});
        const Config effective = app::apply_replication_state(config);
        CHECK(effective.replication.role == ReplicationRole::Follower);
        CHECK(effective.replication.epoch == 4);
    }
    SECTION("a damaged file stops start-up naming it") {
        std::ofstream(path) << "exchanged replication state v1\nepoch=2\n";
        CHECK_THROWS_WITH(app::apply_replication_state(config), Contains(path.string()));
    }
}

TEST_CASE("a running follower's login refusal names the candidate it promised",
          "[repl][promotion]") {
    test::TempDir dir;
    Config config = follower_config(dir.path());
    config.replication.clients.push_back({3, {"127.0.0.1", 9330}});
    app::LoginRefusal refusal(config);
    CHECK(refusal.text() == "replication follower; leader at 127.0.0.1:9310");
    refusal.promised(3);
    CHECK(refusal.text() == "replication follower; leader at 127.0.0.1:9330");
    refusal.promised(7);  // not in clients: unchanged
    CHECK(refusal.text() == "replication follower; leader at 127.0.0.1:9330");
    // Its own candidacy (node 2): naming itself would send a client back to it.
    refusal.promised(2);
    CHECK(refusal.text() == "replication follower; leader at 127.0.0.1:9330");
    refusal.set("leader of epoch 5 waiting for a majority: 1 of 3 answered");
    CHECK(refusal.text() == "leader of epoch 5 waiting for a majority: 1 of 3 answered");
    // An epoch adopted from the frames, its leader not named yet: not the deposed one either.
    refusal.promised(0);
    CHECK(refusal.text() == "replication follower; its leader's address is not known yet");
}

TEST_CASE("an epoch adopted from the leader's frames is on disk before the receiver takes it",
          "[repl][promotion][adopt]") {
    test::TempDir dir;
    const Config config = follower_config(dir.path());
    const auto path = repl::replication_state_path(dir.path());
    std::vector<std::pair<repl::Epoch, repl::NodeId>> told;
    std::vector<std::optional<repl::ReplicationState>> on_disk_when_told;
    app::PromotionHooks hooks;
    hooks.adopted = [&](repl::Epoch epoch, repl::NodeId leader) {
        told.emplace_back(epoch, leader);
        on_disk_when_told.push_back(repl::read_replication_state(path));
    };
    hooks.lead = [](repl::Epoch) {};
    app::PromotionEndpoints endpoints(config, hooks);

    // A follower's first start has no file: its leader's term record writes none.
    endpoints.leader_named(1, 1);
    CHECK_FALSE(repl::read_replication_state(path).has_value());

    REQUIRE(endpoints.adopt(3));
    CHECK(repl::read_replication_state(path) ==
          repl::ReplicationState{3, repl::StateRole::Follower, 0});
    CHECK(endpoints.promised_epoch() == 3);
    CHECK(endpoints.adopt(3));        // taken already: nothing to write
    CHECK_FALSE(endpoints.adopt(2));  // below what it adopted
    // Another leader's term record of an older epoch names nobody.
    endpoints.leader_named(2, 1);
    CHECK(repl::read_replication_state(path)->leader == 0);
    endpoints.leader_named(3, 1);
    CHECK(repl::read_replication_state(path) ==
          repl::ReplicationState{3, repl::StateRole::Follower, 1});
    endpoints.leader_named(3, 2);  // named once
    CHECK(repl::read_replication_state(path)->leader == 1);
    REQUIRE(told.size() == 2);
    CHECK(told[0] == std::pair<repl::Epoch, repl::NodeId>{3, 0});
    CHECK(on_disk_when_told[0] == repl::ReplicationState{3, repl::StateRole::Follower, 0});
    CHECK(told[1] == std::pair<repl::Epoch, repl::NodeId>{3, 1});
    // The leader named, a promise of the same epoch to it is the same promise again.
    CHECK(endpoints.promise("epoch=3 candidate=1").first == 200);
    // A promise above it wins; an adoption below that is refused.
    CHECK(endpoints.promise("epoch=5 candidate=1").first == 200);
    CHECK_FALSE(endpoints.adopt(4));
    CHECK(repl::read_replication_state(path)->epoch == 5);
    // Once it leads, no frame's epoch is adopted.
    REQUIRE(endpoints.promise("epoch=6 candidate=2").first == 200);
    REQUIRE(endpoints.lead("epoch=6").first == 200);
    CHECK_FALSE(endpoints.adopt(7));
    CHECK(repl::read_replication_state(path)->epoch == 6);
}

TEST_CASE("an adoption whose leader was not named before a restart is named after it",
          "[repl][promotion][adopt]") {
    test::TempDir dir;
    Config config = follower_config(dir.path());
    const auto path = repl::replication_state_path(dir.path());
    repl::write_replication_state(path, {4, repl::StateRole::Follower, 0});
    config = app::apply_replication_state(config);
    app::PromotionEndpoints endpoints(config, {});
    endpoints.leader_named(4, 3);
    CHECK(repl::read_replication_state(path) ==
          repl::ReplicationState{4, repl::StateRole::Follower, 3});
}
