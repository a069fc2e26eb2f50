#include "tools/store/check_result.hpp"

#include <utility>

namespace exchanged::tools {

CheckResult::CheckResult(std::string name) : name_(std::move(name)) {}

void CheckResult::fail(std::string problem) {
    ++failed_;
    if (shown_.size() < kShownProblems) {
        shown_.push_back(std::move(problem));
    }
}

void CheckResult::skip(std::string why) {
    skipped_because_ = std::move(why);
}

std::string CheckResult::report() const {
    if (skipped() && ok()) {
        return name_ + ": skipped, " + skipped_because_ + "\n";
    }
    if (ok()) {
        return name_ + ": PASS (" +
               (detail_.empty() ? std::to_string(passed_) + " checked" : detail_) + ")\n";
    }
    std::string text = name_ + ": FAIL (" + std::to_string(failed_) + " of " +
                       std::to_string(failed_ + passed_) + " failed)\n";
    for (const std::string& problem : shown_) {
        text += "  - " + problem + "\n";
    }
    if (failed_ > shown_.size()) {
        text += "  ... and " + std::to_string(failed_ - shown_.size()) + " more\n";
    }
    return text;
}

}  // namespace exchanged::tools
