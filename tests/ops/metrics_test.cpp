// The metrics registry: the exact text a scraper gets, and the registrations it refuses.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/metrics.hpp"

using exchanged::ops::Metrics;
using exchanged::ops::valid_metric_name;

namespace {

void register_nothing(Metrics& metrics, const std::string& name) {
    metrics.gauge(name, "help", [] { return 0.0; });
}

std::string refusal(const std::function<void()>& registration) {
    try {
        registration();
    } catch (const std::invalid_argument& error) {
        return error.what();
    }
    FAIL("no std::invalid_argument");
    return {};
}

}  // namespace

TEST_CASE("metrics render as Prometheus text format 0.0.4, families in registration order") {
    Metrics metrics;
    std::atomic<std::uint64_t> orders{41};
    metrics.counter("exchanged_orders_total", "Orders accepted.",
                    [&] { return static_cast<double>(orders.load(std::memory_order_relaxed)); });
    metrics.gauge("exchanged_queue_depth", "Commands queued toward a shard.", "shard=\"0\"",
                  [] { return 3.0; });
    metrics.counter("exchanged_rejects_total", "Orders rejected, by reason.", "reason=\"busy\"",
                    [] { return 2.0; });
    metrics.gauge("exchanged_queue_depth", "Commands queued toward a shard.", "shard=\"1\"",
                  [] { return 0.0; });
    metrics.gauge("exchanged_flush_lag_seconds", "Lag.\nA second line, a \\ backslash.",
                  [] { return 0.25; });
    metrics.gauge("odd_values", "Values Go's ParseFloat must read.", "v=\"nan\"",
                  [] { return std::numeric_limits<double>::quiet_NaN(); });
    metrics.gauge("odd_values", "Values Go's ParseFloat must read.", "v=\"inf\"",
                  [] { return std::numeric_limits<double>::infinity(); });
    metrics.gauge("odd_values", "Values Go's ParseFloat must read.", "v=\"-inf\"",
                  [] { return -std::numeric_limits<double>::infinity(); });
    metrics.gauge("odd_values", "Values Go's ParseFloat must read.", "v=\"2^53\"",
                  [] { return 9007199254740992.0; });
    metrics.gauge("odd_values", "Values Go's ParseFloat must read.", "v=\"big\"",
                  [] { return 1e21; });
    metrics.gauge("odd_values", "Values Go's ParseFloat must read.", "v=\"small\",w=\"a\\\"b\"",
                  [] { return -1.5e-7; });
    ++orders;

    const std::string expected = R"(# HELP exchanged_orders_total Orders accepted.
# TYPE exchanged_orders_total counter
exchanged_orders_total 42
# HELP exchanged_queue_depth Commands queued toward a shard.
# TYPE exchanged_queue_depth gauge
exchanged_queue_depth{shard="0"} 3
exchanged_queue_depth{shard="1"} 0
# HELP exchanged_rejects_total Orders rejected, by reason.
# TYPE exchanged_rejects_total counter
exchanged_rejects_total{reason="busy"} 2
# HELP exchanged_flush_lag_seconds Lag.\nA second line, a \\ backslash.
# TYPE exchanged_flush_lag_seconds gauge
exchanged_flush_lag_seconds 0.25
# HELP odd_values Values Go's ParseFloat must read.
# TYPE odd_values gauge
odd_values{v="nan"} NaN
odd_values{v="inf"} +Inf
odd_values{v="-inf"} -Inf
odd_values{v="2^53"} 9007199254740992
odd_values{v="big"} 1e+21
odd_values{v="small",w="a\"b"} -1.5e-07
)";
    CHECK(metrics.render() == expected);

    orders.store(7);
    CHECK(metrics.render().find("\nexchanged_orders_total 7\n") != std::string::npos);
}

TEST_CASE("an empty registry renders as nothing") {
    CHECK(Metrics().render().empty());
}

TEST_CASE("metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*") {
    for (const char* good : {"a", "_x", ":x", "a:b_c9", "exchanged_store_lsn", "A9"}) {
        INFO(good);
        CHECK(valid_metric_name(good));
        Metrics metrics;
        CHECK_NOTHROW(register_nothing(metrics, good));
    }
    for (const char* bad :
         {"", "9lives", "has-dash", "has space", "dot.ted", "\xc3\xbcmlaut", "a{b}", "a\nb"}) {
        INFO(bad);
        CHECK_FALSE(valid_metric_name(bad));
        Metrics metrics;
        const std::string why = refusal([&] { register_nothing(metrics, bad); });
        CHECK(why.find("'" + std::string(bad) + "'") != std::string::npos);
        CHECK(metrics.render().empty());
    }
}

TEST_CASE("label sets must be well-formed and escaped") {
    const auto labelled = [](const std::string& labels) {
        Metrics metrics;
        metrics.gauge("m", "help", labels, [] { return 1.0; });
        return metrics.render();
    };
    CHECK(labelled("a=\"1\",b_2=\"x\\\"y\\\\z\\n\",_c=\"\"")
              .find("m{a=\"1\",b_2=\"x\\\"y\\\\z\\n\",_c=\"\"} 1\n") != std::string::npos);
    CHECK(labelled("").find("\nm 1\n") != std::string::npos);

    for (const char* bad :
         {"shard=0", "shard=\"0", "9x=\"1\"", "__x=\"1\"", "a=\"1\",a=\"2\"", "a=\"1\",",
          "a=\"\\x\"", "a=\"1\"b=\"2\"", "a=\"line\nbreak\"", "a =\"1\"", ",a=\"1\"", "a=\"1\"}"}) {
        INFO(bad);
        const std::string why = refusal([&] { labelled(bad); });
        CHECK(why.find("metric m: bad labels") != std::string::npos);
    }
}

TEST_CASE("a name is one family: one type, one help, each label set once") {
    Metrics metrics;
    metrics.counter("c_total", "Counts.", [] { return 1.0; });
    metrics.gauge("g", "Gauges.", "s=\"0\"", [] { return 1.0; });

    CHECK(refusal([&] {
              metrics.gauge("c_total", "Counts.", [] { return 1.0; });
          }).find("registered with two types") != std::string::npos);
    CHECK(refusal([&] {
              metrics.gauge("g", "Other help.", "s=\"1\"", [] { return 1.0; });
          }).find("two help texts") != std::string::npos);
    CHECK(refusal([&] { metrics.gauge("g", "Gauges.", "s=\"0\"", [] { return 1.0; }); }) ==
          "metric g{s=\"0\"} registered twice");
    CHECK(refusal([&] { metrics.counter("c_total", "Counts.", [] { return 2.0; }); }) ==
          "metric c_total registered twice");
    CHECK(refusal([&] {
              metrics.gauge("no_read", "x", Metrics::Read());
          }).find("no read callback") != std::string::npos);

    // Unlabelled and labelled series may share a family.
    metrics.gauge("g", "Gauges.", [] { return 5.0; });
    CHECK(metrics.render() ==
          "# HELP c_total Counts.\n# TYPE c_total counter\nc_total 1\n"
          "# HELP g Gauges.\n# TYPE g gauge\ng{s=\"0\"} 1\ng 5\n");
}

TEST_CASE("registering after seal() throws std::logic_error and changes nothing") {
    Metrics metrics;
    metrics.gauge("before", "Registered in time.", [] { return 1.0; });
    CHECK_FALSE(metrics.sealed());
    metrics.seal();
    CHECK(metrics.sealed());
    CHECK_THROWS_AS(metrics.gauge("after", "Too late.", [] { return 2.0; }), std::logic_error);
    CHECK_THROWS_WITH(metrics.counter("late_total", "Too late.", [] { return 2.0; }),
                      Catch::Contains("late_total") && Catch::Contains("sealed"));
    CHECK(metrics.render() == "# HELP before Registered in time.\n# TYPE before gauge\nbefore 1\n");
}

TEST_CASE("a callback's exception reaches the caller of render()") {
    Metrics metrics;
    metrics.gauge("broken", "Throws.", []() -> double { throw std::runtime_error("no value"); });
    CHECK_THROWS_WITH(metrics.render(), "no value");
}

TEST_CASE("a histogram counts each value in the first bucket whose bound holds it") {
    exchanged::Histogram histogram({0.001, 0.01, 0.1});
    for (double v : {0.0005, 0.001, 0.002, 0.05, 0.05, 3.0}) {
        histogram.observe(v);
    }
    const exchanged::HistogramSnapshot snapshot = histogram.snapshot();
    CHECK(snapshot.upper_bounds == std::vector<double>{0.001, 0.01, 0.1});
    // Cumulative: le=0.001 holds 0.0005 and 0.001 (bounds are inclusive), +Inf holds all six.
    CHECK(snapshot.counts == std::vector<std::uint64_t>{2, 3, 5, 6});
    CHECK(snapshot.count() == 6);
    CHECK(snapshot.sum == Approx(3.1035));

    exchanged::HistogramSnapshot twice = snapshot;
    twice.merge(snapshot);
    CHECK(twice.counts == std::vector<std::uint64_t>{4, 6, 10, 12});
    exchanged::HistogramSnapshot other = exchanged::Histogram({1.0}).snapshot();
    CHECK_THROWS_AS(twice.merge(other), std::invalid_argument);
}

TEST_CASE("a histogram refuses bounds that are empty, unordered or infinite") {
    CHECK_THROWS_AS(exchanged::Histogram({}), std::invalid_argument);
    CHECK_THROWS_AS(exchanged::Histogram({1.0, 1.0}), std::invalid_argument);
    CHECK_THROWS_AS(exchanged::Histogram({2.0, 1.0}), std::invalid_argument);
    CHECK_THROWS_AS(exchanged::Histogram({1.0, std::numeric_limits<double>::infinity()}),
                    std::invalid_argument);
}

TEST_CASE("histograms render as _bucket with le, _sum and _count") {
    Metrics metrics;
    exchanged::Histogram fsync({0.0001, 0.001});
    fsync.observe(0.00005);
    fsync.observe(0.0005);
    fsync.observe(0.5);
    exchanged::Histogram shard1({0.5});
    shard1.observe(0.25);
    metrics.histogram("wal_fsync_seconds", "fsync latency.", [&] { return fsync.snapshot(); });
    metrics.histogram("ack_seconds", "Ack latency.", "point=\"wal\"",
                      [&] { return shard1.snapshot(); });
    const std::string expected = R"(# HELP wal_fsync_seconds fsync latency.
# TYPE wal_fsync_seconds histogram
wal_fsync_seconds_bucket{le="0.0001"} 1
wal_fsync_seconds_bucket{le="0.001"} 2
wal_fsync_seconds_bucket{le="+Inf"} 3
wal_fsync_seconds_sum 0.50055
wal_fsync_seconds_count 3
# HELP ack_seconds Ack latency.
# TYPE ack_seconds histogram
ack_seconds_bucket{point="wal",le="0.5"} 1
ack_seconds_bucket{point="wal",le="+Inf"} 1
ack_seconds_sum{point="wal"} 0.25
ack_seconds_count{point="wal"} 1
)";
    CHECK(metrics.render() == expected);
}

TEST_CASE("a histogram may not use the label le, nor share a name with a counter") {
    Metrics metrics;
    auto read = [] { return exchanged::Histogram({1.0}).snapshot(); };
    CHECK(refusal([&] {
              metrics.histogram("h", "help", "le=\"1\"", read);
          }).find("le is reserved") != std::string::npos);
    CHECK(refusal([&] {
              metrics.histogram("h", "help", "a=\"x\",le=\"1\"", read);
          }).find("le is reserved") != std::string::npos);
    metrics.counter("c_total", "help", [] { return 0.0; });
    CHECK(refusal([&] { metrics.histogram("c_total", "help", read); }).find("two types") !=
          std::string::npos);
    CHECK(refusal([&] {
              metrics.histogram("h", "help", Metrics::ReadHistogram{});
          }).find("no read callback") != std::string::npos);
}
