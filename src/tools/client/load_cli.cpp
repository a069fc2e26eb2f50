// exchangectl load: flags, the plan from the profile, and the report (text or one JSON object).
// Exit codes (tools/exit_codes.hpp): 0 done, 1 could not start, stopped early for another reason
// (the journal could not be written) or not one order was accepted (every order refused or
// rejected: a run that measured nothing must not pass for one that did), 3 connection lost,
// 4 timed out.
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include "common/cli_args.hpp"
#include "tools/cli/exit_codes.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/client/client_profile.hpp"
#include "tools/client/journal_writer.hpp"
#include "tools/client/load_generator.hpp"
#include "tools/client/load_report.hpp"

namespace exchanged::tools {
namespace {

constexpr CliOption kOptions[] = {
    {"connect", true}, {"orders", true}, {"connections", true}, {"rate", true},
    {"journal", true}, {"json", false},  {"config", true},      {"seed", true},
    {"id-base", true}, {"window", true}, {"timeout", true},     {"mix", true},
};

}  // namespace

int load_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    LoadPlan plan;
    plan.target = args.text_or("connect", "");
    if (plan.target.empty()) {
        throw CliError("--connect HOST:PORT is required");
    }
    if (!args.has("orders")) {
        throw CliError("--orders is required");
    }
    plan.orders = args.unsigned_or("orders", 0, 1);
    plan.connections = static_cast<std::uint32_t>(args.unsigned_or("connections", 1, 1, 1024));
    plan.rate = static_cast<double>(args.unsigned_or("rate", 0));
    plan.window = static_cast<std::uint32_t>(args.unsigned_or("window", plan.window, 1, 1u << 20));
    plan.seed = args.unsigned_or("seed", 1);
    plan.id_base = args.unsigned_or("id-base", clock_id_base());
    plan.reply_timeout = std::chrono::milliseconds(args.unsigned_or("timeout", 10, 1, 3600) * 1000);
    if (const auto mix = args.text("mix")) {
        try {
            plan.mix = parse_load_mix(*mix);
        } catch (const std::invalid_argument& error) {
            throw CliError(error.what());
        }
    }
    const exchanged::Config profile = load_client_profile(args);
    plan.instruments = profile.instruments;
    for (const exchanged::AccountConfig& account : profile.accounts) {
        plan.accounts.push_back({account.name, account.secret});
    }
    if (plan.instruments.empty() || plan.accounts.empty()) {
        throw CliError("profile " + profile.source_path + " has no instruments or no accounts");
    }
    std::unique_ptr<JournalWriter> journal;
    if (const auto path = args.text("journal")) {
        journal = std::make_unique<JournalWriter>(*path);
    }

    const LoadTotals totals = run_load(plan, journal.get());
    journal.reset();  // closes the file: everything received is written before the report

    for (const std::string& error : totals.errors) {
        std::fprintf(stderr, "exchangectl load: %s\n", error.c_str());
    }
    if (totals.failed_to_start) {
        return kExitRefused;
    }
    const std::string report =
        args.has("json") ? load_report_json(plan, totals) : load_report_text(plan, totals);
    std::fputs(report.c_str(), stdout);
    std::fflush(stdout);
    if (!plan.mix.only_new_orders()) {
        std::fprintf(stderr,
                     "mix: sent %" PRIu64 " cancels, %" PRIu64 " replaces, %" PRIu64
                     " mass cancels; got %" PRIu64 " cancelled, %" PRIu64 " replaced, %" PRIu64
                     " mass cancelled\n",
                     totals.cancels_sent, totals.replaces_sent, totals.mass_cancels_sent,
                     totals.cancelled, totals.replaced, totals.mass_cancelled);
    }
    const std::uint64_t answered = totals.accepted + totals.rejected + totals.refused;
    if (totals.connection_lost) {
        std::fprintf(stderr,
                     "connection lost: the daemon went away after %" PRIu64 " of %" PRIu64
                     " orders were acknowledged\n",
                     answered, plan.orders);
        return kExitConnectionLost;
    }
    if (totals.timed_out) {
        std::fprintf(stderr,
                     "timed out: replies stopped after %" PRIu64 " of %" PRIu64
                     " orders were acknowledged\n",
                     answered, plan.orders);
        return kExitTimeout;
    }
    // Any other early end (the journal could not be written, an unexpected error on one connection,
    // which stops the others): the report is partial, so the run failed.
    if (!totals.errors.empty() || answered < plan.orders) {
        std::fprintf(stderr,
                     "incomplete: the run stopped after %" PRIu64 " of %" PRIu64
                     " orders were acknowledged (the reason is above)\n",
                     answered, plan.orders);
        return kExitRefused;
    }
    if (totals.accepted == 0) {
        std::fprintf(stderr,
                     "no order was accepted: %" PRIu64 " refused, %" PRIu64 " rejected of %" PRIu64
                     " sent (see the reasons in the report)\n",
                     totals.refused, totals.rejected, totals.sent);
        return kExitRefused;
    }
    return kExitOk;
}

}  // namespace exchanged::tools
