#include "config/keys.hpp"

#include <algorithm>
#include <optional>

#include "config/values.hpp"

namespace exchanged::config_detail {
namespace {

using Q = Quantity;
using u32 = std::uint32_t;
using u64 = std::uint64_t;

constexpr u64 kMiB = 1ull << 20;

AckPoint parse_ack_point(std::string_view text) {
    return parse_choice<AckPoint>(text, {{"match", AckPoint::Match},
                                         {"wal", AckPoint::Wal},
                                         {"store", AckPoint::Store},
                                         {"quorum", AckPoint::Quorum},
                                         {"mirror", AckPoint::Mirror}});
}

// "2@10.0.0.2:9200, 3@10.0.0.3:9200": each peer's node id and replication address.
std::vector<ReplicationPeer> parse_peers(std::string_view text) {
    std::vector<ReplicationPeer> peers;
    for_each_list_item(text, [&](std::string_view item) {
        const std::size_t at = item.find('@');
        if (at == std::string_view::npos) {
            throw ValueError("'" + std::string(item) + "' is not id@host:port");
        }
        ReplicationPeer peer;
        peer.node_id = parse_whole_as<u32>(item.substr(0, at), 1, 7);
        peer.endpoint = parse_endpoint(item.substr(at + 1));
        peers.push_back(peer);
    });
    return peers;
}

// "http://10.0.0.5:2379, http://10.0.0.6:2379", or all https:// (TLS, etcd_ca_file ...): one
// etcd cluster speaks one of them on its client port.
std::vector<std::string> parse_etcd_endpoints(std::string_view text) {
    std::vector<std::string> endpoints;
    std::optional<bool> tls;
    for_each_list_item(text, [&](std::string_view item) {
        const bool https = item.rfind("https://", 0) == 0;
        if (!https && item.rfind("http://", 0) != 0) {
            throw ValueError("'" + std::string(item) +
                             "' is not http://host:port or https://host:port");
        }
        if (tls && *tls != https) {
            throw ValueError("'" + endpoints.front() + "' and '" + std::string(item) +
                             "' mix http:// and https://");
        }
        tls = https;
        std::string_view rest = item.substr(https ? 8 : 7);
        if (!rest.empty() && rest.back() == '/') {
            rest.remove_suffix(1);
        }
        parse_endpoint(rest);  // throws naming what is wrong
        endpoints.emplace_back(item);
    });
    return endpoints;
}

u32 parse_lease_ttl_ms(std::string_view text) {
    const u32 ms = parse_whole_as<u32>(text, 1000, 600000);
    if (ms % 1000 != 0) {
        throw ValueError(std::to_string(ms) +
                         " is not whole seconds (etcd counts a lease's TTL in seconds)");
    }
    return ms;
}

std::string parse_etcd_key(std::string_view text) {
    if (text.empty() || text.front() != '/') {
        throw ValueError("'" + std::string(text) + "' is not a key starting with '/'");
    }
    return std::string(text);
}

// etcd accepts any name; blanks and control characters would only be typing mistakes here.
std::string parse_etcd_user(std::string_view text) {
    if (text.empty() || text.size() > 128) {
        throw ValueError("must be 1 to 128 characters");
    }
    for (const char c : text) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
            throw ValueError("'" + std::string(text) + "' has a blank or control character");
        }
    }
    return std::string(text);
}

PersistenceMode parse_mode(std::string_view text) {
    return parse_choice<PersistenceMode>(text, {{"async", PersistenceMode::Async},
                                                {"hybrid_sync", PersistenceMode::HybridSync},
                                                {"wal_batch", PersistenceMode::WalBatch},
                                                {"batch_sync", PersistenceMode::BatchSync},
                                                {"double_write", PersistenceMode::DoubleWrite}});
}

// Compression would change the on-disk record format, which the WAL does not version yet.
void check_wal_compression(std::string_view text) {
    if (text != "none" && text != "false" && text != "off" && text != "no" && text != "0") {
        throw ValueError("'" + std::string(text) + "' is not supported yet (use none)");
    }
}

// A segment is its 4 KiB header page plus whole pages of records, preallocated up front.
u64 parse_segment_bytes(std::string_view text) {
    const u64 bytes = parse_whole(text, kMiB, 1024 * kMiB);
    if (bytes % 4096 != 0) {
        throw ValueError(std::to_string(bytes) + " is not a multiple of 4096");
    }
    return bytes;
}

// Redis keys are binary-safe, but a prefix an operator cannot type into redis-cli helps nobody.
std::string parse_key_prefix(std::string_view text) {
    if (text.empty() || text.size() > 200) {
        throw ValueError("must be 1 to 200 characters");
    }
    for (const char c : text) {
        if (c <= ' ' || c > '~') {
            throw ValueError("'" + std::string(text) + "' has a blank or non-ASCII character");
        }
    }
    return std::string(text);
}

// The mirror's hand-over ring indexes slots by LSN modulo its size.
u32 parse_power_of_two(std::string_view text) {
    const u32 value = parse_whole_as<u32>(text, 16, 1u << 24);
    if ((value & (value - 1)) != 0) {
        throw ValueError(std::to_string(value) + " is not a power of two");
    }
    return value;
}

// clang-format off
constexpr KeySpec kKeys[] = {
    {"server", "listen", [](Config& c, std::string_view v) { c.server.listen = parse_endpoint(v); }},
    {"server", "io_threads", [](Config& c, std::string_view v) { c.server.io_threads = parse_whole_as<u32>(v, 1, 64); }},
    {"server", "max_sessions", [](Config& c, std::string_view v) { c.server.max_sessions = parse_whole_as<u32>(v, 1, 100000); }},
    {"server", "heartbeat_interval_ms", [](Config& c, std::string_view v) { c.server.heartbeat_interval_ms = parse_whole_as<u32>(v, 10, 600000); }},
    {"server", "max_frame_bytes", [](Config& c, std::string_view v) { c.server.max_frame_bytes = parse_whole_as<u32>(v, 103, 65537); }},
    {"server", "data_dir", [](Config& c, std::string_view v) { c.server.data_dir = v; }},
    {"server", "pin_cpus", [](Config& c, std::string_view v) { c.server.pin_cpus = parse_bool(v); }},
    {"server", "shards", [](Config& c, std::string_view v) { c.server.shards = parse_whole_as<u32>(v, 1, 256); }},
    {"server", "shard_queue_capacity", [](Config& c, std::string_view v) { c.server.shard_queue_capacity = parse_whole_as<u32>(v, 16, 1 << 24); }},
    {"server", "admin_listen", [](Config& c, std::string_view v) { c.server.admin_listen = parse_endpoint(v, true); }},

    {"persistence", "mode", [](Config& c, std::string_view v) { c.persistence.mode = parse_mode(v); }},
    {"persistence", "ack_after", [](Config& c, std::string_view v) { c.persistence.ack_after = parse_ack_point(v); }},
    {"persistence", "batch_size", [](Config& c, std::string_view v) { c.persistence.batch_size = parse_whole_as<u32>(v, 1, 1000000); }},
    {"persistence", "batch_timeout_ms", [](Config& c, std::string_view v) { c.persistence.batch_timeout_ms = parse_whole_as<u32>(v, 0, 60000); }},
    {"persistence", "enable_wal", [](Config& c, std::string_view v) { c.persistence.enable_wal = parse_bool(v); }},
    {"persistence", "wal_path", [](Config& c, std::string_view v) { c.persistence.wal_path = v; }},
    {"persistence", "wal_sync", [](Config& c, std::string_view v) { c.persistence.wal_sync = parse_bool(v); }},
    {"persistence", "wal_compression", [](Config&, std::string_view v) { check_wal_compression(v); }},
    {"persistence", "wal_segment_bytes", [](Config& c, std::string_view v) { c.persistence.wal_segment_bytes = parse_segment_bytes(v); }},
    {"persistence", "wal_max_recycled_segments", [](Config& c, std::string_view v) { c.persistence.wal_max_recycled_segments = parse_whole_as<u32>(v, 0, 64); }},
    {"persistence", "store", [](Config& c, std::string_view v) { c.persistence.store = parse_choice<StoreKind>(v, {{"sqlite", StoreKind::Sqlite}, {"postgresql", StoreKind::Postgresql}}); }},
    {"persistence", "store_path", [](Config& c, std::string_view v) { c.persistence.store_path = v; }},
    {"persistence", "store_dsn", [](Config& c, std::string_view v) { c.persistence.store_dsn = v; }},
    {"persistence", "store_check_on_start", [](Config& c, std::string_view v) { c.persistence.store_check_on_start = parse_choice<StoreCheck>(v, {{"quick", StoreCheck::Quick}, {"full", StoreCheck::Full}, {"off", StoreCheck::Off}}); }},
    {"persistence", "store_batch_size", [](Config& c, std::string_view v) { c.persistence.store_batch_size = parse_whole_as<u32>(v, 1, 1000000); }},
    {"persistence", "store_queue_events", [](Config& c, std::string_view v) { c.persistence.store_queue_events = parse_whole_as<u32>(v, 1024, 1u << 24); }},
    {"persistence", "redis_address", [](Config& c, std::string_view v) { c.persistence.redis_address = parse_endpoint(v); }},
    {"persistence", "redis_key_prefix", [](Config& c, std::string_view v) { c.persistence.redis_key_prefix = parse_key_prefix(v); }},
    {"persistence", "redis_timeout_ms", [](Config& c, std::string_view v) { c.persistence.redis_timeout_ms = parse_whole_as<u32>(v, 1, 600000); }},
    {"persistence", "redis_batch_size", [](Config& c, std::string_view v) { c.persistence.redis_batch_size = parse_whole_as<u32>(v, 1, 100000); }},
    {"persistence", "redis_queue_records", [](Config& c, std::string_view v) { c.persistence.redis_queue_records = parse_power_of_two(v); }},
    {"persistence", "redis_confirm_interval_ms", [](Config& c, std::string_view v) { c.persistence.redis_confirm_interval_ms = parse_whole_as<u32>(v, 1, 600000); }},
    {"persistence", "redis_hold_limit_ms", [](Config& c, std::string_view v) { c.persistence.redis_hold_limit_ms = parse_whole_as<u32>(v, 100, 3600000); }},
    {"persistence", "store_batch_timeout_ms", [](Config& c, std::string_view v) { c.persistence.store_batch_timeout_ms = parse_whole_as<u32>(v, 0, 60000); }},

    {"safety", "critical_order_threshold", [](Config& c, std::string_view v) { c.safety.critical_order_threshold = parse_whole_as<Q>(v, 0, u64{1} << 62); }},
    {"safety", "sync_for_critical", [](Config& c, std::string_view v) { c.safety.sync_for_critical = parse_bool(v); }},
    {"safety", "sync_all_trades", [](Config& c, std::string_view v) { c.safety.sync_all_trades = parse_bool(v); }},
    {"safety", "enable_checksums", [](Config& c, std::string_view v) { c.safety.enable_checksums = parse_bool(v); }},
    {"safety", "checkpoint_interval", [](Config& c, std::string_view v) { c.safety.checkpoint_interval = parse_whole_as<u32>(v, 1, 1000000000); }},
    {"safety", "max_unflushed_ms", [](Config& c, std::string_view v) { c.safety.max_unflushed_ms = parse_whole_as<u32>(v, 0, 600000); }},
    {"safety", "enable_audit_log", [](Config& c, std::string_view v) { c.safety.enable_audit_log = parse_bool(v); }},

    {"replication", "enabled", [](Config& c, std::string_view v) { c.replication.enabled = parse_bool(v); }},
    {"replication", "node_id", [](Config& c, std::string_view v) { c.replication.node_id = parse_whole_as<u32>(v, 1, 7); }},
    {"replication", "role", [](Config& c, std::string_view v) { c.replication.role = parse_choice<ReplicationRole>(v, {{"leader", ReplicationRole::Leader}, {"follower", ReplicationRole::Follower}}); }},
    {"replication", "listen", [](Config& c, std::string_view v) { c.replication.listen = parse_endpoint(v); }},
    {"replication", "peers", [](Config& c, std::string_view v) { c.replication.peers = parse_peers(v); }},
    {"replication", "factor", [](Config& c, std::string_view v) { c.replication.factor = parse_whole_as<u32>(v, 1, 7); }},
    {"replication", "max_lag_bytes", [](Config& c, std::string_view v) { c.replication.max_lag_bytes = parse_whole(v, kMiB, 4096 * kMiB); }},
    {"replication", "follower_retention_bytes", [](Config& c, std::string_view v) { c.replication.follower_retention_bytes = parse_whole(v, 0, u64{1} << 50); }},
    {"replication", "leader_client", [](Config& c, std::string_view v) { c.replication.leader_client = parse_endpoint(v); }},
    {"replication", "clients", [](Config& c, std::string_view v) { c.replication.clients = parse_peers(v); }},
    {"replication", "quorum_timeout_ms", [](Config& c, std::string_view v) { c.replication.quorum_timeout_ms = parse_whole_as<u32>(v, 0, 600000); }},
    {"replication", "etcd_endpoints", [](Config& c, std::string_view v) { c.replication.etcd_endpoints = parse_etcd_endpoints(v); }},
    {"replication", "etcd_key", [](Config& c, std::string_view v) { c.replication.etcd_key = parse_etcd_key(v); }},
    {"replication", "etcd_user", [](Config& c, std::string_view v) { c.replication.etcd_user = parse_etcd_user(v); }},
    {"replication", "etcd_password_file", [](Config& c, std::string_view v) { if (v.empty()) { throw ValueError("must name a file"); } c.replication.etcd_password_file = std::string(v); }},
    {"replication", "etcd_ca_file", [](Config& c, std::string_view v) { if (v.empty()) { throw ValueError("must name a file"); } c.replication.etcd_ca_file = std::string(v); }},
    {"replication", "etcd_cert_file", [](Config& c, std::string_view v) { if (v.empty()) { throw ValueError("must name a file"); } c.replication.etcd_cert_file = std::string(v); }},
    {"replication", "etcd_key_file", [](Config& c, std::string_view v) { if (v.empty()) { throw ValueError("must name a file"); } c.replication.etcd_key_file = std::string(v); }},
    {"replication", "lease_ttl_ms", [](Config& c, std::string_view v) { c.replication.lease_ttl_ms = parse_lease_ttl_ms(v); }},
    {"replication", "admins", [](Config& c, std::string_view v) { c.replication.admins = parse_peers(v); }},
    {"replication", "epoch", [](Config& c, std::string_view v) { c.replication.epoch = parse_whole(v, 1, u64{1} << 62); }},

    {"engine", "max_orders", [](Config& c, std::string_view v) { c.engine.max_orders = parse_whole_as<u32>(v, 1, 100000000); }},
    {"engine", "max_accounts", [](Config& c, std::string_view v) { c.engine.max_accounts = parse_whole_as<u32>(v, 1, 1000000); }},
    {"engine", "client_order_id_window", [](Config& c, std::string_view v) { c.engine.client_order_id_window = parse_whole_as<u32>(v, 1, 100000000); }},

    {"logging", "level", [](Config& c, std::string_view v) { c.logging.level = parse_choice<LogLevel>(v, {{"trace", LogLevel::Trace}, {"debug", LogLevel::Debug}, {"info", LogLevel::Info}, {"warn", LogLevel::Warn}, {"error", LogLevel::Error}}); }},
    {"logging", "file", [](Config& c, std::string_view v) { c.logging.file = v; }},
    {"logging", "async", [](Config& c, std::string_view v) { c.logging.async = parse_bool(v); }},
};
// clang-format on

}  // namespace

std::span<const KeySpec> fixed_keys() {
    return kKeys;
}

bool is_known_section(std::string_view section) {
    if (section == kInstrumentsSection || section == kAccountsSection) {
        return true;
    }
    return std::any_of(std::begin(kKeys), std::end(kKeys),
                       [&](const KeySpec& spec) { return spec.section == section; });
}

std::string known_sections() {
    std::string known;
    std::string_view previous;
    for (const KeySpec& spec : kKeys) {
        if (spec.section != previous) {
            known += known.empty() ? "" : ", ";
            known += spec.section;
            previous = spec.section;
        }
    }
    return known + ", " + std::string(kInstrumentsSection) + ", " + std::string(kAccountsSection);
}

}  // namespace exchanged::config_detail
