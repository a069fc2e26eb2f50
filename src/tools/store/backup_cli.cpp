// exchangectl backup create|list|verify|restore|prune (docs/tools.md, docs/operations.md
// "Backups"). Each prints what it did, one line per step, and exits 0 when it did it, 1 when it
// could not (the reason on the last line), 2 on bad flags.
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/cli_args.hpp"
#include "tools/cli/exit_codes.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/store/backup_catalog.hpp"
#include "tools/store/backup_create.hpp"
#include "tools/store/backup_restore.hpp"
#include "tools/store/store_from_config.hpp"

namespace exchanged::tools {
namespace {

namespace fs = std::filesystem;

void say(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

std::string one_positional(const CliArgs& args, const char* what) {
    if (args.positional().size() != 1) {
        throw CliError(std::string("expected one ") + what + " argument");
    }
    return args.positional().front();
}

void no_positional(const CliArgs& args) {
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional().front() + "'");
    }
}

std::string required(const CliArgs& args, const char* name) {
    const auto value = args.text(name);
    if (!value || value->empty()) {
        throw CliError(std::string("--") + name + " is required");
    }
    return *value;
}

// Runs `body`; an exception becomes "backup NAME: FAIL (what)" and exit 1.
template <typename Body>
int guarded(const char* name, Body body) {
    try {
        return body();
    } catch (const CliError&) {
        throw;
    } catch (const std::exception& error) {
        std::printf("backup %s: FAIL (%s)\n", name, error.what());
        return kExitRefused;
    }
}

std::string size_text(std::uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
    return text;
}

}  // namespace

int backup_create_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {
        {"to", true}, {"config", true}, {"data-dir", true}, {"timeout", true}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    no_positional(args);
    CreateOptions options;
    options.to = required(args, "to");
    options.snapshot_timeout = std::chrono::seconds(args.unsigned_or("timeout", 600, 1, 86400));
    options.say = say;
    return guarded("create", [&] {
        const exchanged::Config profile = load_store_profile(args);
        const CreatedBackup made = create_backup(profile, options);
        std::printf("backup create: OK %s (%s, store LSN %" PRIu64 ", restores to LSN %" PRIu64
                    ")\n",
                    made.dir.c_str(), made.manifest.mode.c_str(), made.manifest.store_lsn,
                    made.manifest.last_lsn());
        return kExitOk;
    });
}

int backup_list_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {{"in", true}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    no_positional(args);
    const fs::path in = required(args, "in");
    return guarded("list", [&] {
        const std::vector<BackupEntry> backups = list_backups(in);
        std::printf("%-36s %-20s %-8s %12s %12s %10s  %s\n", "backup", "created", "mode",
                    "store_lsn", "last_lsn", "size", "verified");
        for (const BackupEntry& entry : backups) {
            const std::string name = entry.dir.filename().string();
            if (!entry.manifest) {
                std::printf("%-36s unreadable: %s\n", name.c_str(), entry.problem.c_str());
                continue;
            }
            const BackupManifest& m = *entry.manifest;
            const std::string verified =
                entry.verified ? "yes (" + entry.verified->verified_at + ")" : "no";
            std::printf("%-36s %-20s %-8s %12" PRIu64 " %12" PRIu64 " %10s  %s\n", name.c_str(),
                        m.created.c_str(), m.mode.c_str(), m.store_lsn, m.last_lsn(),
                        size_text(entry.bytes).c_str(), verified.c_str());
        }
        std::printf("%zu backup(s) in %s\n", backups.size(), in.c_str());
        return kExitOk;
    });
}

int backup_verify_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {{"scratch-dsn", true}, {"latest", false}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    const bool latest = args.has("latest");
    const fs::path named = one_positional(args, latest ? "backups directory" : "backup directory");
    VerifyOptions options;
    options.scratch_dsn = args.text_or("scratch-dsn", "");
    return guarded("verify", [&] {
        // --latest: the hourly unit verifies the backup it just made, which is then the newest
        // verified one that prune keeps.
        fs::path dir = named;
        if (latest) {
            const std::vector<BackupEntry> backups = list_backups(named);
            const BackupEntry* newest = newest_backup(backups);
            if (newest == nullptr) {
                throw std::runtime_error("no readable backup in " + named.string());
            }
            dir = newest->dir;
            say("newest backup: " + dir.string());
        }
        const VerifyOutcome outcome = verify_backup(dir, options, say);
        if (!outcome.ok) {
            std::printf("backup verify: FAIL (%s)\n", outcome.failure.c_str());
            return kExitRefused;
        }
        std::string hashes;
        for (const std::uint64_t hash : outcome.mark.state_hashes) {
            hashes += (hashes.empty() ? "" : ",") + std::to_string(hash);
        }
        std::printf("state hash: %s at LSN %" PRIu64 "\n", hashes.c_str(), outcome.mark.last_lsn);
        std::printf("backup verify: PASS (%s written)\n", (dir / kVerifiedName).c_str());
        return kExitOk;
    });
}

int backup_restore_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {
        {"data-dir", true}, {"config", true}, {"dsn", true}, {"force", false}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    const fs::path dir = one_positional(args, "backup directory");
    const std::string data_dir = required(args, "data-dir");
    return guarded("restore", [&] {
        ConfigOverrides overrides;
        overrides.data_dir = data_dir;
        const std::string config = args.text_or("config", (dir / kProfileFileName).string());
        exchanged::Config target = load_config(config, overrides);
        if (const auto dsn = args.text("dsn")) {
            if (target.persistence.store != StoreKind::Postgresql) {
                throw CliError("--dsn is for a PostgreSQL store; the profile " + config +
                               " has store = sqlite");
            }
            target.persistence.store_dsn = *dsn;
        }
        restore_backup(dir, target, args.has("force"), say);
        std::printf(
            "backup restore: OK into %s; start exchanged with --data-dir %s (it "
            "recovers the WAL tail first)\n",
            target.server.data_dir.c_str(), target.server.data_dir.c_str());
        return kExitOk;
    });
}

int backup_prune_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {{"in", true}, {"keep-days", true}, {"dry-run", false}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    no_positional(args);
    const fs::path in = required(args, "in");
    const std::uint64_t keep_days = args.unsigned_or("keep-days", 7, 0, 36500);
    if (!args.has("keep-days")) {
        throw CliError("--keep-days is required");
    }
    return guarded("prune", [&] {
        const std::vector<BackupEntry> backups = list_backups(in);
        const auto doomed = plan_prune(backups, static_cast<std::int64_t>(std::time(nullptr)),
                                       static_cast<std::int64_t>(keep_days) * 86400);
        // A create that died mid-way left these; a day is far longer than any create takes.
        for (const fs::path& partial : stale_partials(in, 86400)) {
            if (!args.has("dry-run")) {
                fs::remove_all(partial);
            }
            std::printf("%s %s (unfinished)\n", args.has("dry-run") ? "would delete" : "deleted",
                        partial.c_str());
        }
        for (const BackupEntry* entry : doomed) {
            if (!args.has("dry-run")) {
                fs::remove_all(entry->dir);
            }
            std::printf("%s %s (created %s)\n", args.has("dry-run") ? "would delete" : "deleted",
                        entry->dir.c_str(), entry->manifest->created.c_str());
        }
        std::printf("backup prune: %zu deleted, %zu kept (keep %" PRIu64
                    " days; the newest and the newest verified are always kept)\n",
                    args.has("dry-run") ? 0 : doomed.size(), backups.size() - doomed.size(),
                    keep_days);
        return kExitOk;
    });
}

}  // namespace exchanged::tools
