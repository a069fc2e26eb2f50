// One named check of `exchangectl reconcile`: how many things it compared and what it found
// wrong. Only the first kShownProblems problems are kept as text, so a store that differs from
// the replay in every row reports a count and a sample instead of a million lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace exchanged::tools {

class CheckResult {
  public:
    static constexpr std::size_t kShownProblems = 20;

    explicit CheckResult(std::string name);

    void pass(std::uint64_t count = 1) { passed_ += count; }
    void fail(std::string problem);
    // The check could not run here; a skipped check does not fail the run.
    void skip(std::string why);
    // Replaces "N checked" in the PASS line, e.g. with what was compared.
    void set_detail(std::string detail) { detail_ = std::move(detail); }

    const std::string& name() const { return name_; }
    bool ok() const { return failed_ == 0; }
    bool skipped() const { return !skipped_because_.empty(); }
    std::uint64_t passed() const { return passed_; }
    std::uint64_t failed() const { return failed_; }
    const std::vector<std::string>& shown_problems() const { return shown_; }

    // `name: PASS (detail)`, `name: skipped, why`, or `name: FAIL (M of N failed)` followed by
    // one `  - problem` line per shown problem and `  ... and K more`; each line ends in '\n'.
    std::string report() const;

  private:
    std::string name_;
    std::string detail_;
    std::string skipped_because_;
    std::uint64_t passed_ = 0;
    std::uint64_t failed_ = 0;
    std::vector<std::string> shown_;
};

}  // namespace exchanged::tools
