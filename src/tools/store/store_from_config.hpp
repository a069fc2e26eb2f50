// The primary store as a daemon profile configures it ([persistence] store, store_path,
// store_dsn), opened the daemon's way (engine::store_settings) for the tools that check it after
// the daemon: `store verify` and `reconcile`.
#pragma once

#include <memory>

#include "common/cli_args.hpp"
#include "config/config.hpp"
#include "store/store.hpp"

namespace exchanged::tools {

// Loads --config (default config/standard.ini) with --data-dir replacing [server] data_dir, as
// exchanged's own flag does, so the paths inside data_dir (WAL, store) are the daemon's.
exchanged::Config load_store_profile(const CliArgs& args);

// Opens the configured store to read it. A missing SQLite file is an error rather than a new
// empty store: a check against an empty store would only report everything as lost.
std::unique_ptr<store::Store> open_configured_store(const exchanged::Config& config);

}  // namespace exchanged::tools
