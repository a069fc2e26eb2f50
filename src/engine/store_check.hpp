// Start-up's look for damage in the SQLite store file ([persistence] store_check_on_start), before
// anything reads it: SQLite itself notices a damaged page only when a query happens to read it,
// which could be hours later in the flush worker, or never for a page recovery does not load.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.hpp"

namespace exchanged::engine {

struct StoreStartCheck {
    bool ran = false;  // off, PostgreSQL, or no store file yet: nothing to check
    std::string what;  // "PRAGMA quick_check of /var/lib/exchanged/exchanged.sqlite (110 MB)"
    double seconds = 0;
};

// Checks the configured store file. Throws store::StoreCorruptError naming the file, SQLite's
// description of the damage and the tables or indexes it lies in when the check fails.
StoreStartCheck check_store_on_start(const exchanged::Config& config);

}  // namespace exchanged::engine
