// `exchangectl wal state PATH --config FILE [--to LSN] [--from-store]`: the matchers' state after
// replaying a log from LSN 1 up to LSN (its end by default), one state hash per shard. Two
// replicas' logs replayed to the same LSN must give the same hashes (scripts/cluster-checks.sh);
// replaying the longer log only up to the shorter's end is what lets logs of unequal length be
// compared. A log that no longer reaches back to LSN 1 (segments its store passed were released,
// or it was installed from a snapshot) can still be compared with --from-store: the replay then
// starts from the books in the data directory's store, at its store_lsn.
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "common/cli_args.hpp"
#include "config/config.hpp"
#include "engine/recovery.hpp"
#include "engine/shard_layout.hpp"
#include "engine/startup.hpp"
#include "engine/store_recovery.hpp"
#include "store/open_store.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/wal/wal_path.hpp"
#include "wal/segment_format.hpp"

namespace exchanged::tools {
namespace {

// The books of the store in data directory `dir` as the profile places it there. A missing
// SQLite file is an error: opening it would create an empty store, whose state is LSN 0's.
engine::ReplayStart books_in_store(const std::string& config, const std::string& dir,
                                   const engine::ShardLayout& layout) {
    ConfigOverrides overrides;
    overrides.data_dir = dir;
    const exchanged::Config profile = load_config(config, overrides);
    const store::StoreSettings settings = engine::store_settings(profile);
    if (settings.backend == store::Backend::Sqlite &&
        !std::filesystem::exists(settings.sqlite_path)) {
        throw CliError("--from-store: no store at " + settings.sqlite_path.string() +
                       " (PATH must be a data directory the daemon ran on)");
    }
    const auto opened = store::open_store(settings);
    return engine::load_from_store(*opened, layout);
}

}  // namespace

int wal_state_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {{"config", true}, {"to", true}, {"from-store", false}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (args.positional().size() != 1) {
        throw CliError("expected exactly one PATH (a WAL or data directory), got " +
                       std::to_string(args.positional().size()));
    }
    const std::optional<std::string> config = args.text("config");
    if (!config) {
        throw CliError(
            "--config FILE is needed: the profile's shards and instruments replay the log");
    }
    const std::string path = wal_dir_argument(args.positional()[0]);
    const wal::Lsn to_lsn = args.unsigned_or("to", 0);
    const exchanged::Config profile = load_config(*config);
    const engine::ShardLayout layout = engine::make_shard_layout(profile);

    engine::ReplayStart start;
    if (args.has("from-store")) {
        start = books_in_store(*config, args.positional()[0], layout);
        // The store cannot be wound back: a state below its store_lsn is not in this directory.
        if (to_lsn != 0 && to_lsn < start.after_lsn) {
            std::printf("wal state: the store of %s is at LSN %" PRIu64 ", past --to %" PRIu64 "\n",
                        args.positional()[0].c_str(), static_cast<std::uint64_t>(start.after_lsn),
                        static_cast<std::uint64_t>(to_lsn));
            return 1;
        }
    }
    const wal::Lsn store_lsn = start.after_lsn;
    engine::RecoveryOptions options;
    options.stop_after_lsn = to_lsn;
    const engine::RecoveryResult result =
        engine::replay_log(path, layout, options, std::move(start), nullptr);
    if (!result.ok()) {
        std::printf("wal state: %s: replay failed (%s): %s\n", path.c_str(),
                    engine::to_string(result.status),
                    result.error.empty() ? result.log.describe().c_str() : result.error.c_str());
        return 1;
    }
    if (to_lsn != 0 && result.last_lsn < to_lsn) {
        std::printf("wal state: %s ends at LSN %" PRIu64 ", before --to %" PRIu64 "\n",
                    path.c_str(), static_cast<std::uint64_t>(result.last_lsn),
                    static_cast<std::uint64_t>(to_lsn));
        return 1;
    }
    std::printf("wal state: %s replayed from LSN %" PRIu64 "%s to LSN %" PRIu64 " (%" PRIu64
                " commands, %" PRIu64 " checkpoints matched; the log ends at LSN %" PRIu64 ")\n",
                path.c_str(), static_cast<std::uint64_t>(store_lsn + 1),
                args.has("from-store") ? " (the store's books before it)" : "",
                static_cast<std::uint64_t>(result.last_lsn), result.commands,
                result.checkpoints_verified, static_cast<std::uint64_t>(result.log.last_lsn));
    for (std::size_t shard = 0; shard < result.matchers.size(); ++shard) {
        std::printf("shard %zu: lsn=%" PRIu64 " next_seq=%" PRIu64 " state_hash=%016" PRIx64 "\n",
                    shard, static_cast<std::uint64_t>(result.last_lsn),
                    static_cast<std::uint64_t>(result.shards[shard].next_seq),
                    result.matchers[shard].state_hash());
    }
    return 0;
}

}  // namespace exchanged::tools
