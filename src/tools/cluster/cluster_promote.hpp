// `exchangectl cluster promote NODE --config a.ini,b.ini,c.ini` (docs/replication.md: Promotion):
// the candidate may lead epoch E (1 + the highest epoch any reachable node reports) only after a
// majority, itself included, has promised E and reported its log, and only if it holds the longest
// of those logs. The deciding is apart from the HTTP so that it can be tested on synthetic answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace exchanged::tools {

// One node's answer to POST /replication/promise (`durable_lsn=.. last_epoch=.. node=..`).
struct PromiseAnswer {
    std::uint32_t node = 0;
    bool promised = false;
    std::uint64_t durable_lsn = 0;
    std::uint64_t last_epoch = 0;
    std::string error;  // why not: unreachable, or its refusal
};

// Throws std::runtime_error naming the text when a field is missing.
PromiseAnswer parse_promise_answer(std::uint32_t node, const std::string& body);

struct PromoteDecision {
    bool go = false;
    std::string text;  // why not (or the longest log's holder when go)
    // go, but the candidate first fetches the records above its durable LSN up to `fetch_to`
    // from node `fetch_from` (0: nothing to fetch). Only within one epoch: there the shorter log
    // is a prefix of the longer one.
    std::uint32_t fetch_from = 0;
    std::uint64_t fetch_to = 0;
};

// Majority = factor/2+1 of `answers.size()` nodes. `ignore_longest`: the planted fault
// promote_any_log (a candidate leads without the longest log), for the test that must catch it.
PromoteDecision decide_promotion(std::uint32_t candidate, std::uint64_t epoch,
                                 const std::vector<PromiseAnswer>& answers, bool ignore_longest);

int cluster_promote_main(int argc, char** argv, int first);

}  // namespace exchanged::tools
