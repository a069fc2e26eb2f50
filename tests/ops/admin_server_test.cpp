// The admin HTTP endpoint over loopback: a real AdminServer on an OS-chosen port and the raw
// client of http_client.hpp, which can also misbehave (garbage, silence, too many connections).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http_client.hpp"
#include "ops/admin_server.hpp"
#include "ops/metrics.hpp"

using namespace exchanged::ops;
using exchanged::test::http_get;
using exchanged::test::HttpClient;
using exchanged::test::HttpResponse;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Generous for a loaded sanitizer build; a passing run never waits this long.
constexpr milliseconds kEventually{5000};

template <typename Condition>
bool eventually(Condition condition) {
    const Clock::time_point deadline = Clock::now() + kEventually;
    while (!condition()) {
        if (Clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(milliseconds(2));
    }
    return true;
}

// What a daemon registers: values kept in atomics by other threads, read at scrape time.
struct Values {
    std::atomic<std::uint64_t> orders{0};
    std::atomic<std::int64_t> depth0{0};
    std::atomic<std::int64_t> depth1{0};
};

void register_values(Metrics& metrics, Values& values) {
    metrics.counter("exchanged_orders_total", "Orders accepted.", [&values] {
        return static_cast<double>(values.orders.load(std::memory_order_relaxed));
    });
    metrics.gauge(
        "exchanged_queue_depth", "Commands queued toward a shard.", "shard=\"0\"",
        [&values] { return static_cast<double>(values.depth0.load(std::memory_order_relaxed)); });
    metrics.gauge(
        "exchanged_queue_depth", "Commands queued toward a shard.", "shard=\"1\"",
        [&values] { return static_cast<double>(values.depth1.load(std::memory_order_relaxed)); });
}

std::string request(std::string_view method, std::string_view target,
                    std::string_view extra_headers = "") {
    return std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" +
           std::string(extra_headers) + "\r\n";
}

}  // namespace

TEST_CASE("GET /metrics answers 200 with the registry in text format 0.0.4") {
    Metrics metrics;
    Values values;
    register_values(metrics, values);
    values.orders = 12;
    values.depth0 = 3;
    AdminServer server("127.0.0.1", 0, metrics);
    server.start();
    REQUIRE(server.port() != 0);

    const std::optional<HttpResponse> response = http_get(server.port(), "/metrics");
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(response->body ==
          "# HELP exchanged_orders_total Orders accepted.\n"
          "# TYPE exchanged_orders_total counter\n"
          "exchanged_orders_total 12\n"
          "# HELP exchanged_queue_depth Commands queued toward a shard.\n"
          "# TYPE exchanged_queue_depth gauge\n"
          "exchanged_queue_depth{shard=\"0\"} 3\n"
          "exchanged_queue_depth{shard=\"1\"} 0\n");

    // Values are read at each scrape; a query string does not change the path.
    values.orders = 13;
    const std::optional<HttpResponse> again = http_get(server.port(), "/metrics?x=1");
    REQUIRE(again);
    CHECK(again->body.find("\nexchanged_orders_total 13\n") != std::string::npos);
    CHECK(server.stats().requests == 2);
}

TEST_CASE("GET /health is 200 ok by default, and follows the health check") {
    Metrics metrics;
    SECTION("no check: always healthy") {
        AdminServer server("127.0.0.1", 0, metrics);
        server.start();
        const std::optional<HttpResponse> response = http_get(server.port(), "/health");
        REQUIRE(response);
        CHECK(response->status == 200);
        CHECK(response->body == "ok\n");
        CHECK(response->header("content-type") == "text/plain; charset=utf-8");
    }
    SECTION("a check") {
        std::atomic<bool> healthy{true};
        AdminOptions options;
        options.health = [&healthy]() -> std::pair<bool, std::string> {
            if (healthy.load()) {
                return {true, ""};
            }
            return {false, "WAL failed: fsync: Input/output error"};
        };
        AdminServer server("127.0.0.1", 0, metrics, options);
        server.start();
        std::optional<HttpResponse> response = http_get(server.port(), "/health");
        REQUIRE(response);
        CHECK(response->status == 200);
        CHECK(response->body == "ok\n");

        healthy = false;
        response = http_get(server.port(), "/health");
        REQUIRE(response);
        CHECK(response->status == 503);
        CHECK(response->body == "WAL failed: fsync: Input/output error\n");
    }
}

TEST_CASE("other paths are 404, other methods 405") {
    Metrics metrics;
    AdminServer server("127.0.0.1", 0, metrics);
    server.start();

    for (const char* target : {"/", "/metrics/", "/healthz", "/../etc/passwd", "*"}) {
        INFO(target);
        const std::optional<HttpResponse> response = http_get(server.port(), target);
        REQUIRE(response);
        CHECK(response->status == 404);
    }
    for (const char* method : {"POST", "PUT", "DELETE", "HEAD", "OPTIONS", "BREW"}) {
        INFO(method);
        HttpClient client(server.port());
        REQUIRE(client.send(request(method, "/metrics")));
        const std::optional<HttpResponse> response = client.read_response();
        REQUIRE(response);
        CHECK(response->status == 405);
        CHECK(response->header("allow") == "GET");
    }
    // A small body is read and ignored; the method is still the problem.
    HttpClient client(server.port());
    REQUIRE(client.send(request("POST", "/metrics", "Content-Length: 5\r\n") + "hello"));
    const std::optional<HttpResponse> response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 405);
}

TEST_CASE("keep-alive: one connection serves several requests, HTTP/1.0 and close end it") {
    Metrics metrics;
    AdminServer server("127.0.0.1", 0, metrics);
    server.start();

    HttpClient client(server.port());
    for (int i = 0; i < 3; ++i) {
        REQUIRE(client.send(request("GET", "/health")));
        const std::optional<HttpResponse> response = client.read_response();
        REQUIRE(response);
        CHECK(response->status == 200);
    }
    // Pipelined: both answers, in order.
    REQUIRE(client.send(request("GET", "/health") + request("GET", "/nope")));
    std::optional<HttpResponse> first = client.read_response();
    std::optional<HttpResponse> second = client.read_response();
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->status == 200);
    CHECK(second->status == 404);

    REQUIRE(client.send(request("GET", "/health", "Connection: close\r\n")));
    REQUIRE(client.read_response());
    CHECK(client.wait_closed(milliseconds(2000)));

    HttpClient old(server.port());
    REQUIRE(old.send("GET /health HTTP/1.0\r\n\r\n"));
    const std::optional<HttpResponse> response = old.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(old.wait_closed(milliseconds(2000)));
    CHECK(server.stats().connections_accepted == 2);
}

TEST_CASE("garbage gets a 400 (or just a close), never a crash") {
    Metrics metrics;
    Values values;
    register_values(metrics, values);
    AdminServer server("127.0.0.1", 0, metrics);
    server.start();

    const std::string binary("\x00\x01\x02\xff\xfe\r\n\r\n", 9);
    const std::vector<std::string> garbage = {
        "GARBAGE\r\n\r\n",
        binary,
        "GET /metrics HTTP/9.9\r\n\r\n",
        "GET /metrics HTTP/1.1 trailing\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET\x01/metrics HTTP/1.1\r\n\r\n",
    };
    for (const std::string& bytes : garbage) {
        INFO(bytes);
        HttpClient client(server.port());
        REQUIRE(client.send(bytes));
        std::string received;
        CHECK(client.wait_closed(milliseconds(3000), &received));
        if (!received.empty()) {
            CHECK(received.starts_with("HTTP/1.1 400 "));
        }
    }
    CHECK(eventually([&] { return server.stats().bad_requests == garbage.size(); }));

    SECTION("headers over 8 KiB: 431") {
        HttpClient client(server.port());
        REQUIRE(client.send(
            request("GET", "/metrics", "X-Padding: " + std::string(9 * 1024, 'a') + "\r\n")));
        std::string received;
        CHECK(client.wait_closed(milliseconds(3000), &received));
        if (!received.empty()) {
            CHECK(received.starts_with("HTTP/1.1 431 "));
        }
    }
    SECTION("a body over the limit: 413") {
        HttpClient client(server.port());
        REQUIRE(client.send(request("POST", "/metrics", "Content-Length: 100000\r\n")));
        const std::optional<HttpResponse> response = client.read_response();
        REQUIRE(response);
        CHECK(response->status == 413);
        CHECK(client.wait_closed(milliseconds(3000)));
    }
    SECTION("half a request, then the client goes") {
        HttpClient client(server.port());
        REQUIRE(client.send("GET /metr"));
        client.close();
    }

    // Still serving.
    const std::optional<HttpResponse> response = http_get(server.port(), "/metrics");
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(eventually([&] { return server.open_connections() == 0; }));
}

TEST_CASE("a metric or health callback that throws fails that request with 500 only") {
    Metrics metrics;
    std::atomic<bool> broken{true};
    metrics.gauge("flaky", "Throws while broken.", [&broken] {
        if (broken.load()) {
            throw std::runtime_error("value unavailable");
        }
        return 1.0;
    });
    AdminOptions options;
    options.health = []() -> std::pair<bool, std::string> {
        throw std::runtime_error("check failed");
    };
    AdminServer server("127.0.0.1", 0, metrics, options);
    server.start();

    std::optional<HttpResponse> response = http_get(server.port(), "/metrics");
    REQUIRE(response);
    CHECK(response->status == 500);
    response = http_get(server.port(), "/health");
    REQUIRE(response);
    CHECK(response->status == 500);

    broken = false;
    response = http_get(server.port(), "/metrics");
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body.ends_with("\nflaky 1\n"));
}

TEST_CASE("beyond max_connections, new connections are closed at accept") {
    Metrics metrics;
    AdminOptions options;
    options.read_timeout = milliseconds(60'000);  // the held connections must not time out
    AdminServer server("127.0.0.1", 0, metrics, options);
    server.start();
    REQUIRE(options.max_connections == 16);

    std::vector<std::unique_ptr<HttpClient>> held;
    for (int i = 0; i < 16; ++i) {
        held.push_back(std::make_unique<HttpClient>(server.port()));
    }
    REQUIRE(eventually([&] { return server.open_connections() == 16; }));

    HttpClient seventeenth(server.port());
    std::string received;
    CHECK(seventeenth.wait_closed(milliseconds(3000), &received));
    CHECK(received.empty());
    CHECK(server.stats().connections_refused == 1);
    CHECK(server.open_connections() == 16);

    // The held ones still work, and a freed slot is usable again.
    REQUIRE(held[0]->send(request("GET", "/health")));
    const std::optional<HttpResponse> response = held[0]->read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    held[1].reset();
    REQUIRE(eventually([&] { return server.open_connections() == 15; }));
    const std::optional<HttpResponse> later = http_get(server.port(), "/health");
    REQUIRE(later);
    CHECK(later->status == 200);
}

TEST_CASE("a connection that sends nothing, or too little, is closed after read_timeout") {
    Metrics metrics;
    AdminOptions options;
    options.read_timeout = milliseconds(200);
    AdminServer server("127.0.0.1", 0, metrics, options);
    server.start();

    const auto closed_after = [](HttpClient& client, Clock::time_point since) {
        REQUIRE(client.wait_closed(milliseconds(5000)));
        return std::chrono::duration_cast<milliseconds>(Clock::now() - since);
    };

    Clock::time_point start = Clock::now();
    HttpClient silent(server.port());
    milliseconds waited = closed_after(silent, start);
    CHECK(waited >=
          milliseconds(150));  // never early; late only under load (wait_closed bounds it)

    start = Clock::now();
    HttpClient slow(server.port());
    REQUIRE(slow.send("GET /metrics HTTP/1.1\r\n"));
    waited = closed_after(slow, start);
    CHECK(waited >= milliseconds(150));

    // An idle keep-alive connection too, counted from its last response (which the server sent
    // a moment before this thread saw it, hence the lower bound).
    HttpClient idle(server.port());
    REQUIRE(idle.send(request("GET", "/health")));
    REQUIRE(idle.read_response());
    start = Clock::now();
    waited = closed_after(idle, start);
    CHECK(waited >= milliseconds(100));

    // Counted just after the socket closes.
    CHECK(eventually([&] { return server.stats().timeouts == 3; }));
    CHECK(eventually([&] { return server.open_connections() == 0; }));
}

TEST_CASE("stop() returns promptly with clients connected, and closes them") {
    Metrics metrics;
    AdminOptions options;
    options.read_timeout = milliseconds(60'000);
    auto server = std::make_unique<AdminServer>("127.0.0.1", 0, metrics, options);
    server->start();
    const std::uint16_t port = server->port();

    HttpClient silent(port);
    HttpClient partial(port);
    REQUIRE(partial.send("GET /metr"));
    HttpClient kept(port);
    REQUIRE(kept.send(request("GET", "/health")));
    REQUIRE(kept.read_response());
    REQUIRE(eventually([&] { return server->open_connections() == 3; }));

    // Promptly means not waiting for the 60 s read timeout; the bound is generous for a loaded
    // machine and still fails a stop() that waits for its clients.
    const Clock::time_point start = Clock::now();
    server->stop();
    CHECK(Clock::now() - start < milliseconds(10'000));
    CHECK(server->open_connections() == 0);
    for (HttpClient* client : {&silent, &partial, &kept}) {
        CHECK(client->wait_closed(milliseconds(2000)));
    }

    server->stop();  // idempotent
    CHECK_THROWS_AS(server->start(), std::logic_error);
    server.reset();  // the destructor after stop()

    // Nobody listens any more: the connection is refused.
    HttpClient late(port);
    CHECK_FALSE(late.send(request("GET", "/health")));
}

TEST_CASE("the destructor stops a running server") {
    Metrics metrics;
    std::uint16_t port = 0;
    std::unique_ptr<HttpClient> client;
    {
        AdminServer server("127.0.0.1", 0, metrics);
        server.start();
        port = server.port();
        client = std::make_unique<HttpClient>(port);
        REQUIRE(eventually([&] { return server.open_connections() == 1; }));
    }
    CHECK(client->wait_closed(milliseconds(2000)));
}

TEST_CASE("start() fails with host:port and the OS error when it cannot listen") {
    Metrics metrics;
    AdminServer first("127.0.0.1", 0, metrics);
    first.start();
    const std::string where = "127.0.0.1:" + std::to_string(first.port());

    AdminServer second("127.0.0.1", first.port(), metrics);
    CHECK_THROWS_WITH(second.start(), Catch::Contains("admin: cannot listen on " + where) &&
                                          Catch::Contains("in use"));
}

TEST_CASE("start() seals the registry and cannot be called twice") {
    Metrics metrics;
    metrics.gauge("early", "In time.", [] { return 1.0; });
    AdminServer server("127.0.0.1", 0, metrics);
    server.start();
    CHECK(metrics.sealed());
    CHECK_THROWS_AS(metrics.gauge("late", "Too late.", [] { return 2.0; }), std::logic_error);
    CHECK_THROWS_AS(server.start(), std::logic_error);
}

TEST_CASE("concurrent scrapes while other threads change the values") {
    Metrics metrics;
    Values values;
    register_values(metrics, values);
    AdminServer server("127.0.0.1", 0, metrics);
    server.start();

    std::atomic<bool> done{false};
    std::thread writer([&] {
        while (!done.load()) {
            values.orders.fetch_add(1, std::memory_order_relaxed);
            values.depth0.store(static_cast<std::int64_t>(values.orders.load() % 100),
                                std::memory_order_relaxed);
            std::this_thread::yield();
        }
    });
    constexpr int kClients = 4;
    constexpr int kRequests = 25;
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
        clients.emplace_back([&] {
            // Catch's assertions are not thread-safe: count here, check on the main thread.
            for (int i = 0; i < kRequests; ++i) {
                const std::optional<HttpResponse> response = http_get(server.port(), "/metrics");
                if (response && response->status == 200 &&
                    response->body.find("exchanged_orders_total ") != std::string::npos) {
                    ++ok;
                }
            }
        });
    }
    for (std::thread& client : clients) {
        client.join();
    }
    done = true;
    writer.join();
    CHECK(ok.load() == kClients * kRequests);
}
