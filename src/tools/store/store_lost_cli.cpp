// exchangectl store lost: after a crash and `exchanged --recover`, splits one run's journal into
// what the store kept and what the crash lost (rules in tools/lost_acks.hpp), and checks the loss
// against the profile's loss window. Last line `store-lost: PASS` or `store-lost: FAIL (...)`.
#include <cinttypes>
#include <cmath>
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

constexpr CliOption kOptions[] = {{"config", true}, {"data-dir", true},     {"journal", true},
                                  {"kept", true},   {"max-lost", true},     {"stated-ms", true},
                                  {"rate", true},   {"tolerance-ms", true}, {"burst", true}};

// The client stamps a line when it reads the reply, a little after the daemon sent it; the
// tolerance absorbs that jitter, not a window that is too small.
constexpr std::uint64_t kDefaultToleranceMs = 5;

// Before max_unflushed_ms the bound was in orders: what the shards' store feeds hold plus the open
// batch (a shard whose feed is full refuses new orders rather than grow the window). It is still
// the bound of a profile without a window in time.
std::uint64_t feed_bound(const exchanged::Config& profile) {
    const exchanged::PersistenceConfig& p = profile.persistence;
    return std::uint64_t{profile.server.shards} * p.store_queue_events + p.store_batch_size;
}

// What the profile states a crash may take: nothing when acks wait for the WAL or the store; with
// ack_after = match, max_unflushed_ms of acknowledged flow (0: unbounded in time).
struct StatedWindow {
    bool none = false;
    std::uint64_t ms = 0;
};

StatedWindow stated_window(const exchanged::Config& profile, const CliArgs& args) {
    if (profile.persistence.ack_after != exchanged::AckPoint::Match) {
        return {true, 0};
    }
    const std::uint64_t configured =
        profile.acks_before_durable() ? profile.safety.max_unflushed_ms : 0;
    return {false, args.unsigned_or("stated-ms", configured, 1, 3'600'000)};
}

LossRules loss_rules(const exchanged::Config& profile) {
    LossRules rules;
    rules.critical_orders_durable = profile.critical_ack_after() != exchanged::AckPoint::Match;
    rules.critical_order_threshold = profile.safety.critical_order_threshold;
    rules.trades_durable = profile.safety.sync_all_trades;
    return rules;
}

// Orders/s the acknowledgements came at: --rate (the offered rate) or, without it, the journal's
// accepted lines over the time they span. 0 when neither is known.
double ack_rate(const CliArgs& args, const LostAcks& lost) {
    if (args.text("rate")) {
        return static_cast<double>(args.unsigned_or("rate", 0, 1));
    }
    const double seconds = lost.accepted_span.ms() / 1000.0;
    return seconds > 0 ? static_cast<double>(lost.accepted_timed) / seconds : 0.0;
}

struct Bounds {
    std::uint64_t max_lost = 0;
    double max_ms = 0;  // 0: not checked in time
    std::string why;    // how max_lost was found
};

Bounds loss_bounds(const exchanged::Config& profile, const CliArgs& args, const LostAcks& lost) {
    const StatedWindow window = stated_window(profile, args);
    Bounds bounds;
    if (window.none) {
        bounds.why = "the profile acknowledges after a durable point";
    } else if (window.ms == 0) {
        bounds.max_lost = feed_bound(profile);
        bounds.why =
            "no window in time (max_unflushed_ms = 0): shards x store_queue_events + "
            "store_batch_size";
    } else {
        const std::uint64_t tolerance = args.unsigned_or("tolerance-ms", kDefaultToleranceMs);
        bounds.max_ms = static_cast<double>(window.ms + tolerance);
        const double rate = ack_rate(args, lost);
        char text[160];
        // A client behind its schedule catches up with up to its window of orders at once, and
        // a shard behind its queue acknowledges them within a fraction of a millisecond.
        const std::uint64_t burst = args.unsigned_or("burst", 0);
        if (rate > 0) {
            bounds.max_lost =
                static_cast<std::uint64_t>(std::ceil(rate * bounds.max_ms / 1000.0)) + burst;
            std::snprintf(text, sizeof(text),
                          "%.0f orders/s x (%" PRIu64 " + %" PRIu64 ") ms + a burst of %" PRIu64,
                          rate, window.ms, tolerance, burst);
            bounds.why = text;
        } else {
            bounds.max_lost = feed_bound(profile);
            bounds.why = "no rate known (no --rate, no at_us in the journal): the feed bound";
        }
    }
    if (args.text("max-lost")) {
        bounds.max_lost = args.unsigned_or("max-lost", 0);
        bounds.why = "--max-lost";
    }
    return bounds;
}

int run(const CliArgs& args, const std::string& journal_path) {
    const exchanged::Config profile = load_store_profile(args);
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
    const Bounds bounds = loss_bounds(profile, args, lost);
    const std::uint64_t max_lost = bounds.max_lost;
    for (const std::string& failure : lost.failures) {
        std::printf("%s\n", failure.c_str());
    }
    std::printf("journal: %s: %" PRIu64 " lines, %" PRIu64 " kept\n", journal_path.c_str(),
                lost.lines, lost.kept);
    std::printf("lost: %" PRIu64 " accepted orders, %" PRIu64 " fills, %" PRIu64
                " cancels (the loss window allows %" PRIu64 " orders: %s)\n",
                lost.lost_accepted, lost.lost_fills, lost.lost_cancelled, max_lost,
                bounds.why.c_str());
    const double lost_ms = lost.lost_span.ms();
    if (bounds.max_ms > 0) {
        std::printf(
            "lost in time: %.3f ms of acknowledged flow, by the %s (the window allows "
            "%.0f ms with tolerance)%s\n",
            lost_ms, lost.lost_span_by_ack ? "daemon's ack stamps" : "receive times", bounds.max_ms,
            lost.lost_untimed > 0 ? "; some lost lines have no time stamp" : "");
    }
    if (!lost.failures.empty()) {
        std::printf("store-lost: FAIL (%zu lines break the rules)\n", lost.failures.size());
        return kExitRefused;
    }
    // Both bounds are checked and both reported, so a run shows each check failing on its own.
    std::string over;
    if (lost.lost_accepted > max_lost || (max_lost == 0 && lost.lost() > 0)) {
        over = std::to_string(lost.lost_accepted) + " accepted orders (" +
               std::to_string(lost.lost()) + " acknowledgements) lost, the profile allows " +
               (max_lost == 0 ? std::string("none") : std::to_string(max_lost));
    }
    if (bounds.max_ms > 0 && lost_ms > bounds.max_ms) {
        char text[128];
        std::snprintf(text, sizeof(text),
                      "%.3f ms of acknowledged flow lost, the window allows %.0f ms", lost_ms,
                      bounds.max_ms);
        over += (over.empty() ? "" : "; ") + std::string(text);
    }
    if (!over.empty()) {
        std::printf("store-lost: FAIL (%s)\n", over.c_str());
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
