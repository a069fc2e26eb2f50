// POST endpoints of the admin server (POST /backup): the handler answers later from a thread of
// its own while the server goes on serving GETs; only registered paths take POST, and they take
// nothing else.
#include <catch2/catch.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "http_client.hpp"
#include "ops/admin_server.hpp"
#include "ops/metrics.hpp"

using namespace exchanged::ops;
using exchanged::test::http_get;
using exchanged::test::HttpClient;
using exchanged::test::HttpResponse;

namespace {

std::string request(std::string_view method, std::string_view target) {
    return std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n\r\n";
}

}  // namespace

TEST_CASE("admin POST: answered later from another thread, GETs served meanwhile", "[ops][admin]") {
    Metrics metrics;
    std::mutex mutex;
    std::optional<AdminReply> pending;
    AdminOptions options;
    options.post_handlers["/backup"] = [&](AdminReply reply) {
        std::lock_guard lock(mutex);
        pending = std::move(reply);
    };
    AdminServer server("127.0.0.1", 0, metrics, options);
    server.start();

    HttpClient client(server.port());
    REQUIRE(client.send(request("POST", "/backup")));
    // Not answered yet, and the admin thread is free: another connection's GET is served.
    CHECK_FALSE(client.read_response(std::chrono::milliseconds(200)));
    const std::optional<HttpResponse> health = http_get(server.port(), "/health");
    REQUIRE(health);
    CHECK(health->status == 200);

    std::thread worker([&] {
        std::lock_guard lock(mutex);
        REQUIRE(pending);
        (*pending)(409, "{\"error\": \"busy\"}\n");
    });
    worker.join();
    const std::optional<HttpResponse> answer = client.read_response();
    REQUIRE(answer);
    CHECK(answer->status == 409);
    CHECK(answer->header("content-type") == "application/json");
    CHECK(answer->body == "{\"error\": \"busy\"}\n");
    // The connection stays usable (keep-alive).
    REQUIRE(client.send(request("GET", "/metrics")));
    const std::optional<HttpResponse> metrics_answer = client.read_response();
    REQUIRE(metrics_answer);
    CHECK(metrics_answer->status == 200);
    server.stop();
}

TEST_CASE("admin POST: only registered paths take it, and they take only POST", "[ops][admin]") {
    Metrics metrics;
    AdminOptions options;
    options.post_handlers["/backup"] = [](AdminReply reply) { reply(200, "{}\n"); };
    AdminServer server("127.0.0.1", 0, metrics, options);
    server.start();

    const std::optional<HttpResponse> get = http_get(server.port(), "/backup");
    REQUIRE(get);
    CHECK(get->status == 405);
    CHECK(get->header("allow") == "POST");

    HttpClient other(server.port());
    REQUIRE(other.send(request("POST", "/metrics")));
    const std::optional<HttpResponse> refused = other.read_response();
    REQUIRE(refused);
    CHECK(refused->status == 405);
    CHECK(refused->header("allow") == "GET");

    HttpClient client(server.port());
    REQUIRE(client.send(request("POST", "/backup")));
    const std::optional<HttpResponse> answer = client.read_response();
    REQUIRE(answer);
    CHECK(answer->status == 200);
    CHECK(answer->body == "{}\n");
}

TEST_CASE("admin POST: a reply after stop() is dropped", "[ops][admin]") {
    Metrics metrics;
    std::optional<AdminReply> pending;
    AdminOptions options;
    options.post_handlers["/backup"] = [&](AdminReply reply) { pending = std::move(reply); };
    AdminServer server("127.0.0.1", 0, metrics, options);
    server.start();
    HttpClient client(server.port());
    REQUIRE(client.send(request("POST", "/backup")));
    REQUIRE(client.wait_closed(std::chrono::milliseconds(300)) == false);
    server.stop();
    REQUIRE(pending);
    (*pending)(200, "{}\n");  // must not crash or write to the closed connection
    CHECK(client.wait_closed(std::chrono::milliseconds(3000)));
}
