// exchangectl store check: is the primary store of a stopped daemon damaged, and where? For
// SQLite, the file's own check (store/sqlite_check.hpp: header, PRAGMA quick_check or, with
// --full, integrity_check) and, with --repair, REINDEX of damaged indexes; then, on any backend,
// whether rows are missing (tools/store_row_ids.hpp). One line per finding, then
// `store check: PASS` (exit 0) or `store check: FAIL (...)` (exit 1).
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "common/cli_args.hpp"
#include "engine/shard_layout.hpp"
#include "engine/startup.hpp"
#include "store/sqlite_check.hpp"
#include "tools/cli/exit_codes.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/cli/verdict.hpp"
#include "tools/store/store_from_config.hpp"
#include "tools/store/store_row_ids.hpp"

namespace exchanged::tools {
namespace {

constexpr CliOption kOptions[] = {
    {"config", true}, {"data-dir", true}, {"full", false}, {"repair", false}};

void print_check(const store::SqliteCheckReport& report) {
    std::printf("PRAGMA %s: %s (%.2f s)%s%s\n", store::pragma_name(report.level),
                report.ok() ? "ok" : "DAMAGED", report.seconds, report.ok() ? "" : ": ",
                report.ok() ? "" : report.where().c_str());
    for (const std::string& problem : report.problems) {
        std::printf("  %s\n", problem.c_str());
    }
}

// A copy of the file (and of its SQLite WAL, which may hold committed pages) before REINDEX
// writes to it, under a name that is not taken yet: the damaged original is evidence.
std::filesystem::path keep_copy(const std::filesystem::path& file) {
    std::filesystem::path copy = file.string() + ".before-repair";
    for (int n = 1; std::filesystem::exists(copy); ++n) {
        copy = file.string() + ".before-repair." + std::to_string(n);
    }
    std::filesystem::copy_file(file, copy);
    const std::filesystem::path wal = file.string() + "-wal";
    if (std::filesystem::exists(wal)) {
        std::filesystem::copy_file(wal, copy.string() + "-wal");
    }
    return copy;
}

constexpr const char* kSalvageDoc = "docs/recovery.md (Store corruption) says what to do";

// The SQLite file's own check, and the repair when asked for and possible. Empty when the file
// is (now) sound, else what the FAIL line says.
std::string check_file(const std::filesystem::path& file, store::SqliteCheckLevel level,
                       bool repair) {
    store::SqliteCheckReport report = store::check_sqlite_file(file, level);
    print_check(report);
    if (report.ok()) {
        return "";
    }
    if (!repair) {
        return report.only_indexes ? "only indexes are damaged: --repair rebuilds them"
                                   : std::string("the store file is damaged; ") + kSalvageDoc;
    }
    if (!report.only_indexes) {
        std::printf("repair: not possible here: the damage is not confined to indexes (%s)\n",
                    report.where().c_str());
        return std::string("the store file is damaged; ") + kSalvageDoc;
    }
    const std::filesystem::path copy = keep_copy(file);
    std::printf("repair: the damaged file is kept as %s\n", copy.c_str());
    for (const store::SqliteDamage& damage : report.damaged) {
        std::printf("repair: REINDEX %s\n", damage.name.c_str());
    }
    try {
        report = store::reindex_sqlite_file(report);
    } catch (const store::StoreError& error) {
        std::printf("repair: REINDEX failed: %s\n", error.what());
        return std::string("not repaired; ") + kSalvageDoc;
    }
    std::printf("repair: checked again: ");
    print_check(report);
    return report.ok() ? "" : std::string("not repaired; ") + kSalvageDoc;
}

int run(const CliArgs& args) {
    const exchanged::Config profile = load_store_profile(args);
    const store::StoreSettings settings = engine::store_settings(profile);
    const store::SqliteCheckLevel level =
        args.has("full") ? store::SqliteCheckLevel::Full : store::SqliteCheckLevel::Quick;
    if (settings.backend == store::Backend::Sqlite) {
        const std::filesystem::path& file = settings.sqlite_path;
        if (!std::filesystem::exists(file)) {
            throw store::StoreError("no store at " + file.string() + " (profile " +
                                    profile.source_path +
                                    "): has the daemon run on this data directory?");
        }
        std::printf("store: sqlite:%s (%" PRIu64 " bytes)\n", file.c_str(),
                    static_cast<std::uint64_t>(std::filesystem::file_size(file)));
        const std::string failure = check_file(file, level, args.has("repair"));
        if (!failure.empty()) {
            std::printf("store check: FAIL (%s)\n", failure.c_str());
            return kExitRefused;
        }
    } else {
        std::printf(
            "store: PostgreSQL: the server checks its own pages (data checksums, amcheck); "
            "checking the rows only\n");
    }
    const std::unique_ptr<store::Store> opened = open_configured_store(profile);
    const RowIdReport rows = check_row_ids(*opened, engine::make_shard_layout(profile).shard_count);
    std::printf("%s%s", rows.orders.report().c_str(), rows.trades.report().c_str());
    if (!rows.orders.ok() || !rows.trades.ok()) {
        const std::string misplaced =
            rows.misplaced_rows == 0
                ? ""
                : "; " + std::to_string(rows.misplaced_rows) + " rows out of place";
        std::printf("store check: FAIL (rows missing: %" PRIu64 " orders, %" PRIu64 " trades%s)\n",
                    rows.missing_orders, rows.missing_trades, misplaced.c_str());
        return kExitRefused;
    }
    std::printf("store check: PASS\n");
    return kExitOk;
}

}  // namespace

int store_check_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional().front() + "'");
    }
    return run_to_verdict("store check", [&] { return run(args); });
}

}  // namespace exchanged::tools
