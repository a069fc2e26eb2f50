// The resolution pass: command-line overrides, the mode's presets, paths, and every rule that spans
// more than one key. Each check names the line of the key an operator should look at.
#include <algorithm>
#include <map>
#include <string>

#include "config/keys.hpp"
#include "config/parsed.hpp"
#include "config/password_file.hpp"
#include "config/values.hpp"

namespace exchanged::config_detail {
namespace {

// docs/architecture.md: Durability points: the seed's named schemes as settings of the orthogonal
// knobs.
struct Preset {
    AckPoint ack_after;
    bool enable_wal;
    bool wal_sync;
    bool sync_for_critical;
};

constexpr Preset preset_for(PersistenceMode mode) {
    switch (mode) {
        case PersistenceMode::Async:  // ack at once, the store catches up in the background
            return {AckPoint::Match, false, false, false};
        case PersistenceMode::HybridSync:  // WAL-gated acks, critical orders wait for the store
            return {AckPoint::Wal, true, true, true};
        case PersistenceMode::WalBatch:  // group-committed WAL: nothing acknowledged is lost
            return {AckPoint::Wal, true, true, false};
        case PersistenceMode::BatchSync:  // no WAL, batched store, critical orders synchronous
            return {AckPoint::Match, false, false, true};
        case PersistenceMode::DoubleWrite:  // ack once Redis holds the command, store async
            return {AckPoint::Mirror, false, false, false};
    }
    return {AckPoint::Wal, true, true, false};
}

class Resolver {
  public:
    Resolver(ParsedFile parsed, const ConfigOverrides& overrides)
        : parsed_(std::move(parsed)), config_(parsed_.config), overrides_(overrides) {}

    Config run() {
        apply_overrides();
        apply_presets();
        check_persistence();
        check_replication();
        check_unflushed_window();
        check_server();
        check_instruments();
        check_accounts();
        resolve_paths();
        read_etcd_password();
        check_etcd_tls_files();
        return std::move(config_);
    }

  private:
    [[noreturn]] void fail(std::string_view section, std::string_view key,
                           const std::string& message) const {
        throw config_error(config_.source_path, parsed_.line_of(section, key), section, key,
                           message);
    }
    [[noreturn]] void fail_at(int line, std::string_view section, std::string_view key,
                              const std::string& message) const {
        throw config_error(config_.source_path, line, section, key, message);
    }
    // For a rule between two keys: the line of whichever the file set, preferring `first`.
    [[noreturn]] void fail_either(std::string_view section, std::string_view first,
                                  std::string_view second, const std::string& message) const {
        const bool use_first = parsed_.has(section, first) || !parsed_.has(section, second);
        fail(section, use_first ? first : second, message);
    }

    void apply_overrides() {
        if (overrides_.data_dir) {
            if (overrides_.data_dir->empty()) {
                throw ConfigError("--data-dir: the directory must not be empty", "", 0, "",
                                  "--data-dir");
            }
            config_.server.data_dir = *overrides_.data_dir;
        }
        if (overrides_.listen) {
            try {
                config_.server.listen = parse_endpoint(*overrides_.listen);
            } catch (const ValueError& error) {
                throw ConfigError(std::string("--listen: ") + error.what(), "", 0, "", "--listen");
            }
        }
        if (overrides_.admin_listen) {
            try {
                config_.server.admin_listen = parse_endpoint(*overrides_.admin_listen, true);
            } catch (const ValueError& error) {
                throw ConfigError(std::string("--admin-listen: ") + error.what(), "", 0, "",
                                  "--admin-listen");
            }
        }
    }

    void apply_presets() {
        PersistenceConfig& p = config_.persistence;
        const Preset preset = preset_for(p.mode);
        if (!parsed_.has("persistence", "ack_after")) {
            p.ack_after = preset.ack_after;
        }
        if (!parsed_.has("persistence", "enable_wal")) {
            p.enable_wal = preset.enable_wal;
        }
        if (!parsed_.has("persistence", "wal_sync")) {
            // A WAL turned on over a preset without one is synced: the writer has no other mode.
            p.wal_sync = preset.wal_sync || p.enable_wal;
        }
        if (!parsed_.has("safety", "sync_for_critical")) {
            config_.safety.sync_for_critical = preset.sync_for_critical;
        }
        // Without a WAL the store is the first durable point, so the group-commit knobs drive it.
        if (!p.enable_wal && !parsed_.has("persistence", "store_batch_size")) {
            p.store_batch_size = p.batch_size;
        }
        if (!p.enable_wal && !parsed_.has("persistence", "store_batch_timeout_ms")) {
            p.store_batch_timeout_ms = p.batch_timeout_ms;
        }
        if (!parsed_.has("safety", "max_unflushed_ms")) {
            config_.safety.max_unflushed_ms = default_max_unflushed_ms();
        }
    }

    // The seed's batch sync promises at most 10 ms of data; async promises little, but a bound
    // that keeps a stalled store from turning into minutes of lost acks. Either leaves room for
    // two store batches, so a store that keeps up never reaches it.
    std::uint32_t default_max_unflushed_ms() const {
        if (!config_.acks_before_durable()) {
            return 0;
        }
        const std::uint32_t floor = config_.persistence.mode == PersistenceMode::Async ? 1000 : 10;
        return std::max(floor, 2 * config_.persistence.store_batch_timeout_ms);
    }

    void check_unflushed_window() const {
        const std::uint32_t window = config_.safety.max_unflushed_ms;
        if (window == 0) {
            return;
        }
        if (!config_.acks_before_durable()) {
            fail("safety", "max_unflushed_ms",
                 "applies only to profiles that acknowledge before anything durable holds the "
                 "order (ack_after = match without a synced WAL); this one acknowledges after " +
                     std::string(to_string(config_.persistence.ack_after)) +
                     (config_.persistence.enable_wal ? " with a synced WAL" : "") +
                     ", so set 0 or remove the key");
        }
        const std::uint32_t batch = config_.persistence.store_batch_timeout_ms;
        if (window <= batch) {
            fail("safety", "max_unflushed_ms",
                 std::to_string(window) +
                     " ms is not above [persistence] store_batch_timeout_ms (" +
                     std::to_string(batch) +
                     " ms): a store batch may wait that long, so new orders would be refused while "
                     "each batch fills");
        }
    }

    void check_persistence() const {
        const PersistenceConfig& p = config_.persistence;
        const std::string mode = " (mode " + std::string(to_string(p.mode)) + ")";
        if (p.ack_after == AckPoint::Wal && !p.enable_wal) {
            fail_either("persistence", "ack_after", "enable_wal",
                        "ack_after = wal needs enable_wal = true" + mode);
        }
        if (p.ack_after == AckPoint::Wal && !p.wal_sync) {
            fail_either("persistence", "ack_after", "wal_sync",
                        "ack_after = wal needs wal_sync = true: an ack after an unsynced write "
                        "promises nothing" +
                            mode);
        }
        // The WAL writer fdatasyncs every group commit; there is no unsynced WAL to offer, and
        // a profile that asked for one must not start believing it got it.
        if (p.enable_wal && !p.wal_sync) {
            fail_either("persistence", "wal_sync", "enable_wal",
                        "wal_sync = false is not supported: the WAL writer fdatasyncs every group "
                        "commit; set wal_sync = true, or enable_wal = false to run without a WAL" +
                            mode);
        }
        check_mirror(mode);
        if (p.store == StoreKind::Postgresql && p.store_dsn.empty()) {
            fail_either("persistence", "store_dsn", "store", "store = postgresql needs store_dsn");
        }
        if (p.store == StoreKind::Postgresql && parsed_.has("persistence", "store_path")) {
            fail("persistence", "store_path", "store_path applies to store = sqlite only");
        }
        if (p.store == StoreKind::Postgresql &&
            parsed_.has("persistence", "store_check_on_start")) {
            fail("persistence", "store_check_on_start",
                 "store_check_on_start applies to store = sqlite only (the PostgreSQL server "
                 "checks its own pages)");
        }
        if (p.store == StoreKind::Sqlite && parsed_.has("persistence", "store_dsn")) {
            fail("persistence", "store_dsn", "store_dsn applies to store = postgresql only");
        }
        if (p.wal_path.empty()) {
            fail("persistence", "wal_path", "must not be empty");
        }
        if (p.store == StoreKind::Sqlite && p.store_path.empty()) {
            fail("persistence", "store_path", "must not be empty");
        }
    }

    void check_replication() const {
        const ReplicationConfig& r = config_.replication;
        const PersistenceConfig& p = config_.persistence;
        if (p.ack_after == AckPoint::Quorum && (!r.enabled || r.role != ReplicationRole::Leader)) {
            fail("persistence", "ack_after",
                 "ack_after = quorum needs [replication] enabled = true and role = leader");
        }
        if (!r.enabled) {
            return;
        }
        if (!p.enable_wal) {
            fail("replication", "enabled",
                 "replication ships the WAL: it needs [persistence] enable_wal = true");
        }
        if (r.factor % 2 == 0) {
            fail("replication", "factor",
                 std::to_string(r.factor) +
                     " is even: a majority of an odd factor (1, 3, 5, 7) "
                     "survives the loss of the rest");
        }
        if (r.peers.size() + 1 != r.factor) {
            fail_either("replication", "factor", "peers",
                        "factor " + std::to_string(r.factor) + " needs " +
                            std::to_string(r.factor - 1) + " peers, [replication] peers lists " +
                            std::to_string(r.peers.size()));
        }
        for (std::size_t i = 0; i < r.peers.size(); ++i) {
            if (r.peers[i].node_id == r.node_id) {
                fail_either(
                    "replication", "peers", "node_id",
                    "peer " + std::to_string(r.peers[i].node_id) + " has this node's own node_id");
            }
            for (std::size_t j = 0; j < i; ++j) {
                if (r.peers[j].node_id == r.peers[i].node_id) {
                    fail("replication", "peers",
                         "node id " + std::to_string(r.peers[i].node_id) + " is listed twice");
                }
            }
        }
        if (r.listen == config_.server.listen) {
            fail("replication", "listen",
                 "[replication] listen and [server] listen are both " + to_string(r.listen));
        }
        if (!r.etcd_endpoints.empty()) {
            check_failover();
        }
    }

    // A candidate asks every node (itself included) for its promise at its admin address.
    void check_failover() const {
        const ReplicationConfig& r = config_.replication;
        if (config_.server.admin_listen.port == 0) {
            fail("server", "admin_listen",
                 "automatic failover ([replication] etcd_endpoints) needs an admin port: the "
                 "candidate's promise round reaches the nodes there");
        }
        if (r.admins.size() != r.factor) {
            fail_either("replication", "admins", "etcd_endpoints",
                        "automatic failover needs every node's admin address (factor " +
                            std::to_string(r.factor) + "), [replication] admins lists " +
                            std::to_string(r.admins.size()));
        }
        bool self = false;
        for (std::size_t i = 0; i < r.admins.size(); ++i) {
            self = self || r.admins[i].node_id == r.node_id;
            for (std::size_t j = 0; j < i; ++j) {
                if (r.admins[j].node_id == r.admins[i].node_id) {
                    fail("replication", "admins",
                         "node id " + std::to_string(r.admins[i].node_id) + " is listed twice");
                }
            }
        }
        if (!self) {
            fail("replication", "admins",
                 "this node (node_id " + std::to_string(r.node_id) + ") is not listed");
        }
    }

    // The mirror replaces the WAL as the command log (docs/durability.md: Double write): a
    // profile has one or the other.
    void check_mirror(const std::string& mode) const {
        const PersistenceConfig& p = config_.persistence;
        if (p.ack_after == AckPoint::Mirror && !p.mirror()) {
            fail_either(
                "persistence", "redis_address", "ack_after",
                "ack_after = mirror needs redis_address (host:port of the Redis server)" + mode);
        }
        if (p.mirror() && p.enable_wal) {
            fail_either("persistence", "enable_wal", "redis_address",
                        "the Redis mirror replaces the WAL as the command log; set enable_wal = "
                        "false (or remove redis_address to run with the WAL)" +
                            mode);
        }
        if (p.mirror() && p.ack_after == AckPoint::Match) {
            fail_either("persistence", "ack_after", "redis_address",
                        "redis_address is set but acks do not wait for the mirror; set ack_after "
                        "= mirror (mode double_write) or store" +
                            mode);
        }
        // A limit within one timeout would fail the daemon on the first slow reply, before
        // a single reconnect.
        if (p.mirror() && p.redis_hold_limit_ms <= p.redis_timeout_ms) {
            fail_either("persistence", "redis_hold_limit_ms", "redis_timeout_ms",
                        "redis_hold_limit_ms (" + std::to_string(p.redis_hold_limit_ms) +
                            ") must be above redis_timeout_ms (" +
                            std::to_string(p.redis_timeout_ms) +
                            "): held acks must outlast a reconnect");
        }
        if (!p.mirror()) {
            for (const char* key :
                 {"redis_key_prefix", "redis_timeout_ms", "redis_batch_size", "redis_queue_records",
                  "redis_confirm_interval_ms", "redis_hold_limit_ms"}) {
                if (parsed_.has("persistence", key)) {
                    fail("persistence", key, "applies only with redis_address (mode double_write)");
                }
            }
        }
    }

    void check_server() const {
        const ServerConfig& s = config_.server;
        if (s.data_dir.empty()) {
            fail("server", "data_dir", "must not be empty");
        }
        if (s.admin_listen.port != 0 && s.listen == s.admin_listen) {
            fail_either("server", "admin_listen", "listen",
                        "admin_listen and listen are both " + to_string(s.listen));
        }
        if (!config_.instruments.empty() && s.shards > config_.instruments.size()) {
            fail("server", "shards",
                 std::to_string(s.shards) + " shards for " +
                     std::to_string(config_.instruments.size()) +
                     " instruments would leave a shard without instruments");
        }
    }

    void check_instruments() const {
        if (config_.instruments.empty()) {
            fail_at(0, kInstrumentsSection, {},
                    "no instruments configured; at least one (SYMBOL = id=... tick_size=... ...) "
                    "is required");
        }
        std::map<InstrumentId, std::size_t> by_id;
        for (std::size_t i = 0; i < config_.instruments.size(); ++i) {
            const book::InstrumentSpec& spec = config_.instruments[i];
            const auto [it, inserted] = by_id.emplace(spec.id, i);
            if (!inserted) {
                fail_at(parsed_.instrument_lines[i], kInstrumentsSection, spec.symbol,
                        "id " + std::to_string(spec.id) + " is already used by " +
                            config_.instruments[it->second].symbol + " (line " +
                            std::to_string(parsed_.instrument_lines[it->second]) + ")");
            }
        }
    }

    void check_accounts() const {
        if (config_.accounts.empty()) {
            fail_at(0, kAccountsSection, {},
                    "no accounts configured; at least one (name = id=... secret=...) is required");
        }
        std::map<AccountId, std::size_t> by_id;
        for (std::size_t i = 0; i < config_.accounts.size(); ++i) {
            const AccountConfig& account = config_.accounts[i];
            if (account.id >= config_.engine.max_accounts) {
                fail_at(parsed_.account_lines[i], kAccountsSection, account.name,
                        "id " + std::to_string(account.id) +
                            " is not below [engine] max_accounts (" +
                            std::to_string(config_.engine.max_accounts) + ")");
            }
            const auto [it, inserted] = by_id.emplace(account.id, i);
            if (!inserted) {
                fail_at(parsed_.account_lines[i], kAccountsSection, account.name,
                        "id " + std::to_string(account.id) + " is already used by " +
                            config_.accounts[it->second].name + " (line " +
                            std::to_string(parsed_.account_lines[it->second]) + ")");
            }
        }
    }

    // Relative data_dir is taken from the working directory (as --data-dir is); every other
    // relative path lives inside data_dir so that one flag moves a whole daemon.
    void resolve_paths() {
        ServerConfig& s = config_.server;
        s.data_dir = std::filesystem::absolute(s.data_dir).lexically_normal();
        const auto inside = [&](std::filesystem::path& path) {
            if (!path.empty() && path.is_relative()) {
                path = (s.data_dir / path).lexically_normal();
            }
        };
        inside(config_.persistence.wal_path);
        if (config_.persistence.store == StoreKind::Sqlite) {
            inside(config_.persistence.store_path);
        }
        inside(config_.logging.file);
        inside(config_.replication.etcd_password_file);
        inside(config_.replication.etcd_ca_file);
        inside(config_.replication.etcd_cert_file);
        inside(config_.replication.etcd_key_file);
    }

    // After resolve_paths. The files are parsed when the etcd client is made (the daemon's start,
    // --check-config); here they must exist and be readable, and the key be private.
    void check_etcd_tls_files() {
        ReplicationConfig& r = config_.replication;
        const std::pair<const char*, const std::filesystem::path*> files[] = {
            {"etcd_ca_file", &r.etcd_ca_file},
            {"etcd_cert_file", &r.etcd_cert_file},
            {"etcd_key_file", &r.etcd_key_file}};
        for (const auto& [key, path] : files) {
            if (!path->empty() && !r.etcd_tls()) {
                fail("replication", key,
                     std::string(key) +
                         " without https:// etcd_endpoints (TLS is spoken only to "
                         "https:// endpoints)");
            }
        }
        if (r.etcd_cert_file.empty() != r.etcd_key_file.empty()) {
            fail_either("replication", "etcd_cert_file", "etcd_key_file",
                        "etcd_cert_file and etcd_key_file go together: a client certificate "
                        "needs its key");
        }
        const auto check = [&](const char* key, const std::filesystem::path& path, auto&& how) {
            try {
                if (!path.empty()) {
                    how(path);
                }
            } catch (const ValueError& error) {
                fail("replication", key, error.what());
            }
        };
        check("etcd_ca_file", r.etcd_ca_file, check_readable_file);
        check("etcd_cert_file", r.etcd_cert_file, check_readable_file);
        check("etcd_key_file", r.etcd_key_file,
              [](const std::filesystem::path& path) { check_private_file(path, "a key file"); });
    }

    // After resolve_paths: the file is read where the messages say it is.
    void read_etcd_password() {
        ReplicationConfig& r = config_.replication;
        if (r.etcd_user.empty() != r.etcd_password_file.empty()) {
            fail_either("replication", "etcd_user", "etcd_password_file",
                        "etcd_user and etcd_password_file go together: etcd's authentication "
                        "needs both");
        }
        if (r.etcd_user.empty()) {
            return;
        }
        if (r.etcd_endpoints.empty()) {
            fail("replication", "etcd_user", "etcd_user without etcd_endpoints");
        }
        try {
            r.etcd_password = read_password_file(r.etcd_password_file);
        } catch (const ValueError& error) {
            fail("replication", "etcd_password_file", error.what());
        }
    }

    ParsedFile parsed_;
    Config& config_;
    const ConfigOverrides& overrides_;
};

}  // namespace

Config resolve_config(ParsedFile parsed, const ConfigOverrides& overrides) {
    return Resolver(std::move(parsed), overrides).run();
}

}  // namespace exchanged::config_detail
