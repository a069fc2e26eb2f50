// exchangectl reconcile: the primary store on its own, against a replay of the whole WAL into a
// temporary store, and against an acknowledgement journal's fills (tools/reconcile.hpp,
// tools/wal_replay.hpp). One line per check, then `reconcile: PASS` or `reconcile: FAIL (...)`;
// exit 0 only on PASS. Meant for a stopped daemon: a running one moves the store while it is read.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/cli_args.hpp"
#include "engine/shard_layout.hpp"
#include "tools/cli/exit_codes.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/cli/verdict.hpp"
#include "tools/client/journal_contents.hpp"
#include "tools/store/profile_names.hpp"
#include "tools/store/reconcile.hpp"
#include "tools/store/store_from_config.hpp"
#include "tools/store/store_rows.hpp"
#include "tools/store/wal_replay.hpp"

namespace exchanged::tools {
namespace {

constexpr CliOption kOptions[] = {{"config", true}, {"data-dir", true}, {"journal", true}};

engine::RecoveryOptions replay_options() {
    engine::RecoveryOptions options;
    options.on_progress = [](const engine::RecoveryProgress& progress) {
        std::fprintf(stderr,
                     "reconcile: WAL replay: %" PRIu64 " records (LSN %" PRIu64 "), %.1f s\n",
                     progress.records, progress.lsn,
                     std::chrono::duration<double>(progress.elapsed).count());
    };
    return options;
}

int run(const CliArgs& args) {
    const exchanged::Config profile = load_store_profile(args);
    const engine::ShardLayout layout = engine::make_shard_layout(profile);
    const ProfileNames names(profile);
    std::optional<JournalContents> journal;
    if (const auto path = args.text("journal")) {
        journal = read_journal_file(*path);
        std::printf("journal: %s: %s\n", path->c_str(), journal->summary().c_str());
    }
    const std::unique_ptr<store::Store> store = open_configured_store(profile);
    const StoreRows rows = read_store_rows(*store);
    std::printf("store: %s: store_lsn %" PRIu64 ", %zu orders, %zu trades\n",
                store->describe().c_str(), rows.store_lsn, rows.orders.size(), rows.trades.size());
    std::fflush(stdout);

    const WalReplay replay = replay_wal(profile, layout, replay_options());
    std::vector<CheckResult> checks{replay.check};
    for (CheckResult& check : reconcile(rows, replay.rows ? &*replay.rows : nullptr,
                                        journal ? &*journal : nullptr, layout, names)) {
        checks.push_back(std::move(check));
    }
    std::size_t failed = 0;
    for (const CheckResult& check : checks) {
        std::printf("%s", check.report().c_str());
        failed += check.ok() ? 0 : 1;
    }
    if (failed == 0) {
        std::printf("reconcile: PASS\n");
        return kExitOk;
    }
    std::printf("reconcile: FAIL (%zu of %zu checks failed)\n", failed, checks.size());
    return kExitRefused;
}

}  // namespace

int reconcile_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional().front() + "'");
    }
    return run_to_verdict("reconcile", [&] { return run(args); });
}

}  // namespace exchanged::tools
