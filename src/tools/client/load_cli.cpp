// exchangectl load: flags, the plan from the profile, and the report (text or one JSON object).
// Exit codes (tools/exit_codes.hpp): 0 done, 1 could not start, 3 connection lost, 4 timed out.
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

namespace exchanged::tools {
namespace {

constexpr CliOption kOptions[] = {
    {"connect", true}, {"orders", true}, {"connections", true}, {"rate", true},
    {"journal", true}, {"json", false},  {"config", true},      {"seed", true},
    {"id-base", true}, {"window", true}, {"timeout", true},
};

double micros(std::uint64_t nanoseconds) {
    return static_cast<double>(nanoseconds) / 1000.0;
}

void print_json(const LoadPlan& plan, const LoadTotals& totals) {
    const double acked = static_cast<double>(totals.accepted + totals.rejected);
    std::printf("{\"orders\":%" PRIu64
                ",\"connections\":%u,\"rate\":%.0f,\"window\":%u,"
                "\"seed\":%" PRIu64 ",\"id_base\":%" PRIu64 ",\"sent\":%" PRIu64
                ",\"accepted\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"rejected_by_reason\":{",
                plan.orders, plan.connections, plan.rate, plan.window, plan.seed, plan.id_base,
                totals.sent, totals.accepted, totals.rejected);
    bool first = true;
    for (const auto& [reason, count] : totals.rejected_by_reason) {
        std::printf("%s\"%s\":%" PRIu64, first ? "" : ",", reason.c_str(), count);
        first = false;
    }
    std::printf("},\"fills\":%" PRIu64 ",\"cancelled\":%" PRIu64
                ",\"elapsed_s\":%.3f,\"orders_per_sec\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
                "\"p999_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,\"connection_lost\":%s,"
                "\"timed_out\":%s}\n",
                totals.fills, totals.cancelled, totals.elapsed_s,
                totals.elapsed_s > 0 ? acked / totals.elapsed_s : 0.0,
                micros(totals.latency.percentile(0.50)), micros(totals.latency.percentile(0.99)),
                micros(totals.latency.percentile(0.999)), micros(totals.latency.max()),
                totals.latency.mean() / 1000.0, totals.connection_lost ? "true" : "false",
                totals.timed_out ? "true" : "false");
}

void print_text(const LoadPlan& plan, const LoadTotals& totals) {
    const double acked = static_cast<double>(totals.accepted + totals.rejected);
    std::printf("load: %" PRIu64 " orders over %u connections to %s, %s, seed %" PRIu64 "\n",
                plan.orders, plan.connections, plan.target.c_str(),
                plan.rate > 0
                    ? ("open loop at " + std::to_string(static_cast<std::uint64_t>(plan.rate)) +
                       " orders/s")
                          .c_str()
                    : ("closed loop, window " + std::to_string(plan.window)).c_str(),
                plan.seed);
    std::printf("  sent %" PRIu64 ", accepted %" PRIu64 ", rejected %" PRIu64 ", fills %" PRIu64
                ", cancelled %" PRIu64 "\n",
                totals.sent, totals.accepted, totals.rejected, totals.fills, totals.cancelled);
    for (const auto& [reason, count] : totals.rejected_by_reason) {
        std::printf("    rejected %s: %" PRIu64 "\n", reason.c_str(), count);
    }
    std::printf("  throughput: %.0f orders/s (%.3f s)\n",
                totals.elapsed_s > 0 ? acked / totals.elapsed_s : 0.0, totals.elapsed_s);
    std::printf(
        "  latency to first reply%s: p50 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n",
        plan.rate > 0 ? " (from scheduled send time)" : "", micros(totals.latency.percentile(0.50)),
        micros(totals.latency.percentile(0.99)), micros(totals.latency.percentile(0.999)),
        micros(totals.latency.max()));
}

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
    if (args.has("json")) {
        print_json(plan, totals);
    } else {
        print_text(plan, totals);
    }
    if (totals.connection_lost) {
        std::fprintf(stderr,
                     "connection lost: the daemon went away after %" PRIu64 " of %" PRIu64
                     " orders were acknowledged\n",
                     totals.accepted + totals.rejected, plan.orders);
        return kExitConnectionLost;
    }
    if (totals.timed_out) {
        std::fprintf(stderr,
                     "timed out: replies stopped after %" PRIu64 " of %" PRIu64
                     " orders were acknowledged\n",
                     totals.accepted + totals.rejected, plan.orders);
        return kExitTimeout;
    }
    return kExitOk;
}

}  // namespace exchanged::tools
