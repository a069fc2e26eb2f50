// The daemon's configuration: one INI profile (config/*.ini) read into plain structs. Loading is
// all-or-nothing: an unknown section or key, a duplicate key, a bad value, a contradiction between
// knobs or a missing required entry throws ConfigError naming file, line and key, because a daemon
// that guesses at its durability settings is worse than one that refuses to start.
// docs/configuration.md describes every key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "book/command.hpp"
#include "book/instrument_spec.hpp"
#include "common/log_options.hpp"
#include "common/types.hpp"

namespace exchanged {

class ConfigError : public std::runtime_error {
  public:
    // line 0 means the problem has no single line (a missing entry, a command-line override).
    ConfigError(const std::string& message, std::string file, int line, std::string section,
                std::string key)
        : std::runtime_error(message),
          file_(std::move(file)),
          line_(line),
          section_(std::move(section)),
          key_(std::move(key)) {}

    const std::string& file() const { return file_; }
    int line() const { return line_; }
    const std::string& section() const { return section_; }
    const std::string& key() const { return key_; }

  private:
    std::string file_;
    int line_;
    std::string section_;
    std::string key_;
};

struct Endpoint {
    std::string host;  // without the brackets of an IPv6 literal
    std::uint16_t port = 0;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};
std::string to_string(const Endpoint& endpoint);

// The seed documents' named schemes; each is a preset over the orthogonal knobs below
// (docs/architecture.md: Durability points).
enum class PersistenceMode : std::uint8_t { Async, HybridSync, WalBatch, BatchSync, DoubleWrite };
// The point an acknowledgement waits for. Quorum: a majority of the replicas (a replicated leader).
// Mirror: the Redis mirror (mode double_write) holds the command.
enum class AckPoint : std::uint8_t { Match, Wal, Store, Quorum, Mirror };
enum class StoreKind : std::uint8_t { Sqlite, Postgresql };
// How start-up checks an SQLite store file for damage before loading it (docs/recovery.md).
enum class StoreCheck : std::uint8_t { Off, Quick, Full };
using exchanged::LogLevel;

std::string_view to_string(PersistenceMode mode);
std::string_view to_string(AckPoint point);
std::string_view to_string(StoreKind kind);
std::string_view to_string(StoreCheck check);
std::string_view to_string(LogLevel level);

struct ServerConfig {
    Endpoint listen{"127.0.0.1", 9100};
    std::uint32_t io_threads = 1;
    std::uint32_t max_sessions = 1024;
    std::uint32_t heartbeat_interval_ms = 1000;
    std::uint32_t max_frame_bytes = 4096;
    std::filesystem::path data_dir = "./data";  // absolute once loaded
    bool pin_cpus = false;
    std::uint32_t shards = 1;
    std::uint32_t shard_queue_capacity = 65536;
    // Metrics and health over HTTP (docs/operations.md); port 0, the default when the key is
    // absent, turns it off. The shipped profiles set 127.0.0.1:9101.
    Endpoint admin_listen{"127.0.0.1", 0};
};

struct PersistenceConfig {
    PersistenceMode mode = PersistenceMode::WalBatch;
    // The knobs below the mode: each defaults to the mode's preset unless set explicitly.
    AckPoint ack_after = AckPoint::Wal;
    bool enable_wal = true;
    bool wal_sync = true;
    // WAL group commit: fsync when this many records wait or the oldest waited this long.
    std::uint32_t batch_size = 100;
    std::uint32_t batch_timeout_ms = 1;
    std::filesystem::path wal_path = "wal";  // absolute once loaded (relative ones join data_dir)
    std::uint64_t wal_segment_bytes = 64ull << 20;
    // Obsolete segments kept to be reused as the next ones (no zero-fill at rotation); 0: none.
    std::uint32_t wal_max_recycled_segments = 1;
    StoreKind store = StoreKind::Sqlite;
    std::filesystem::path store_path = "exchanged.sqlite";  // sqlite; absolute once loaded
    std::string store_dsn;                                  // postgresql
    // quick: PRAGMA quick_check of the SQLite file before it is loaded (about 0.8 s for a 110 MB
    // store of a million orders); full: integrity_check (also indexes against tables); off.
    StoreCheck store_check_on_start = StoreCheck::Quick;
    // Flush worker batching. With the WAL off the store is the first durable point, so these
    // default to batch_size and batch_timeout_ms.
    std::uint32_t store_batch_size = 1000;
    std::uint32_t store_batch_timeout_ms = 50;
    // Matcher events each shard can hand to the flush worker before it waits for the store
    // (about 128 bytes each, allocated at start).
    std::uint32_t store_queue_events = 1u << 18;
    // The Redis mirror (mode double_write, docs/durability.md): the command log is a Redis stream
    // instead of the WAL. Port 0: no mirror.
    Endpoint redis_address{"", 0};
    std::string redis_key_prefix = "exchanged:";
    // A Redis round trip (connect, batch reply) that takes longer fails; new orders are refused
    // as unavailable until a batch succeeds again.
    std::uint32_t redis_timeout_ms = 1000;
    // Records per pipelined round trip at most.
    std::uint32_t redis_batch_size = 1000;
    // Records the shards can hand to the mirror writer before new orders are refused as busy.
    std::uint32_t redis_queue_records = 1u << 16;
    // How often the mirror is trimmed to what the store lacks and checked for gaps.
    std::uint32_t redis_confirm_interval_ms = 200;
    // How long acks may wait for a Redis that stopped answering before the daemon fails (as on
    // a failed fdatasync) instead of holding matched orders' replies without end.
    std::uint32_t redis_hold_limit_ms = 10000;
    bool mirror() const { return redis_address.port != 0; }
};

struct SafetyConfig {
    // Orders with a quantity above this are critical; 0 leaves only liquidation orders critical.
    Quantity critical_order_threshold = 0;
    bool sync_for_critical = false;  // preset by the mode unless set
    bool sync_all_trades = false;
    bool enable_checksums = true;
    // With enable_checksums, a shard logs its state hash after this many commands. A checkpoint
    // walks the shard's resting orders (state_hash), so the default keeps that walk rare next to
    // the commands it covers while a replay still meets a check every ~1 s of traffic at 100,000
    // orders/s.
    std::uint32_t checkpoint_interval = 100'000;
    bool enable_audit_log = false;
    // The loss window in time, for profiles that acknowledge before anything durable has the
    // record (ack_after = match without a synced WAL): while the oldest acknowledged record the
    // store has not committed is older than this, new orders are refused as unavailable. 0: no
    // bound (and the only value for profiles whose acks wait for the WAL or the store).
    std::uint32_t max_unflushed_ms = 0;
};

// The start role; a promotion's data_dir/replication.state outranks it (docs/replication.md).
enum class ReplicationRole : std::uint8_t { Leader, Follower };
std::string_view to_string(ReplicationRole role);

struct ReplicationPeer {
    std::uint32_t node_id = 0;
    Endpoint endpoint;  // the peer's replication listen address
    friend bool operator==(const ReplicationPeer&, const ReplicationPeer&) = default;
};

struct ReplicationConfig {
    bool enabled = false;
    std::uint32_t node_id = 1;  // 1..7, unique in the cluster
    ReplicationRole role = ReplicationRole::Leader;
    Endpoint listen{"127.0.0.1", 9200};  // this node's replication address (followers listen)
    std::vector<ReplicationPeer> peers;  // the other nodes
    std::uint32_t factor = 1;            // odd, = 1 + peers
    // The leader's in-memory buffer of shipped records; a follower further behind is caught up
    // from the leader's WAL files instead.
    std::uint64_t max_lag_bytes = 64ull << 20;
    // The leader keeps WAL segments its store has passed while a follower still needs them, up to
    // this many extra bytes; past it that follower is out of date and re-syncs by snapshot.
    std::uint64_t follower_retention_bytes = 1ull << 30;
    std::uint64_t epoch = 1;  // the leader's term; a promotion raises it
    // ack_after = quorum: while the oldest order a majority does not hold has waited this long,
    // new orders are refused as unavailable (0: they queue until the gate is full).
    std::uint32_t quorum_timeout_ms = 1000;
    // A follower's answer to client logins: where the leader serves clients (port 0: not said).
    Endpoint leader_client{"", 0};
    // Every node's client address by node id: after a promotion a follower's login refusal names
    // the leader of its epoch from here (leader_client stays the fallback).
    std::vector<ReplicationPeer> clients;
    // Automatic failover (docs/failover.md): etcd's client URLs ("http://host:port"); empty:
    // failover is manual (exchangectl cluster promote).
    std::vector<std::string> etcd_endpoints;
    std::string etcd_key = "/exchanged/leader";
    std::uint32_t lease_ttl_ms = 2000;  // whole seconds: etcd counts a lease's TTL in seconds
    // etcd's user/password authentication (both or neither): the user, and the file holding its
    // password. The password is read from that file at load, never from the INI, and is never
    // printed.
    std::string etcd_user;
    std::filesystem::path etcd_password_file;
    std::string etcd_password;
    // TLS to etcd (https:// endpoints): the CA bundle to trust (empty: the system's), and the
    // client certificate and its key for etcd's --client-cert-auth (both or neither). PEM files;
    // the key file, like the password file, only for its owner (and at most its group, to read).
    std::filesystem::path etcd_ca_file;
    std::filesystem::path etcd_cert_file;
    std::filesystem::path etcd_key_file;
    bool etcd_tls() const {
        return !etcd_endpoints.empty() && etcd_endpoints.front().rfind("https://", 0) == 0;
    }
    // Every node's admin address (its [server] admin_listen), this node's included: where a
    // candidate sends its promise round. Needed with etcd_endpoints.
    std::vector<ReplicationPeer> admins;
    bool automatic_failover() const { return enabled && !etcd_endpoints.empty(); }
};

struct EngineLimits {
    std::uint32_t max_orders = 1u << 20;
    std::uint32_t max_accounts = 1024;
    std::uint32_t client_order_id_window = 1u << 20;
};

struct AccountConfig {
    std::string name;
    AccountId id = 0;
    std::string secret;
    book::SelfTradePrevention self_trade = book::SelfTradePrevention::CancelResting;
};

// [logging]: the log's own option struct.
using LoggingConfig = LogOptions;

struct Config {
    std::string source_path;  // as given to load_config
    std::string profile;      // the file's stem: "standard" for config/standard.ini
    ServerConfig server;
    PersistenceConfig persistence;
    SafetyConfig safety;
    ReplicationConfig replication;
    EngineLimits engine;
    std::vector<book::InstrumentSpec> instruments;  // in file order, each validated
    std::vector<AccountConfig> accounts;            // in file order
    LoggingConfig logging;

    // Where an acknowledgement of a critical order (above the threshold, or a liquidation)
    // waits: the next stronger point when sync_for_critical is set.
    AckPoint critical_ack_after() const;
    // Some acknowledgement waits for the store, or without a WAL the store is the only durable
    // copy: then a failed write under the store stops the daemon instead of being retried
    // (docs/durability.md: When the store fails).
    bool store_is_durability_point() const;
    // Whether an acknowledged record can exist only in memory until the store commits it, so
    // that [safety] max_unflushed_ms applies.
    bool acks_before_durable() const;
};

// Command-line values that replace the file's, applied before paths are resolved and checked.
struct ConfigOverrides {
    std::optional<std::string> data_dir;
    std::optional<std::string> listen;
    std::optional<std::string> admin_listen;
};

Config load_config(const std::string& path, const ConfigOverrides& overrides);
Config load_config(const std::string& path);

}  // namespace exchanged
