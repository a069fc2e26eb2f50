// The replay of a LOBSTER day as a check of the matching core on real data (docs/matching.md,
// "Replaying LOBSTER data"): the converted commands are applied to a fresh matcher message by
// message; every visible execution of an order we know must trade against exactly that order, at
// its price, for its size, and nothing else may trade; with the orderbook file, our book (a subset
// of the real one) must never show a better price, or more size at the real best, than the real
// book did after the same message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/workloads/lobster.hpp"

namespace exchanged::tools::lobster {

struct ReplayCheck {
    std::size_t commands_applied = 0;
    std::uint64_t executions_checked = 0;     // visible executions of orders we know
    std::uint64_t execution_mismatches = 0;   // sweeps whose trades differ from the data
    std::uint64_t mismatched_executions = 0;  // the executions of those sweeps
    std::uint64_t unexpected_trades = 0;      // commands that are not executions but traded
    std::uint64_t top_violations = 0;         // our top better or deeper than the real one
    std::uint64_t rejected = 0;               // commands the book refused
    std::uint64_t trades = 0;
    std::uint64_t fills_expected = 0;  // distinct makers over all aggressors
    std::size_t max_resting = 0;       // the book's largest size during the day, in orders
    bool tops_checked = false;
    // The first problems, each naming the message file's line, at most kProblemsKept.
    std::vector<std::string> problems;

    static constexpr std::size_t kProblemsKept = 20;

    std::uint64_t failed() const {
        return execution_mismatches + unexpected_trades + top_violations + rejected;
    }
    // Executions that traded as the data says (a mismatched sweep counts each of its executions).
    std::uint64_t passed() const { return executions_checked - mismatched_executions; }
};

// `tops` may be null: then the top of book is not checked. It must have one row per message.
ReplayCheck check_replay(const std::vector<Message>& messages, const std::vector<TopOfBook>* tops,
                         const Conversion& conversion);

// What the conversion did and what the replay found, several lines, ending with
// "N passed, M failed".
void print_check(std::FILE* out, const std::string& title, const std::vector<Message>& messages,
                 const Conversion& conversion, const ReplayCheck& check);

}  // namespace exchanged::tools::lobster
