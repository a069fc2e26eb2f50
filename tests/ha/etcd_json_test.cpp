// The gateway's JSON as etcd 3.4.23 writes it (answers copied from a real member), omitted zero
// values, and answers that are wrong in each way the parser must refuse.
#include <catch2/catch.hpp>

#include "common/base64.hpp"
#include "ha/etcd_endpoint.hpp"
#include "ha/etcd_json.hpp"

namespace exchanged::ha {

namespace {

const std::string kHeader =
    R"("header":{"cluster_id":"14716055359817145110","member_id":"6166967486522995413",)"
    R"("revision":"2","raft_term":"2"})";

}  // namespace

TEST_CASE("a successful txn's answer: succeeded, the revision of the write", "[etcd_json]") {
    const TxnResult r = parse_txn("{" + kHeader +
                                  R"(,"succeeded":true,"responses":[{"response_put":)"
                                  R"({"header":{"revision":"2"}}}]})");
    CHECK(r.succeeded);
    CHECK(r.revision == 2);
    REQUIRE(r.responses.size() == 1);
    CHECK(r.responses[0].kind == TxnOp::Kind::Put);
}

TEST_CASE("a failed txn's answer has no 'succeeded': it reads as false, with the holder",
          "[etcd_json]") {
    const TxnResult r = parse_txn(
        "{" + kHeader +
        R"(,"responses":[{"response_range":{"header":{"revision":"2"},"kvs":[{"key":"L3gvbGVhZGVy",)"
        R"("create_revision":"2","mod_revision":"2","version":"1","value":"bm9kZTE="}],)"
        R"("count":"1"}}]})");
    CHECK_FALSE(r.succeeded);
    REQUIRE(r.responses.size() == 1);
    REQUIRE(r.responses[0].kvs.size() == 1);
    const KeyValue& kv = r.responses[0].kvs[0];
    CHECK(kv.key == "/x/leader");
    CHECK(kv.value == "node1");
    CHECK(kv.create_revision == 2);
    CHECK(kv.lease == 0);  // omitted: no lease
}

TEST_CASE("a range over a missing key: no kvs field, an empty result", "[etcd_json]") {
    const RangeResult r = parse_range("{" + kHeader + "}");
    CHECK(r.revision == 2);
    CHECK(r.kvs.empty());
}

TEST_CASE("lease answers: grant, renewal with a TTL, renewal of an expired lease without one",
          "[etcd_json]") {
    const LeaseGrant g =
        parse_lease_grant("{" + kHeader + R"(,"ID":"3663012278421610246","TTL":"2"})");
    CHECK(g.id == 3663012278421610246);
    CHECK(g.ttl_seconds == 2);
    CHECK(parse_lease_keepalive(R"({"result":{)" + kHeader + R"(,"ID":"1","TTL":"2"}})") == 2);
    CHECK(parse_lease_keepalive(R"({"result":{)" + kHeader + R"(,"ID":"12345"}})") == 0);
}

TEST_CASE("etcd's two error shapes are recognised, other answers are not errors", "[etcd_json]") {
    const auto unary = parse_server_error(
        R"({"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14})");
    REQUIRE(unary.has_value());
    CHECK(unary->grpc_code == 14);
    CHECK(unary->message == "etcdserver: no leader");
    const auto stream = parse_server_error(
        R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader",)"
        R"("http_status":"Service Unavailable"}})");
    REQUIRE(stream.has_value());
    CHECK(stream->grpc_code == 14);
    CHECK(stream->message == "etcdserver: no leader");
    CHECK_FALSE(parse_server_error("{" + kHeader + "}").has_value());
    CHECK_FALSE(parse_server_error("not json").has_value());
}

TEST_CASE("answers that are not what etcd sends are errors naming the field, never a crash",
          "[etcd_json]") {
    const std::pair<const char*, std::string> bad[] = {
        {"not JSON", "<html>oops"},
        {"not a JSON object", "[1,2]"},
        {"header.revision", R"({"header":{"revision":"12x"}})"},
        {"header", R"({"header":"x"})"},
        {"succeeded", R"({"succeeded":"yes"})"},
        {"responses", R"({"responses":{}})"},
        {"unknown response", R"({"responses":[{"response_foo":{}}]})"},
        {"kvs", R"({"responses":[{"response_range":{"kvs":[{"key":"!!"}]}}]})"},
        {"create_revision",
         R"({"responses":[{"response_range":{"kvs":[{"create_revision":true}]}}]})"},
    };
    for (const auto& [what, body] : bad) {
        INFO(body);
        CHECK_THROWS_WITH(parse_txn(body), Catch::Contains(what));
    }
    CHECK_THROWS_AS(parse_lease_grant("{" + kHeader + "}"), EtcdJsonError);  // no ID, no TTL
    CHECK_THROWS_AS(parse_lease_keepalive("{}"), EtcdJsonError);             // no result
    CHECK_THROWS_AS(parse_range(""), EtcdJsonError);
}

TEST_CASE("requests carry keys and values as base64 and int64s as strings", "[etcd_json]") {
    Txn txn;
    txn.compare.push_back({Compare::Target::Create, Compare::Result::Equal, "/k", 0, ""});
    txn.compare.push_back({Compare::Target::Value, Compare::Result::Equal, "/k", 0, "v"});
    txn.success.push_back({TxnOp::Kind::Put, "/k", "v", 42});
    txn.failure.push_back({TxnOp::Kind::Range, "/k", "", 0});
    const std::string body = txn_request(txn);
    const std::string key = base64_encode("/k");
    CHECK_THAT(body, Catch::Contains(R"("create_revision":"0")"));
    CHECK_THAT(body, Catch::Contains(R"("target":"CREATE")"));
    CHECK_THAT(body, Catch::Contains(R"("value":")" + base64_encode("v") + "\""));
    CHECK_THAT(body, Catch::Contains(R"("lease":"42")"));
    CHECK_THAT(body, Catch::Contains(R"("request_range":{"key":")" + key + "\"}"));
    CHECK(lease_keepalive_request(7) == R"({"ID":"7"})");
}

TEST_CASE("etcd endpoints: http and https URLs and host:port, refused by name otherwise",
          "[etcd_endpoint]") {
    const EtcdEndpoint a = parse_etcd_endpoint("http://127.0.0.1:2379");
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 2379);
    const EtcdEndpoint b = parse_etcd_endpoint(" [::1]:23790/ ");
    CHECK(b.host == "::1");
    CHECK(b.port == 23790);
    CHECK(parse_etcd_endpoints("http://a:1, b:2").size() == 2);
    CHECK_FALSE(a.tls);
    const EtcdEndpoint c = parse_etcd_endpoint("https://etcd1.example:2379");
    CHECK(c.tls);
    CHECK(c.host == "etcd1.example");
    CHECK(c.port == 2379);
    CHECK_THROWS_WITH(parse_etcd_endpoints("https://a:1, http://b:2"),
                      Catch::Contains("mix http:// and https://"));
    CHECK_THROWS_WITH(parse_etcd_endpoint("unix://a:1"), Catch::Contains("only http://"));
    CHECK_THROWS_WITH(parse_etcd_endpoint("http://a"), Catch::Contains("no port"));
    CHECK_THROWS_WITH(parse_etcd_endpoint("http://a:0"), Catch::Contains("'0'"));
    CHECK_THROWS_WITH(parse_etcd_endpoint("http://a:99999"), Catch::Contains("1..65535"));
    CHECK_THROWS_WITH(parse_etcd_endpoint("http://:1"), Catch::Contains("host"));
    CHECK_THROWS_WITH(parse_etcd_endpoints(" , "), Catch::Contains("empty"));
}

}  // namespace exchanged::ha
