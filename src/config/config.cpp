#include "config/config.hpp"

#include "config/parsed.hpp"

namespace exchanged {

std::string to_string(const Endpoint& endpoint) {
    const bool v6 = endpoint.host.find(':') != std::string::npos;
    return (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

std::string_view to_string(PersistenceMode mode) {
    switch (mode) {
        case PersistenceMode::Async:
            return "async";
        case PersistenceMode::HybridSync:
            return "hybrid_sync";
        case PersistenceMode::WalBatch:
            return "wal_batch";
        case PersistenceMode::BatchSync:
            return "batch_sync";
        case PersistenceMode::DoubleWrite:
            return "double_write";
    }
    return "?";
}

std::string_view to_string(AckPoint point) {
    switch (point) {
        case AckPoint::Match:
            return "match";
        case AckPoint::Wal:
            return "wal";
        case AckPoint::Store:
            return "store";
        case AckPoint::Quorum:
            return "quorum";
        case AckPoint::Mirror:
            return "mirror";
    }
    return "?";
}

std::string_view to_string(ReplicationRole role) {
    return role == ReplicationRole::Leader ? "leader" : "follower";
}

std::string_view to_string(StoreCheck check) {
    switch (check) {
        case StoreCheck::Off:
            return "off";
        case StoreCheck::Quick:
            return "quick";
        case StoreCheck::Full:
            return "full";
    }
    return "?";
}

std::string_view to_string(StoreKind kind) {
    switch (kind) {
        case StoreKind::Sqlite:
            return "sqlite";
        case StoreKind::Postgresql:
            return "postgresql";
    }
    return "?";
}

std::string_view to_string(LogLevel level) {
    switch (level) {
        case LogLevel::Trace:
            return "trace";
        case LogLevel::Debug:
            return "debug";
        case LogLevel::Info:
            return "info";
        case LogLevel::Warn:
            return "warn";
        case LogLevel::Error:
            return "error";
    }
    return "?";
}

bool Config::acks_before_durable() const {
    return persistence.ack_after == AckPoint::Match &&
           !(persistence.enable_wal && persistence.wal_sync);
}

AckPoint Config::critical_ack_after() const {
    if (!safety.sync_for_critical) {
        return persistence.ack_after;
    }
    switch (persistence.ack_after) {
        case AckPoint::Match:
            return persistence.enable_wal && persistence.wal_sync ? AckPoint::Wal : AckPoint::Store;
        case AckPoint::Wal:
        case AckPoint::Store:
        case AckPoint::Mirror:
            return AckPoint::Store;
        case AckPoint::Quorum:
            // A majority of the replicas already outlives this node's store.
            return AckPoint::Quorum;
    }
    return AckPoint::Store;
}

bool Config::store_is_durability_point() const {
    return !persistence.enable_wal || persistence.ack_after == AckPoint::Store ||
           critical_ack_after() == AckPoint::Store || safety.sync_all_trades;
}

namespace config_detail {

int ParsedFile::line_of(std::string_view section, std::string_view key) const {
    const auto it = key_lines.find(std::string(section) + "." + std::string(key));
    return it == key_lines.end() ? 0 : it->second;
}

ConfigError config_error(const std::string& file, int line, std::string_view section,
                         std::string_view key, const std::string& message) {
    std::string text = file;
    if (line > 0) {
        text.append(":").append(std::to_string(line));
    }
    text.append(": ");
    if (!section.empty()) {
        text.append("[").append(section).append("]");
        text.append(key.empty() ? ": " : " ");
    }
    if (!key.empty()) {
        text.append(key).append(": ");
    }
    text.append(message);
    return ConfigError(text, file, line, std::string(section), std::string(key));
}

}  // namespace config_detail

Config load_config(const std::string& path, const ConfigOverrides& overrides) {
    config_detail::ParsedFile parsed = config_detail::parse_config_file(path);
    parsed.config.source_path = path;
    parsed.config.profile = std::filesystem::path(path).stem().string();
    return config_detail::resolve_config(std::move(parsed), overrides);
}

Config load_config(const std::string& path) {
    return load_config(path, ConfigOverrides{});
}

}  // namespace exchanged
