// Opens the configured backend of the primary store. The store library knows nothing of the
// daemon's configuration, so the caller translates [persistence] into StoreSettings.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace exchanged::store {

enum class Backend : std::uint8_t { Sqlite, Postgresql };

struct StoreSettings {
    Backend backend = Backend::Sqlite;
    std::filesystem::path sqlite_path;  // Sqlite
    std::string postgresql_dsn;         // Postgresql: a libpq connection string
    bool audit_log = false;             // also write every event to audit_log
};

// Opens (creating an SQLite file when missing) and migrates the store. Throws StoreError naming the
// database and what failed.
std::unique_ptr<Store> open_store(const StoreSettings& settings);

}  // namespace exchanged::store
