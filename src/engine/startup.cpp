#include "engine/startup.hpp"

#include <algorithm>
#include <chrono>

namespace exchanged::engine {

std::uint64_t checkpoint_every(const exchanged::Config& config) {
    return config.safety.enable_checksums ? config.safety.checkpoint_interval : 0;
}

wal::WalOptions wal_options(const exchanged::Config& config, bool salvage) {
    wal::WalOptions options;
    options.segment_bytes = config.persistence.wal_segment_bytes;
    options.max_recycled_segments = config.persistence.wal_max_recycled_segments;
    options.batch_size = config.persistence.batch_size;
    options.batch_timeout_ms = config.persistence.batch_timeout_ms;
    options.salvage = salvage;
    return options;
}

store::StoreSettings store_settings(const exchanged::Config& config) {
    store::StoreSettings settings;
    settings.backend = config.persistence.store == exchanged::StoreKind::Postgresql
                           ? store::Backend::Postgresql
                           : store::Backend::Sqlite;
    settings.sqlite_path = config.persistence.store_path;
    settings.postgresql_dsn = config.persistence.store_dsn;
    settings.audit_log = config.safety.enable_audit_log;
    return settings;
}

store::FlushOptions flush_options(const exchanged::Config& config) {
    store::FlushOptions options;
    options.batch_lsns = config.persistence.store_batch_size;
    options.batch_timeout = std::chrono::milliseconds(config.persistence.store_batch_timeout_ms);
    // Catching up after a stall: large transactions, but bounded so one commit stays short.
    options.max_batch_lsns =
        std::max<std::uint32_t>(config.persistence.store_batch_size * 16, 65536);
    options.io_errors_fatal = config.store_is_durability_point();
    return options;
}

}  // namespace exchanged::engine
