#include "tools/store/store_from_config.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>

#include "engine/startup.hpp"
#include "store/open_store.hpp"
#include "tools/client/client_profile.hpp"

namespace exchanged::tools {

exchanged::Config load_store_profile(const CliArgs& args) {
    exchanged::Config profile = load_client_profile(args);
    if (const auto data_dir = args.text("data-dir")) {
        // Paths inside data_dir are resolved while loading, so the override needs a second load;
        // the first one has already vouched for the file.
        exchanged::ConfigOverrides overrides;
        overrides.data_dir = data_dir;
        profile = exchanged::load_config(profile.source_path, overrides);
    }
    return profile;
}

std::unique_ptr<store::Store> open_configured_store(const exchanged::Config& config) {
    const store::StoreSettings settings = engine::store_settings(config);
    if (settings.backend == store::Backend::Sqlite &&
        !std::filesystem::exists(settings.sqlite_path)) {
        throw store::StoreError("no store at " + settings.sqlite_path.string() + " (profile " +
                                config.source_path +
                                "): has the daemon run on this data directory?");
    }
    return store::open_store(settings);
}

}  // namespace exchanged::tools
