// EtcdClient against real throw-away etcd members (scripts/etcd-test-cluster.sh) and against
// canned servers for what a real member does not do.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "canned_http_server.hpp"
#include "etcd_test_cluster.hpp"
#include "ha/etcd_client.hpp"

namespace exchanged::ha {

using test::CannedHttpServer;
using test::EtcdTestCluster;
using namespace std::chrono_literals;

namespace {

EtcdClient client_for(const std::string& endpoints, std::chrono::milliseconds deadline = 2000ms,
                      bool require_leader = true) {
    return EtcdClient(parse_etcd_endpoints(endpoints),
                      EtcdClientOptions{deadline, require_leader, std::nullopt, nullptr});
}

Txn put_if_absent(const std::string& key, const std::string& value, std::int64_t lease = 0) {
    Txn txn;
    txn.compare.push_back({Compare::Target::Create, Compare::Result::Equal, key, 0, ""});
    txn.success.push_back({TxnOp::Kind::Put, key, value, lease});
    txn.failure.push_back({TxnOp::Kind::Range, key, "", 0});
    return txn;
}

}  // namespace

TEST_CASE("etcd client: txn, range and delete on a real member", "[etcd_client]") {
    EtcdTestCluster cluster;
    ETCD_SKIP_IF_UNAVAILABLE(cluster);
    EtcdClient etcd = client_for(cluster.endpoints());

    CHECK(etcd.range("/test/a").kvs.empty());
    const TxnResult first = etcd.txn(put_if_absent("/test/a", std::string("v\0\xff", 3)));
    CHECK(first.succeeded);
    CHECK(first.revision > 1);

    const TxnResult second = etcd.txn(put_if_absent("/test/a", "other"));
    CHECK_FALSE(second.succeeded);
    REQUIRE(second.responses.size() == 1);
    REQUIRE(second.responses[0].kvs.size() == 1);
    CHECK(second.responses[0].kvs[0].value == std::string("v\0\xff", 3));
    CHECK(second.responses[0].kvs[0].create_revision == first.revision);

    const RangeResult got = etcd.range("/test/a");
    REQUIRE(got.kvs.size() == 1);
    CHECK(got.kvs[0].mod_revision == first.revision);
    CHECK(got.kvs[0].version == 1);

    CHECK(etcd.delete_range("/test/a") == 1);
    CHECK(etcd.delete_range("/test/a") == 0);
    CHECK(etcd.range("/test/a").kvs.empty());
}

TEST_CASE("etcd client: a lease is granted, renewed, attached to a key and revoked",
          "[etcd_client]") {
    EtcdTestCluster cluster;
    ETCD_SKIP_IF_UNAVAILABLE(cluster);
    EtcdClient etcd = client_for(cluster.endpoints());

    const LeaseGrant lease = etcd.lease_grant(5);
    CHECK(lease.id != 0);
    CHECK(lease.ttl_seconds == 5);
    CHECK(etcd.lease_keepalive(lease.id) == 5);
    REQUIRE(etcd.txn(put_if_absent("/test/leased", "x", lease.id)).succeeded);
    CHECK(etcd.range("/test/leased").kvs.at(0).lease == lease.id);

    etcd.lease_revoke(lease.id);
    CHECK(etcd.range("/test/leased").kvs.empty());
    // A lease etcd no longer knows: 200 without a TTL, which reads as 0 (lost).
    CHECK(etcd.lease_keepalive(lease.id) == 0);
    // Revoking it again is a refusal etcd gives for good (not found), not an outage.
    try {
        etcd.lease_revoke(lease.id);
        FAIL("revoking an unknown lease succeeded");
    } catch (const EtcdError& error) {
        CHECK_FALSE(error.unavailable());
        CHECK_THAT(error.what(), Catch::Contains("lease not found"));
    }
}

TEST_CASE("etcd client: a dead endpoint is passed over for the next one", "[etcd_client]") {
    EtcdTestCluster cluster;
    ETCD_SKIP_IF_UNAVAILABLE(cluster);
    // Nothing listens on port 1 of loopback: connection refused.
    EtcdClient etcd = client_for("http://127.0.0.1:1," + cluster.endpoints());
    CHECK(etcd.txn(put_if_absent("/test/b", "b")).succeeded);
    CHECK(etcd.range("/test/b").kvs.size() == 1);
}

TEST_CASE("etcd client: no endpoint answering is an error naming each endpoint and its failure",
          "[etcd_client]") {
    CannedHttpServer garbage(CannedHttpServer::ok("<html>not etcd</html>"));
    CannedHttpServer wrong(CannedHttpServer::ok(R"({"header":{"revision":"seven"}})"));
    EtcdClient etcd = client_for("http://127.0.0.1:1," + garbage.url() + "," + wrong.url(), 2000ms);
    try {
        etcd.range("/k");
        FAIL("a range with no etcd answering succeeded");
    } catch (const EtcdError& error) {
        INFO(error.what());
        CHECK(error.unavailable());
        const std::string what = error.what();
        CHECK_THAT(what, Catch::Contains("/v3/kv/range failed on every endpoint"));
        CHECK_THAT(what, Catch::Contains("http://127.0.0.1:1: connecting: Connection refused"));
        CHECK_THAT(what, Catch::Contains(garbage.url() + ": bad answer: range: the answer is not "
                                                         "JSON"));
        CHECK_THAT(what, Catch::Contains(wrong.url() + ": bad answer: range.header.revision"));
    }
}

TEST_CASE("etcd client: a member that never answers costs the deadline, then a clear error",
          "[etcd_client]") {
    CannedHttpServer silent("");
    EtcdClient etcd = client_for(silent.url(), 300ms);
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(etcd.lease_keepalive(1),
                      Catch::Contains(silent.url() + ": reading the answer: the deadline passed"));
    CHECK(std::chrono::steady_clock::now() - start >= 300ms);
    CHECK(silent.requests() == 1);
}

TEST_CASE("etcd client: an etcd paused mid-session gives a clear error within the deadline",
          "[etcd_client]") {
    EtcdTestCluster cluster;
    ETCD_SKIP_IF_UNAVAILABLE(cluster);
    EtcdClient etcd = client_for(cluster.endpoints(), 500ms);
    const LeaseGrant lease = etcd.lease_grant(10);
    cluster.pause(0);
    try {
        etcd.lease_keepalive(lease.id);
        FAIL("a renewal on a paused etcd succeeded");
    } catch (const EtcdError& error) {
        CHECK(error.unavailable());
        CHECK_THAT(error.what(), Catch::Contains(cluster.endpoint(0)));
        CHECK_THAT(error.what(), Catch::Contains("the deadline passed"));
    }
    cluster.resume(0);
    CHECK(etcd.lease_keepalive(lease.id) > 0);
}

TEST_CASE("etcd client: a member without a leader refuses at once because of hasleader",
          "[etcd_client]") {
    EtcdTestCluster cluster(3);
    ETCD_SKIP_IF_UNAVAILABLE(cluster);
    // Two of three paused: member 0 loses its leader after an election timeout (1 s by default)
    // and stays without one. It was serving before, so it keeps answering HTTP.
    cluster.pause(1);
    cluster.pause(2);
    // Until it notices, a read waits for a leader that does not come, and ends at the deadline.
    EtcdClient with_header = client_for(cluster.endpoint(0), 1000ms, true);
    std::string refusal;
    for (int i = 0; i < 30 && refusal.find("no leader") == std::string::npos; ++i) {
        try {
            with_header.range("/test/c");
            std::this_thread::sleep_for(100ms);
        } catch (const EtcdError& error) {
            refusal = error.what();
        }
    }
    INFO(refusal);
    CHECK_THAT(refusal, Catch::Contains("etcdserver: no leader"));
    // The keepalive is a streaming call: its refusal comes in the other error shape.
    CHECK_THROWS_WITH(with_header.lease_keepalive(1), Catch::Contains("etcdserver: no leader"));

    // Without the header the same member takes the request and holds it until the call's
    // deadline: the header is what makes the refusal immediate.
    EtcdClient without_header = client_for(cluster.endpoint(0), 1500ms, false);
    CHECK_THROWS_WITH(without_header.range("/test/c"),
                      Catch::Contains("the deadline passed") && !Catch::Contains("no leader"));
    cluster.resume(1);
    cluster.resume(2);
}

}  // namespace exchanged::ha
