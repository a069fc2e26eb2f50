#include "config/summary.hpp"

namespace exchanged {
namespace {

std::string ms(std::uint32_t value) {
    return std::to_string(value) + " ms";
}

std::string wal_line(const PersistenceConfig& p) {
    if (!p.enable_wal) {
        return "off";
    }
    // Start-up refuses wal_sync = false with a WAL (config/resolve.cpp): every batch is synced.
    return std::string("on, fdatasync") + ", group commit " + std::to_string(p.batch_size) +
           " records or " + ms(p.batch_timeout_ms) + ", segments of " +
           std::to_string(p.wal_segment_bytes >> 20) + " MiB in " + p.wal_path.string();
}

std::string mirror_line(const PersistenceConfig& p) {
    if (!p.mirror()) {
        return "off";
    }
    return "redis " + to_string(p.redis_address) + " stream " + p.redis_key_prefix +
           "log, batches of up to " + std::to_string(p.redis_batch_size) + ", timeout " +
           ms(p.redis_timeout_ms) + ", queue " + std::to_string(p.redis_queue_records) +
           " records, trimmed to the store every " + ms(p.redis_confirm_interval_ms) +
           ", acks held at most " + ms(p.redis_hold_limit_ms) + " for a silent Redis";
}

std::string store_line(const PersistenceConfig& p) {
    const std::string where = p.store == StoreKind::Sqlite ? p.store_path.string() : "(dsn set)";
    std::string text = std::string(to_string(p.store)) + " " + where + ", batches of " +
                       std::to_string(p.store_batch_size) + " or " + ms(p.store_batch_timeout_ms);
    if (p.store == StoreKind::Sqlite) {
        text += ", check on start " + std::string(to_string(p.store_check_on_start));
    }
    return text;
}

std::string store_failure_line(const Config& c) {
    if (c.persistence.store == StoreKind::Postgresql) {
        // The server owns its fsync; the daemon sees a rolled-back batch or a lost connection.
        return std::string(c.store_is_durability_point() ? "a durability point" : "a checkpoint") +
               ": a failed batch is retried, a COMMIT of unknown outcome resolved by store_lsn";
    }
    if (c.store_is_durability_point()) {
        return "a durability point: a failed write or sync under the store stops the daemon";
    }
    return "a checkpoint of the WAL: a failed write is retried (a failed sync stops the daemon)";
}

template <typename Range, typename Name>
std::string list(const Range& items, Name name) {
    std::string text = std::to_string(items.size()) + ":";
    for (const auto& item : items) {
        text += " " + name(item) + "(" + std::to_string(item.id) + ")";
    }
    return text;
}

}  // namespace

std::string describe_loss_window(const Config& config) {
    const PersistenceConfig& p = config.persistence;
    if (p.ack_after == AckPoint::Quorum) {
        return "none for acknowledged orders while a majority of the replicas survives";
    }
    if (p.ack_after == AckPoint::Mirror) {
        // The daemon asks Redis for its AOF settings (exchanged --check-config: "redis loss").
        return "none for acknowledged orders while Redis keeps what it acknowledged (appendfsync "
               "always); otherwise what Redis loses";
    }
    if (p.ack_after != AckPoint::Match) {
        return "none for acknowledged orders";
    }
    if (p.enable_wal && p.wal_sync) {
        return "acknowledged orders not yet covered by a WAL fsync (up to " +
               ms(p.batch_timeout_ms) + " or " + std::to_string(p.batch_size) + " records)";
    }
    if (config.safety.max_unflushed_ms == 0) {
        return "acknowledged orders not yet committed to the store (up to " +
               ms(p.store_batch_timeout_ms) + " or " + std::to_string(p.store_batch_size) +
               " records, plus flush lag; unbounded in time: max_unflushed_ms = 0)";
    }
    return "acknowledged orders not yet committed to the store, at most " +
           ms(config.safety.max_unflushed_ms) +
           " of acknowledged flow (max_unflushed_ms; new orders are refused while older ones "
           "wait longer)";
}

std::string failover_text(const ReplicationConfig& r) {
    if (r.etcd_endpoints.empty()) {
        return "; failover manual (no etcd_endpoints)";
    }
    std::string endpoints;
    for (const std::string& endpoint : r.etcd_endpoints) {
        endpoints += (endpoints.empty() ? "" : ", ") + endpoint;
    }
    const std::string user = r.etcd_user.empty()
                                 ? ""
                                 : ", as etcd user " + r.etcd_user + " (password from " +
                                       r.etcd_password_file.string() + ")";
    std::string tls;
    if (r.etcd_tls()) {
        tls = ", TLS trusting " +
              (r.etcd_ca_file.empty() ? std::string("the system's CAs") : r.etcd_ca_file.string()) +
              (r.etcd_cert_file.empty() ? std::string(", no client certificate")
                                        : ", client certificate " + r.etcd_cert_file.string());
    }
    return "; failover automatic through etcd " + endpoints + " (key " + r.etcd_key + ", lease " +
           std::to_string(r.lease_ttl_ms) + " ms" + user + tls + ")";
}

std::string replication_line(const ReplicationConfig& r) {
    if (!r.enabled) {
        return "off";
    }
    std::string peers;
    for (const ReplicationPeer& peer : r.peers) {
        peers += (peers.empty() ? "" : ", ") + std::to_string(peer.node_id) + "@" +
                 to_string(peer.endpoint);
    }
    return "node " + std::to_string(r.node_id) + " " + std::string(to_string(r.role)) +
           ", factor " + std::to_string(r.factor) + " (majority " +
           std::to_string(r.factor / 2 + 1) + "), listen " + to_string(r.listen) + ", epoch " +
           std::to_string(r.epoch) + (peers.empty() ? "" : ", peers " + peers) + failover_text(r);
}

namespace {

// What a replicated node needs besides itself before it does its job: --check-config cannot reach
// the peers, so it names them.
std::string replication_needs_line(const Config& c) {
    const ReplicationConfig& r = c.replication;
    if (r.role == ReplicationRole::Follower) {
        return "a leader dialling " + to_string(r.listen) +
               " (an address of this host); it refuses client logins";
    }
    std::string peers;
    for (std::size_t i = 0; i < r.peers.size(); ++i) {
        peers += (i == 0 ? "" : (i + 1 == r.peers.size() ? " and " : ", ")) +
                 std::to_string(r.peers[i].node_id) + "@" + to_string(r.peers[i].endpoint);
    }
    const std::string without =
        c.persistence.ack_after == AckPoint::Quorum
            ? ", or no order is acknowledged"
            : " to hold copies (acks do not wait for them: ack_after is not quorum)";
    return std::to_string(r.factor / 2) + " of the followers " + peers + " running and reachable" +
           without + "; " + to_string(r.listen) + " an address of this host";
}

}  // namespace

std::string describe_config(const Config& c) {
    const PersistenceConfig& p = c.persistence;
    std::string text;
    const auto line = [&](std::string_view label, const std::string& value) {
        text += "  " + std::string(label) + std::string(13 - label.size(), ' ') + value + "\n";
    };
    line("profile", c.profile + " (mode " + std::string(to_string(p.mode)) + ")");
    std::string ack = std::string(to_string(p.ack_after));
    if (c.critical_ack_after() != p.ack_after) {
        ack += "; critical orders (quantity above " +
               std::to_string(c.safety.critical_order_threshold) +
               ", liquidations): " + std::string(to_string(c.critical_ack_after()));
    }
    if (c.safety.sync_all_trades) {
        ack += "; orders that traded: store";
    }
    line("ack after", ack);
    line("loss window", describe_loss_window(c));
    line("wal", wal_line(p));
    if (p.mirror()) {
        line("mirror", mirror_line(p));
    }
    line("store", store_line(p));
    line("store fails", store_failure_line(c));
    line("instruments", list(c.instruments, [](const auto& s) { return s.symbol; }));
    line("accounts", list(c.accounts, [](const auto& a) { return a.name; }));
    const std::string admin =
        c.server.admin_listen.port == 0 ? "off" : to_string(c.server.admin_listen);
    line("listen", to_string(c.server.listen) + " (admin " + admin + "), " +
                       std::to_string(c.server.shards) + " shard(s)" +
                       (c.server.pin_cpus ? ", pinned" : ""));
    line("data_dir", c.server.data_dir.string());
    line("checks", std::string("checksums ") + (c.safety.enable_checksums ? "on" : "off") +
                       ", audit log " + (c.safety.enable_audit_log ? "on" : "off"));
    line("replication", replication_line(c.replication));
    if (c.replication.enabled && c.replication.factor > 1) {
        line("needs", replication_needs_line(c));
    }
    return text;
}

}  // namespace exchanged
