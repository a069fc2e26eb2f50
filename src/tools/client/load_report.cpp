#include "tools/client/load_report.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <map>

namespace exchanged::tools {
namespace {

[[gnu::format(printf, 2, 3)]] void append(std::string& out, const char* format, ...) {
    char buffer[512];
    va_list args;
    va_start(args, format);
    const int length = std::vsnprintf(buffer, sizeof(buffer), format, args);
    va_end(args);
    if (length > 0) {
        out.append(buffer, std::min(static_cast<std::size_t>(length), sizeof(buffer) - 1));
    }
}

double micros(std::uint64_t nanoseconds) {
    return static_cast<double>(nanoseconds) / 1000.0;
}

double per_sec(std::uint64_t count, double elapsed_s) {
    return elapsed_s > 0 ? static_cast<double>(count) / elapsed_s : 0.0;
}

// {"busy":3,"unavailable":1}: reason names are the protocol's identifiers, nothing to escape.
std::string json_counts(const std::map<std::string, std::uint64_t>& counts) {
    std::string out = "{";
    for (const auto& [reason, count] : counts) {
        append(out, "%s\"%s\":%" PRIu64, out.size() > 1 ? "," : "", reason.c_str(), count);
    }
    return out + "}";
}

void text_counts(std::string& out, const char* what,
                 const std::map<std::string, std::uint64_t>& counts) {
    for (const auto& [reason, count] : counts) {
        append(out, "    %s %s: %" PRIu64 "\n", what, reason.c_str(), count);
    }
}

}  // namespace

double accepted_per_sec(const LoadTotals& totals) {
    return per_sec(totals.accepted, totals.elapsed_s);
}

double refused_per_sec(const LoadTotals& totals) {
    return per_sec(totals.refused, totals.elapsed_s);
}

std::string load_report_json(const LoadPlan& plan, const LoadTotals& totals) {
    const LatencyHistogram& ack = totals.latency;
    const LatencyHistogram& refusal = totals.refused_latency;
    std::string out;
    append(out,
           "{\"orders\":%" PRIu64
           ",\"connections\":%u,\"rate\":%.0f,\"window\":%u,\"seed\":%" PRIu64
           ",\"id_base\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"accepted\":%" PRIu64
           ",\"rejected\":%" PRIu64 ",\"rejected_by_reason\":",
           plan.orders, plan.connections, plan.rate, plan.window, plan.seed, plan.id_base,
           totals.sent, totals.accepted, totals.rejected);
    out += json_counts(totals.rejected_by_reason);
    append(out, ",\"refused\":%" PRIu64 ",\"refused_by_reason\":", totals.refused);
    out += json_counts(totals.refused_by_reason);
    append(out,
           ",\"fills\":%" PRIu64 ",\"cancelled\":%" PRIu64
           ",\"elapsed_s\":%.3f,\"orders_per_sec\":%.0f,\"refused_per_sec\":%.0f",
           totals.fills, totals.cancelled, totals.elapsed_s, accepted_per_sec(totals),
           refused_per_sec(totals));
    append(out,
           ",\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f",
           micros(ack.percentile(0.50)), micros(ack.percentile(0.99)),
           micros(ack.percentile(0.999)), micros(ack.max()), ack.mean() / 1000.0);
    append(out, ",\"refused_p50_us\":%.1f,\"refused_p99_us\":%.1f",
           micros(refusal.percentile(0.50)), micros(refusal.percentile(0.99)));
    append(out, ",\"connection_lost\":%s,\"timed_out\":%s}\n",
           totals.connection_lost ? "true" : "false", totals.timed_out ? "true" : "false");
    return out;
}

std::string load_report_text(const LoadPlan& plan, const LoadTotals& totals) {
    std::string out;
    const std::string how =
        plan.rate > 0
            ? "open loop at " + std::to_string(static_cast<std::uint64_t>(plan.rate)) + " orders/s"
            : "closed loop, window " + std::to_string(plan.window);
    append(out, "load: %" PRIu64 " orders over %u connections to %s, %s, seed %" PRIu64 "\n",
           plan.orders, plan.connections, plan.target.c_str(), how.c_str(), plan.seed);
    append(out,
           "  sent %" PRIu64 ", accepted %" PRIu64 ", rejected %" PRIu64 ", refused %" PRIu64
           ", fills %" PRIu64 ", cancelled %" PRIu64 "\n",
           totals.sent, totals.accepted, totals.rejected, totals.refused, totals.fills,
           totals.cancelled);
    text_counts(out, "rejected", totals.rejected_by_reason);
    text_counts(out, "refused", totals.refused_by_reason);
    append(out, "  throughput: %.0f accepted orders/s (%.3f s)", accepted_per_sec(totals),
           totals.elapsed_s);
    if (totals.refused > 0) {
        append(out, ", and %.0f refused/s", refused_per_sec(totals));
    }
    out += "\n";
    const char* from = plan.rate > 0 ? " (from scheduled send time)" : "";
    const LatencyHistogram& ack = totals.latency;
    append(out,
           "  latency to the first reply of accepted orders%s: p50 %.1f us  p99 %.1f us  p99.9 "
           "%.1f us  max %.1f us\n",
           from, micros(ack.percentile(0.50)), micros(ack.percentile(0.99)),
           micros(ack.percentile(0.999)), micros(ack.max()));
    if (totals.refused > 0) {
        const LatencyHistogram& refusal = totals.refused_latency;
        append(out, "  latency to the refusal%s: p50 %.1f us  p99 %.1f us  max %.1f us\n", from,
               micros(refusal.percentile(0.50)), micros(refusal.percentile(0.99)),
               micros(refusal.max()));
    }
    return out;
}

}  // namespace exchanged::tools
