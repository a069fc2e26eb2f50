// The report of `exchangectl load`: the text an operator reads and the one-line JSON object scripts
// parse (docs/tools.md lists the keys). Throughput and ack latency count accepted orders only;
// refusals (load_generator.hpp, is_refusal) have their own count, rate and latency.
#pragma once

#include <string>

#include "tools/client/load_generator.hpp"

namespace exchanged::tools {

// Accepted orders over the time from the start to the last first reply; 0 when nothing came.
double accepted_per_sec(const LoadTotals& totals);
double refused_per_sec(const LoadTotals& totals);

// One JSON object on one line, newline included.
std::string load_report_json(const LoadPlan& plan, const LoadTotals& totals);
std::string load_report_text(const LoadPlan& plan, const LoadTotals& totals);

}  // namespace exchanged::tools
