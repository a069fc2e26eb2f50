#include "engine/startup.hpp"

namespace exchanged::engine {

std::uint64_t checkpoint_every(const Config& config) {
    return config.safety.enable_checksums ? kDefaultCheckpointEvery : 0;
}

wal::WalOptions wal_options(const Config& config, bool salvage) {
    wal::WalOptions options;
    options.segment_bytes = config.persistence.wal_segment_bytes;
    options.batch_size = config.persistence.batch_size;
    options.batch_timeout_ms = config.persistence.batch_timeout_ms;
    options.salvage = salvage;
    return options;
}

}  // namespace exchanged::engine
