// exchangectl's exit codes for the client commands (order, cancel, status, load, verify), listed
// in docs/tools.md so scripts can tell a refusal from a lost daemon from a slow one.
#pragma once

namespace exchanged::tools {

inline constexpr int kExitOk = 0;
// The daemon refused (Rejected, LoginRejected, not found), verify found failures, or the command
// could not start (no profile, cannot connect).
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;  // bad flags; from exchangectl's main
// An established session went away: closed, reset or ended with Goodbye (the daemon was killed).
inline constexpr int kExitConnectionLost = 3;
inline constexpr int kExitTimeout = 4;  // a reply did not come in time

}  // namespace exchanged::tools
