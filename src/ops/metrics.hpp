// The daemon's Prometheus metrics (docs/architecture.md: Operations): a registry of named series
// whose values are read through callbacks at scrape time, rendered in the Prometheus text
// exposition format 0.0.4.
//
// The values live where the work happens (atomics in the engine, the WAL, the gateway); the
// registry only knows how to read them, so a scrape costs the hot paths nothing but the relaxed
// loads the callbacks make.
//
// Thread-safety: register every series at start-up, before anything reads the registry, then
// seal() it (AdminServer::start does). After that the registry is read-only: render() may run on
// any thread, concurrently, and registering throws std::logic_error.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/histogram.hpp"

namespace exchanged::ops {

class Metrics {
  public:
    // Called at every scrape on the admin thread: must be quick, must not block, and should read
    // atomics (or other thread-safe state). One that throws makes that scrape fail (HTTP 500).
    using Read = std::function<double()>;
    // The same for a histogram: the cumulative buckets, the sum and (as the +Inf bucket) the count.
    using ReadHistogram = std::function<HistogramSnapshot()>;

    Metrics() = default;
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // A value that only goes up (by Prometheus convention its name ends in _total).
    void counter(std::string name, std::string help, Read read);
    // A value that goes up and down.
    void gauge(std::string name, std::string help, Read read);
    // One series of a labelled family. `labels` is the text between the braces, already escaped
    // as the format wants: `shard="0"` or `reason="busy",side="buy"`. Series of one name share
    // one HELP/TYPE block, so every series of a name must give the same help and type.
    void counter(std::string name, std::string help, std::string labels, Read read);
    void gauge(std::string name, std::string help, std::string labels, Read read);
    // A distribution, rendered as NAME_bucket{le="..."}, NAME_sum and NAME_count. `labels` may not
    // use `le`, which the buckets carry.
    void histogram(std::string name, std::string help, ReadHistogram read);
    void histogram(std::string name, std::string help, std::string labels, ReadHistogram read);
    // All of the above throw std::invalid_argument, naming the metric, for a name that is not
    // [a-zA-Z_:][a-zA-Z0-9_:]*, a malformed label set, a series registered twice, or a name
    // reused with another type or help; and std::logic_error once the registry is sealed.

    // Ends registration. Const because it changes nothing a reader sees: it only makes later
    // registration throw instead of racing with readers.
    void seal() const noexcept { sealed_.store(true, std::memory_order_release); }
    bool sealed() const noexcept { return sealed_.load(std::memory_order_acquire); }

    // Every family in registration order, each as "# HELP", "# TYPE" and its series in
    // registration order. Calls every callback once; lets a callback's exception through.
    std::string render() const;

  private:
    enum class Type { Counter, Gauge, Histogram };
    struct Series {
        std::string labels;
        Read read;                     // counters and gauges
        ReadHistogram read_histogram;  // histograms
    };
    struct Family {
        std::string name;
        std::string help;
        Type type;
        std::vector<Series> series;
    };

    void add(Type type, std::string name, std::string help, std::string labels, Read read,
             ReadHistogram read_histogram = {});

    std::vector<Family> families_;
    mutable std::atomic<bool> sealed_{false};
};

// True when `name` is a valid metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool valid_metric_name(std::string_view name);

}  // namespace exchanged::ops
