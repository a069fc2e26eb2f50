#include "app/daemon_metrics.hpp"

#include <string>
#include <utility>

namespace exchanged::app {
namespace {

void register_mirror_metrics(ops::Metrics& metrics, const mirror::MirrorLog& log) {
    const mirror::MirrorLog* m = &log;
    metrics.gauge("exchanged_mirror_durable_lsn", "Highest LSN Redis has acknowledged",
                  [m] { return static_cast<double>(m->durable_lsn()); });
    metrics.gauge("exchanged_mirror_unavailable",
                  "1 while Redis does not answer (new orders are refused as unavailable)",
                  [m] { return m->unavailable() ? 1.0 : 0.0; });
    metrics.gauge("exchanged_mirror_failed",
                  "1 once the mirror failed (fatal): the Redis stream does not continue this "
                  "daemon's log, or Redis stayed silent past redis_hold_limit_ms",
                  [m] { return m->failed() ? 1.0 : 0.0; });
    metrics.gauge("exchanged_mirror_trimmed_below_lsn",
                  "The confirmation trimmed the Redis stream below this LSN (the store has them)",
                  [m] { return static_cast<double>(m->stats().trimmed_below); });
    metrics.counter("exchanged_mirror_records_total", "Records Redis acknowledged",
                    [m] { return static_cast<double>(m->stats().records); });
    metrics.counter("exchanged_mirror_batches_total", "Pipelined round trips to Redis",
                    [m] { return static_cast<double>(m->stats().batches); });
    metrics.counter("exchanged_mirror_failed_round_trips_total",
                    "Round trips to Redis that failed (the batch is resent after a reconnect)",
                    [m] { return static_cast<double>(m->stats().failed_round_trips); });
    metrics.counter("exchanged_mirror_reconnects_total", "Connections made to Redis",
                    [m] { return static_cast<double>(m->stats().reconnects); });
    metrics.counter("exchanged_mirror_gaps_total",
                    "Confirmation checks that found acknowledged entries missing from Redis",
                    [m] { return static_cast<double>(m->stats().gaps); });
}

}  // namespace

void register_daemon_metrics(ops::Metrics& metrics, const DaemonParts& parts) {
    const store::FlushWorker& flush = parts.flush;
    metrics.gauge("exchanged_store_lsn", "Highest WAL LSN whose events the store has committed",
                  [&flush] { return static_cast<double>(flush.store_lsn()); });
    metrics.gauge("exchanged_store_uncommitted_records",
                  "Logged records whose events are not yet in the store",
                  [&flush] { return static_cast<double>(flush.stats().uncommitted); });
    metrics.gauge("exchanged_store_flush_lag_seconds",
                  "How long the oldest record not yet in the store has waited",
                  [&flush] { return flush.stats().lag_seconds; });
    metrics.gauge("exchanged_store_up", "1 when the store's last transaction succeeded",
                  [&flush] { return flush.stats().store_up ? 1.0 : 0.0; });
    metrics.gauge("exchanged_store_last_commit_seconds",
                  "Duration of the flush worker's last successful transaction",
                  [&flush] { return flush.stats().last_commit_seconds; });
    metrics.gauge("exchanged_store_catching_up",
                  "1 while the store is caught up from the WAL after a feed overflowed",
                  [&flush] { return flush.stats().catching_up ? 1.0 : 0.0; });
    metrics.counter("exchanged_store_catch_ups_total",
                    "Times a feed overflowed and the store was caught up from the WAL",
                    [&flush] { return static_cast<double>(flush.stats().catch_ups); });
    metrics.counter("exchanged_store_batches_total", "Batches committed to the store",
                    [&flush] { return static_cast<double>(flush.stats().batches); });
    metrics.counter("exchanged_store_events_total", "Matcher events committed to the store",
                    [&flush] { return static_cast<double>(flush.stats().events); });
    metrics.counter("exchanged_store_failures_total",
                    "Store transactions that failed (each is retried)",
                    [&flush] { return static_cast<double>(flush.stats().failures); });
    metrics.histogram("exchanged_store_commit_seconds",
                      "Duration of each successful store batch transaction",
                      [&flush] { return flush.commit_seconds().snapshot(); });

    const service::OrderService& service = parts.service;
    metrics.counter("exchanged_orders_refused_store_behind_total",
                    "Orders refused as unavailable because the store feed was full", [&service] {
                        return static_cast<double>(service.runner_stats().refused_store_behind);
                    });
    metrics.counter(
        "exchanged_orders_refused_unflushed_total",
        "Orders refused as unavailable because the oldest acknowledged record the "
        "store has not committed was older than max_unflushed_ms",
        [&service] { return static_cast<double>(service.runner_stats().refused_unflushed); });
    metrics.gauge(
        "exchanged_unflushed_age_seconds",
        "Age of the oldest acknowledged record the store has not committed, as the "
        "busiest shard last saw it (0 without max_unflushed_ms)",
        [&service] { return static_cast<double>(service.runner_stats().unflushed_age_ns) / 1e9; });
    metrics.counter(
        "exchanged_orders_refused_total",
        "Commands refused before they were logged, by the reply's reason", "reason=\"busy\"",
        [&service] { return static_cast<double>(service.runner_stats().refused_busy); });
    metrics.counter(
        "exchanged_orders_refused_total",
        "Commands refused before they were logged, by the reply's reason", "reason=\"unavailable\"",
        [&service] { return static_cast<double>(service.runner_stats().refused_unavailable); });
    for (const AckPoint point :
         {AckPoint::Match, AckPoint::Wal, AckPoint::Store, AckPoint::Quorum, AckPoint::Mirror}) {
        metrics.histogram(
            "exchanged_ack_latency_seconds",
            "Seconds from a command's stamp on its shard to its reply leaving the release gate, by "
            "the durability point the reply waited for",
            "point=\"" + std::string(to_string(point)) + "\"",
            [&service, point] { return service.ack_latency(point); });
    }
    metrics.counter(
        "exchanged_store_feed_overflows_total",
        "Commands whose events a full feed dropped (the WAL rebuilds them)",
        [&service] { return static_cast<double>(service.runner_stats().feed_overflows); });
    metrics.counter("exchanged_store_feed_full_waits_total",
                    "Commands whose events waited for room in a full feed (no WAL)", [&service] {
                        return static_cast<double>(service.runner_stats().feed_full_waits);
                    });

    if (const wal::WalWriter* writer = parts.writer) {
        metrics.gauge("exchanged_wal_durable_lsn", "Highest LSN the WAL has fdatasynced",
                      [writer] { return static_cast<double>(writer->durable_lsn()); });
        metrics.counter("exchanged_wal_bytes_total", "Bytes written to the WAL",
                        [writer] { return static_cast<double>(writer->stats().bytes); });
        metrics.counter("exchanged_wal_batches_total", "WAL group commits (write + fdatasync)",
                        [writer] { return static_cast<double>(writer->stats().batches); });
        metrics.counter("exchanged_wal_records_total", "Records written to the WAL",
                        [writer] { return static_cast<double>(writer->stats().records); });
        metrics.gauge("exchanged_wal_segment_bytes",
                      "Bytes of the WAL segments kept on disk (until the store has their records)",
                      [writer] { return static_cast<double>(writer->segment_bytes()); });
        metrics.gauge("exchanged_wal_failed", "1 once a WAL write or fdatasync failed (fatal)",
                      [writer] { return writer->state() == wal::WalState::Failed ? 1.0 : 0.0; });
        metrics.histogram("exchanged_wal_sync_seconds",
                          "Seconds from a group commit's submission to its write + fdatasync done",
                          [writer] { return writer->sync_seconds().snapshot(); });
        metrics.histogram("exchanged_wal_group_commit_records", "Records per WAL group commit",
                          [writer] { return writer->batch_records().snapshot(); });
    }

    if (const mirror::MirrorLog* log = parts.mirror) {
        register_mirror_metrics(metrics, *log);
    }

    const net::Gateway& gateway = parts.gateway;
    metrics.gauge("exchanged_sessions", "Client sessions open",
                  [&gateway] { return static_cast<double>(gateway.session_count()); });
    metrics.counter("exchanged_requests_total", "Client requests handed to the shards",
                    [&gateway] { return static_cast<double>(gateway.stats().requests_submitted); });
    metrics.counter("exchanged_requests_refused_total",
                    "Client requests refused before a shard saw them (queue full, stopping)",
                    [&gateway] { return static_cast<double>(gateway.stats().requests_refused); });
    metrics.counter("exchanged_slow_consumers_total",
                    "Sessions dropped because they did not read their replies",
                    [&gateway] { return static_cast<double>(gateway.stats().slow_consumers); });
}

ops::HealthCheck daemon_health(const DaemonParts& parts) {
    const store::FlushWorker* flush = &parts.flush;
    const wal::WalWriter* writer = parts.writer;
    const mirror::MirrorLog* log = parts.mirror;
    return [flush, writer, log]() -> std::pair<bool, std::string> {
        if (writer != nullptr && writer->state() == wal::WalState::Failed) {
            return {false, "WAL failed: " + writer->failure() + "\n"};
        }
        if (log != nullptr && log->failed()) {
            return {false, "Redis mirror failed (see the log)\n"};
        }
        if (log != nullptr && log->unavailable()) {
            return {false, "Redis mirror unavailable: new orders are refused\n"};
        }
        const store::FlushStats stats = flush->stats();
        if (!stats.store_up) {
            return {false, "store unavailable: " + std::to_string(stats.uncommitted) +
                               " records wait for it\n"};
        }
        return {true, "ok\n"};
    };
}

}  // namespace exchanged::app
