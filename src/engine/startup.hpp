// How the configuration turns into the WAL's and the shards' settings at start-up, in one place so
// that the daemon, its tests and later tools build them the same way.
#pragma once

#include <cstdint>

#include "config/config.hpp"
#include "store/flush_worker.hpp"
#include "store/open_store.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::engine {

std::uint64_t checkpoint_every(const exchanged::Config& config);

// The WAL writer's options from [persistence]; wal_sync is not a WAL knob (it always fdatasyncs)
// and with enable_wal = false there is no writer at all.
wal::WalOptions wal_options(const exchanged::Config& config, bool salvage);

// Which store to open, from [persistence] store, store_path, store_dsn and [safety]
// enable_audit_log.
store::StoreSettings store_settings(const exchanged::Config& config);

// The flush worker's batching from [persistence] store_batch_size and store_batch_timeout_ms;
// the caller adds the frontier and callbacks.
store::FlushOptions flush_options(const exchanged::Config& config);

}  // namespace exchanged::engine
