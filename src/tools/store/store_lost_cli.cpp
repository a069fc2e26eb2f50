// exchangectl store lost: after a crash and `exchanged --recover`, splits one run's journal into
// what the store kept and what the crash lost (rules in tools/lost_acks.hpp), and checks the loss
// against the profile's loss window. Last line `store-lost: PASS` or `store-lost: FAIL (...)`.
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "common/cli_args.hpp"
#include "engine/shard_layout.hpp"
#include "tools/cli/exit_codes.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/cli/verdict.hpp"
#include "tools/store/lost_acks.hpp"
#include "tools/store/profile_names.hpp"
#include "tools/store/store_from_config.hpp"
#include "tools/store/store_rows.hpp"

namespace exchanged::tools {
namespace {

constexpr CliOption kOptions[] = {
    {"config", true}, {"data-dir", true}, {"journal", true}, {"kept", true}, {"max-lost", true}};

// A profile that acknowledges after the WAL or the store loses nothing acknowledged. One that
// acknowledges at match loses at most what its shards' store feeds hold plus the open batch:
// without a WAL a shard whose feed is full refuses new orders rather than grow the window.
std::uint64_t stated_window(const exchanged::Config& profile) {
    const exchanged::PersistenceConfig& p = profile.persistence;
    if (p.ack_after != exchanged::AckPoint::Match) {
        return 0;
    }
    return std::uint64_t{profile.server.shards} * p.store_queue_events + p.store_batch_size;
}

LossRules loss_rules(const exchanged::Config& profile) {
    LossRules rules;
    rules.critical_orders_durable = profile.critical_ack_after() != exchanged::AckPoint::Match;
    rules.critical_order_threshold = profile.safety.critical_order_threshold;
    rules.trades_durable = profile.safety.sync_all_trades;
    return rules;
}

int run(const CliArgs& args, const std::string& journal_path) {
    const exchanged::Config profile = load_store_profile(args);
    const std::uint64_t max_lost = args.unsigned_or("max-lost", stated_window(profile));
    std::ifstream journal(journal_path);
    if (!journal) {
        throw std::runtime_error("cannot read the journal " + journal_path);
    }
    const std::unique_ptr<store::Store> store = open_configured_store(profile);
    const StoreRows rows = read_store_rows(*store);
    std::printf("store: %s: store_lsn %" PRIu64 ", %zu orders, %zu trades\n",
                store->describe().c_str(), rows.store_lsn, rows.orders.size(), rows.trades.size());

    std::ostringstream kept;
    const LostAcks lost = find_lost_acks(journal, rows, engine::make_shard_layout(profile),
                                         ProfileNames(profile), loss_rules(profile), kept);
    if (const auto kept_path = args.text("kept")) {
        std::ofstream out(*kept_path, std::ios::trunc);
        out << kept.str();
        if (!out.flush()) {
            throw std::runtime_error("cannot write the kept journal " + *kept_path);
        }
    }
    for (const std::string& failure : lost.failures) {
        std::printf("%s\n", failure.c_str());
    }
    std::printf("journal: %s: %" PRIu64 " lines, %" PRIu64 " kept\n", journal_path.c_str(),
                lost.lines, lost.kept);
    std::printf("lost: %" PRIu64 " accepted orders, %" PRIu64 " fills, %" PRIu64
                " cancels (the loss window allows %" PRIu64 " orders)\n",
                lost.lost_accepted, lost.lost_fills, lost.lost_cancelled, max_lost);
    if (!lost.failures.empty()) {
        std::printf("store-lost: FAIL (%zu lines break the rules)\n", lost.failures.size());
        return kExitRefused;
    }
    if (lost.lost_accepted > max_lost || (max_lost == 0 && lost.lost() > 0)) {
        std::printf("store-lost: FAIL (%" PRIu64 " acknowledgements lost, the profile allows %s)\n",
                    lost.lost(), max_lost == 0 ? "none" : std::to_string(max_lost).c_str());
        return kExitRefused;
    }
    std::printf("store-lost: PASS\n");
    return kExitOk;
}

}  // namespace

int store_lost_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    const std::string journal_path = args.text_or("journal", "");
    if (journal_path.empty() || !args.positional().empty()) {
        throw CliError("--journal FILE is required, and nothing else without a flag");
    }
    return run_to_verdict("store-lost", [&] { return run(args, journal_path); });
}

}  // namespace exchanged::tools
