// etcd's user/password authentication: the JSON, the client's token handling against canned
// servers (a rejected token renewed once, never more; a wrong password final), and against a real
// member with authentication on (scripts/etcd-test-cluster.sh auth).
#include <catch2/catch.hpp>
#include <chrono>

#include "canned_http_server.hpp"
#include "common/test_fault.hpp"
#include "etcd_test_cluster.hpp"
#include "ha/etcd_auth.hpp"
#include "ha/etcd_client.hpp"
#include "ha/leader_lease.hpp"

namespace exchanged::ha {

using test::CannedHttpServer;
using test::EtcdTestCluster;
using namespace std::chrono_literals;

namespace {

EtcdClient client_as(const std::string& endpoints, const std::string& user,
                     const std::string& password) {
    EtcdClientOptions options;
    options.call_deadline = 2000ms;
    options.credentials = EtcdCredentials{user, password};
    return EtcdClient(parse_etcd_endpoints(endpoints), options);
}

std::string answer(unsigned status, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

const std::string kToken1 = CannedHttpServer::ok(R"({"header":{"revision":"1"},"token":"t1.1"})");
const std::string kToken2 = CannedHttpServer::ok(R"({"header":{"revision":"1"},"token":"t2.2"})");
const std::string kRange = CannedHttpServer::ok(R"({"header":{"revision":"7"}})");
const std::string kInvalidToken = answer(
    401,
    R"({"error":"etcdserver: invalid auth token","message":"etcdserver: invalid auth token","code":16})");
const std::string kWrongPassword = answer(
    400,
    R"({"error":"etcdserver: authentication failed, invalid user ID or password","message":"etcdserver: authentication failed, invalid user ID or password","code":3})");

bool starts_with(const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
}

bool has_header(const std::string& head, const std::string& line) {
    return head.find("\r\n" + line + "\r\n") != std::string::npos;
}

Txn put_if_absent(const std::string& key, const std::string& value) {
    Txn txn;
    txn.compare.push_back({Compare::Target::Create, Compare::Result::Equal, key, 0, ""});
    txn.success.push_back({TxnOp::Kind::Put, key, value, 0});
    return txn;
}

}  // namespace

TEST_CASE("etcd auth: the authenticate request and answer", "[etcd_auth]") {
    CHECK(authenticate_request({"exch", "p\"w"}) == R"({"name":"exch","password":"p\"w"})");
    CHECK(parse_authenticate(R"({"header":{"revision":"3"},"token":"abc.12"})") == "abc.12");
    CHECK_THROWS_AS(parse_authenticate(R"({"header":{}})"), EtcdJsonError);
    CHECK_THROWS_AS(parse_authenticate(R"({"token":""})"), EtcdJsonError);
    CHECK_THROWS_AS(parse_authenticate(R"({"token":12})"), EtcdJsonError);
    CHECK_THROWS_AS(parse_authenticate("<html>"), EtcdJsonError);
}

TEST_CASE("etcd auth: which refusals ask for a new token", "[etcd_auth]") {
    CHECK(token_rejected({16, "etcdserver: invalid auth token"}));
    CHECK(token_rejected({3, "etcdserver: revision of auth store is old"}));
    CHECK_FALSE(
        token_rejected({3, "etcdserver: authentication failed, invalid user ID or password"}));
    CHECK_FALSE(token_rejected({7, "etcdserver: permission denied"}));
    CHECK_FALSE(token_rejected({3, "etcdserver: user name is empty"}));
    CHECK(user_missing({3, "etcdserver: user name is empty"}));
    CHECK_FALSE(user_missing({16, "etcdserver: invalid auth token"}));
    CHECK(auth_not_enabled({9, "etcdserver: authentication is not enabled"}));
    CHECK_FALSE(
        auth_not_enabled({3, "etcdserver: authentication failed, invalid user ID or password"}));
}

TEST_CASE(
    "etcd auth: the token goes in the Authorization header, a rejected one is renewed once "
    "and the request sent once more",
    "[etcd_auth]") {
    CannedHttpServer etcd({kToken1, kRange, kInvalidToken, kToken2, kRange});
    EtcdClient client = client_as(etcd.url(), "exch", "pw");
    CHECK(client.range("/exchanged/leader").revision == 7);
    CHECK(client.authentications() == 1);
    CHECK(client.range("/exchanged/leader").revision == 7);
    CHECK(client.authentications() == 2);

    const std::vector<std::string> heads = etcd.heads();
    REQUIRE(heads.size() == 5);
    CHECK(starts_with(heads[0], "POST /v3/auth/authenticate "));
    CHECK(heads[0].find("uthorization") == std::string::npos);
    CHECK(starts_with(heads[1], "POST /v3/kv/range "));
    CHECK(has_header(heads[1], "Authorization: t1.1"));
    CHECK(has_header(heads[2], "Authorization: t1.1"));  // rejected
    CHECK(starts_with(heads[3], "POST /v3/auth/authenticate "));
    CHECK(starts_with(heads[4], "POST /v3/kv/range "));
    CHECK(has_header(heads[4], "Authorization: t2.2"));
}

TEST_CASE("etcd auth: a token rejected again after its renewal is a final error, not a loop",
          "[etcd_auth]") {
    CannedHttpServer etcd({kToken1, kRange, kInvalidToken, kToken2, kInvalidToken});
    EtcdClient client = client_as(etcd.url(), "exch", "pw");
    CHECK(client.range("/k").revision == 7);
    try {
        client.range("/k");
        FAIL("a range with every token rejected succeeded");
    } catch (const EtcdError& error) {
        INFO(error.what());
        CHECK_FALSE(error.unavailable());
        CHECK(error.grpc_code() == 16);
        CHECK_THAT(error.what(),
                   Catch::Contains("invalid auth token") && Catch::Contains("as etcd user 'exch'"));
    }
    // Renewed once: request, authenticate, request.
    CHECK(etcd.heads().size() == 5);

    // A token rejected right after it was issued is not renewed at once either.
    CannedHttpServer fresh({kToken1, kInvalidToken});
    EtcdClient other = client_as(fresh.url(), "exch", "pw");
    CHECK_THROWS_WITH(other.range("/k"), Catch::Contains("invalid auth token"));
    CHECK(fresh.heads().size() == 2);
}

TEST_CASE("etcd auth: a wrong password is a final error naming the user, sent once",
          "[etcd_auth]") {
    CannedHttpServer etcd({kWrongPassword});
    EtcdClient client = client_as(etcd.url() + "," + etcd.url(), "exch", "wrong");
    try {
        client.range("/k");
        FAIL("a range with a wrong password succeeded");
    } catch (const EtcdError& error) {
        INFO(error.what());
        CHECK_FALSE(error.unavailable());
        CHECK_THAT(error.what(), Catch::Contains("refused user 'exch'") &&
                                     Catch::Contains("invalid user ID or password"));
        CHECK_THAT(error.what(), !Catch::Contains("wrong"));
    }
    CHECK(etcd.heads().size() == 1);  // not tried on the next endpoint
}

TEST_CASE("etcd auth: an etcd without authentication is used without a token", "[etcd_auth]") {
    CannedHttpServer etcd(
        {answer(
             412,
             R"({"error":"etcdserver: authentication is not enabled","message":"etcdserver: authentication is not enabled","code":9})"),
         kRange});
    EtcdClient client = client_as(etcd.url(), "exch", "pw");
    CHECK(client.range("/k").revision == 7);
    const std::vector<std::string> heads = etcd.heads();
    REQUIRE(heads.size() == 2);
    CHECK(starts_with(heads[1], "POST /v3/kv/range "));
    CHECK(heads[1].find("uthorization") == std::string::npos);
    CHECK(client.authentications() == 0);
}

TEST_CASE("etcd auth: an etcd asking for a user when none is configured says so", "[etcd_auth]") {
    CannedHttpServer etcd({answer(
        400,
        R"({"error":"etcdserver: user name is empty","message":"etcdserver: user name is empty","code":3})")});
    EtcdClient client(parse_etcd_endpoints(etcd.url()), EtcdClientOptions{});
    CHECK_THROWS_WITH(client.range("/k"),
                      Catch::Contains("user name is empty") &&
                          Catch::Contains("authentication enabled and no etcd user is configured"));
    CHECK(etcd.heads().at(0).find("uthorization") == std::string::npos);
}

TEST_CASE(
    "etcd auth on a real member: the lease works as the user, a wrong password names the "
    "user, a revoked token is renewed",
    "[etcd_auth_etcd]") {
    EtcdTestCluster cluster;
    ETCD_SKIP_IF_UNAVAILABLE(cluster);
    cluster.enable_auth("exch", "right-pw", "/exchanged/");

    EtcdClient etcd = client_as(cluster.endpoints(), "exch", "right-pw");
    // A long lease: etcdctl and bcrypt on a loaded machine must not end its validity here.
    LeaderLease lease(etcd, {"/exchanged/leader", 10s, std::nullopt},
                      [] { return LeaseClock::now(); });
    const CampaignResult won = lease.campaign({"1", "127.0.0.1:9621"});
    REQUIRE(won.won);
    REQUIRE(lease.renew().renewed);
    CHECK(etcd.authentications() == 1);

    // A wrong password: refused at once, naming the user.
    EtcdClient wrong = client_as(cluster.endpoints(), "exch", "wrong-pw");
    try {
        wrong.range("/exchanged/leader");
        FAIL("a range with a wrong password succeeded");
    } catch (const EtcdError& error) {
        INFO(error.what());
        CHECK_FALSE(error.unavailable());
        CHECK_THAT(error.what(), Catch::Contains("refused user 'exch'") &&
                                     Catch::Contains("invalid user ID or password"));
    }
    // No user at all; the user's role ends at its prefix.
    EtcdClient anonymous(parse_etcd_endpoints(cluster.endpoints()), EtcdClientOptions{});
    CHECK_THROWS_WITH(anonymous.range("/exchanged/leader"),
                      Catch::Contains("no etcd user is configured"));
    CHECK_THROWS_WITH(
        etcd.txn(put_if_absent("/other", "x")),
        Catch::Contains("permission denied") && Catch::Contains("as etcd user 'exch'"));

    // Every token revoked: the next renewal gets a new one and succeeds.
    REQUIRE(lease.renew().renewed);
    cluster.revoke_tokens();
    CHECK(lease.renew().renewed);
    CHECK(lease.holds());
    CHECK(etcd.authentications() == 2);

    // The planted fault shows the check above can fail: a client that does not renew a rejected
    // token fails the renewal, and the term is over.
    REQUIRE(lease.renew().renewed);
    cluster.revoke_tokens();
    {
        test_fault::ScopedFault fault(test_fault::Fault::EtcdTokenNotRenewed);
        CHECK_FALSE(lease.renew().renewed);
    }
    CHECK(etcd.authentications() == 2);
}

}  // namespace exchanged::ha
