// The last line of a checking command (`store verify`, `reconcile`), which scripts read: `NAME:
// PASS` or `NAME: FAIL ...`. A failure to run the check at all (no store, unreadable journal) is
// a FAIL too, with its reason on that line, rather than an error message a script must parse.
#pragma once

#include <functional>
#include <string>

namespace exchanged::tools {

// Returns run()'s exit code; when it throws (CliError aside, which stays a usage error), prints
// `NAME: FAIL (what)` and returns kExitRefused.
int run_to_verdict(const std::string& name, const std::function<int()>& run);

}  // namespace exchanged::tools
