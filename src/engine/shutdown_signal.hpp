// Waiting for SIGINT or SIGTERM without a busy loop. The signals are blocked in every thread (call
// block_shutdown_signals() before starting any) and taken synchronously with sigwait, so no code
// runs in signal-handler context.
#pragma once

namespace exchanged::engine {

// Blocks SIGINT and SIGTERM in the calling thread; threads started later inherit the mask.
void block_shutdown_signals();

// Returns the signal number once SIGINT or SIGTERM arrives.
int wait_for_shutdown_signal();

}  // namespace exchanged::engine
