// The shipped profiles load and mean what their comments say.
#include <catch2/catch.hpp>

#include <string>

#include "config/config.hpp"
#include "config/summary.hpp"

using namespace exchanged;

namespace {

std::string profile_path(const std::string& name) {
    return std::string(EXCHANGED_SOURCE_DIR) + "/config/" + name + ".ini";
}

}  // namespace

TEST_CASE("the standard profile acks after the WAL fsync", "[config][profiles]") {
    const Config config = load_config(profile_path("standard"));
    CHECK(config.profile == "standard");
    CHECK(config.persistence.mode == PersistenceMode::WalBatch);
    CHECK(config.persistence.ack_after == AckPoint::Wal);
    CHECK(config.persistence.enable_wal);
    CHECK(config.persistence.wal_sync);
    CHECK(config.persistence.batch_size == 100);
    CHECK(config.critical_ack_after() == AckPoint::Wal);
    CHECK(describe_loss_window(config) == "none for acknowledged orders");
    REQUIRE(config.instruments.size() == 4);
    const auto& amzn = config.instruments[0];
    CHECK(amzn.symbol == "AMZN");
    CHECK(amzn.id == 1);
    CHECK(amzn.tick_size == 100);
    CHECK(amzn.min_price == 1000000);
    CHECK(amzn.max_price == 4000000);
    CHECK(amzn.max_order_quantity == 1000000);
    REQUIRE(config.accounts.size() == 3);
    CHECK(config.accounts[2].name == "mm1");
    CHECK(config.accounts[2].self_trade == exchanged::book::SelfTradePrevention::CancelBoth);
    CHECK(config.accounts[0].self_trade == exchanged::book::SelfTradePrevention::CancelResting);
    CHECK(config.server.data_dir.is_absolute());
    CHECK(config.persistence.wal_path == config.server.data_dir / "wal");
    CHECK(config.persistence.store_path == config.server.data_dir / "exchanged.sqlite");
    CHECK(config.logging.file.empty());
}

TEST_CASE("the hft profile acks at match with a 10 ms loss window", "[config][profiles]") {
    const Config config = load_config(profile_path("hft"));
    CHECK(config.persistence.mode == PersistenceMode::BatchSync);
    CHECK(config.persistence.ack_after == AckPoint::Match);
    CHECK_FALSE(config.persistence.enable_wal);
    CHECK(config.safety.sync_for_critical);
    CHECK(config.critical_ack_after() == AckPoint::Store);
    // With no WAL the group-commit knobs drive the store.
    CHECK(config.persistence.store_batch_size == 1000);
    CHECK(config.persistence.store_batch_timeout_ms == 2);
    CHECK(config.acks_before_durable());
    CHECK(config.safety.max_unflushed_ms == 10);
    CHECK(describe_loss_window(config).find("at most 10 ms of acknowledged flow") !=
          std::string::npos);
    CHECK(config.instruments.size() == 4);
    CHECK(config.accounts.size() == 3);
}

TEST_CASE("the regulatory profile is the leader of three, acknowledging after a quorum",
          "[config][profiles]") {
    const Config config = load_config(profile_path("regulatory"));
    CHECK(config.persistence.mode == PersistenceMode::HybridSync);
    CHECK(config.persistence.ack_after == AckPoint::Quorum);
    // A majority of the replicas outlives this node's store: critical orders wait for it too,
    // and an order that traded still waits for the store as well.
    CHECK(config.critical_ack_after() == AckPoint::Quorum);
    CHECK(config.safety.sync_all_trades);
    CHECK(config.persistence.batch_size == 10);
    CHECK(config.persistence.batch_timeout_ms == 1);
    CHECK(config.safety.enable_audit_log);
    CHECK(config.safety.enable_checksums);
    CHECK(config.replication.enabled);
    CHECK(config.replication.role == ReplicationRole::Leader);
    CHECK(config.replication.node_id == 1);
    CHECK(config.replication.factor == 3);
    REQUIRE(config.replication.peers.size() == 2);
    CHECK(config.replication.peers[1].node_id == 3);
    CHECK(to_string(config.replication.peers[1].endpoint) == "10.0.0.3:9200");
    CHECK(describe_loss_window(config) ==
          "none for acknowledged orders while a majority of the replicas survives");
    // --check-config cannot reach the example hosts: it names what the profile needs.
    CHECK_THAT(describe_config(config),
               Catch::Contains("needs        1 of the followers 2@10.0.0.2:9200 and "
                               "3@10.0.0.3:9200 running and reachable, or no order is "
                               "acknowledged; 10.0.0.1:9200 an address of this host"));
}

// Where some ack waits for the store, or no WAL backs it, a failed write under the store is fatal
// (store::FlushOptions::io_errors_fatal); --check-config says which.
TEST_CASE("the profiles say whether the store is a durability point", "[config][profiles]") {
    const Config standard = load_config(profile_path("standard"));
    CHECK_FALSE(standard.store_is_durability_point());
    CHECK(describe_config(standard).find("a checkpoint of the WAL") != std::string::npos);
    for (const char* name : {"hft", "regulatory"}) {
        INFO(name);
        const Config config = load_config(profile_path(name));
        CHECK(config.store_is_durability_point());
        CHECK(describe_config(config).find("store fails  a durability point") != std::string::npos);
        CHECK(describe_config(config).find("no fsync") == std::string::npos);
    }
    Config custom = standard;
    custom.safety.sync_all_trades = true;
    CHECK(custom.store_is_durability_point());
    custom = standard;
    custom.persistence.ack_after = AckPoint::Store;
    CHECK(custom.store_is_durability_point());
}

TEST_CASE("overrides replace the file's data_dir and listen", "[config][profiles]") {
    ConfigOverrides overrides;
    overrides.data_dir = "/tmp/exchanged-override";
    overrides.listen = "[::1]:9200";
    const Config config = load_config(profile_path("standard"), overrides);
    CHECK(config.server.data_dir == "/tmp/exchanged-override");
    CHECK(config.persistence.wal_path == "/tmp/exchanged-override/wal");
    CHECK(config.server.listen.host == "::1");
    CHECK(config.server.listen.port == 9200);
    CHECK(to_string(config.server.listen) == "[::1]:9200");

    overrides.listen = "localhost";
    CHECK_THROWS_WITH(load_config(profile_path("standard"), overrides),
                      Catch::Contains("--listen: 'localhost' is not HOST:PORT"));
}

TEST_CASE("the cluster profiles are a leader acknowledging after a quorum and two followers",
          "[config][profiles]") {
    const Config leader = load_config(profile_path("cluster/node1"));
    CHECK(leader.replication.enabled);
    CHECK(leader.replication.role == ReplicationRole::Leader);
    CHECK(leader.persistence.ack_after == AckPoint::Quorum);
    CHECK(leader.critical_ack_after() == AckPoint::Quorum);
    CHECK(leader.replication.factor == 3);
    REQUIRE(leader.replication.peers.size() == 2);
    CHECK(leader.replication.peers[0].node_id == 2);
    CHECK(to_string(leader.replication.peers[0].endpoint) == "127.0.0.1:9322");
    CHECK(describe_loss_window(leader) ==
          "none for acknowledged orders while a majority of the replicas survives");
    CHECK_THAT(
        describe_config(leader),
        Catch::Contains("replication  node 1 leader, factor 3 (majority 2), listen "
                        "127.0.0.1:9312, epoch 1, peers 2@127.0.0.1:9322, 3@127.0.0.1:9332"));
    CHECK_THAT(describe_config(load_config(profile_path("cluster/node2"))),
               Catch::Contains("needs        a leader dialling 127.0.0.1:9322"));
    for (const std::string node : {"2", "3"}) {
        const Config follower = load_config(profile_path("cluster/node" + node));
        CHECK(follower.replication.role == ReplicationRole::Follower);
        CHECK(follower.persistence.ack_after == AckPoint::Wal);
        CHECK(std::to_string(follower.replication.node_id) == node);
        CHECK(to_string(follower.replication.leader_client) == to_string(leader.server.listen));
        REQUIRE(follower.replication.clients.size() == 3);
        CHECK(to_string(follower.replication.clients[0].endpoint) ==
              to_string(leader.server.listen));
        CHECK_FALSE(follower.server.data_dir == leader.server.data_dir);
    }
}
