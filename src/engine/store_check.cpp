#include "engine/store_check.hpp"

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "store/sqlite_check.hpp"
#include "store/store.hpp"

namespace exchanged::engine {

StoreStartCheck check_store_on_start(const exchanged::Config& config) {
    const PersistenceConfig& p = config.persistence;
    StoreStartCheck out;
    std::error_code error;
    if (p.store != StoreKind::Sqlite || p.store_check_on_start == exchanged::StoreCheck::Off ||
        !std::filesystem::exists(p.store_path, error)) {
        return out;
    }
    const store::SqliteCheckLevel level = p.store_check_on_start == exchanged::StoreCheck::Full
                                              ? store::SqliteCheckLevel::Full
                                              : store::SqliteCheckLevel::Quick;
    const store::SqliteCheckReport report = store::check_sqlite_file(p.store_path, level);
    if (!report.ok()) {
        throw store::StoreCorruptError(
            report.describe() +
            "\n`exchangectl store check` repeats this check; docs/recovery.md (Store corruption) "
            "says what to do");
    }
    char size[32];
    std::snprintf(size, sizeof size, "%.1f MB", static_cast<double>(report.file_bytes) / 1e6);
    out.ran = true;
    out.what = std::string("PRAGMA ") + store::pragma_name(level) + " of " + p.store_path.string() +
               " (" + size + ")";
    out.seconds = report.seconds;
    return out;
}

}  // namespace exchanged::engine
