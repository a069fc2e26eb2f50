// What the daemon exports on /metrics and answers on /health (docs/operations.md): the store's
// and the WAL's progress, the flush worker's lag, and the gateway's and shards' counters. Every
// value is read at scrape time on the admin thread, from atomics or the components' own stats.
#pragma once

#include "mirror/mirror_log.hpp"
#include "net/gateway.hpp"
#include "ops/admin_server.hpp"
#include "ops/metrics.hpp"
#include "service/order_service.hpp"
#include "store/flush_worker.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::app {

struct DaemonParts {
    const service::OrderService& service;
    const net::Gateway& gateway;
    const store::FlushWorker& flush;
    const wal::WalWriter* writer;               // null without a WAL
    const mirror::MirrorLog* mirror = nullptr;  // null without a Redis mirror
};

// All referenced parts must outlive every scrape (stop the admin server first).
void register_daemon_metrics(ops::Metrics& metrics, const DaemonParts& parts);

// Unhealthy (503) when the WAL failed, the store's last attempt failed, or the Redis mirror is
// unavailable or failed.
ops::HealthCheck daemon_health(const DaemonParts& parts);

}  // namespace exchanged::app
