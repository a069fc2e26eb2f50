// Waiting for SIGINT or SIGTERM, or for the pipeline to ask for a stop, without a busy loop. The
// signals are blocked in every thread (call block_shutdown_signals() before starting any) and read
// from a signalfd, so no code runs in signal-handler context and the pipeline never has to signal
// its own process.
#pragma once

namespace exchanged::app {

// Blocks SIGINT and SIGTERM in the calling thread; threads started later inherit the mask.
void block_shutdown_signals();

// Returns the signal number once SIGINT or SIGTERM arrives, or 0 once `wake_fd` (an eventfd, see
// service::Shutdown) becomes readable.
int wait_for_shutdown(int wake_fd);
// The same with a second eventfd (-1: none), e.g. a follower told to lead: 0 once either fires.
int wait_for_shutdown(int wake_fd, int other_fd);
// SIGINT or SIGTERM if one arrived and nobody waited for it yet (it is taken), else 0. For the
// points between two runs in one process (a leader stepping down to follow): a signal that came
// while one run stopped ends the process there instead of after the next run started.
int take_pending_shutdown();

}  // namespace exchanged::app
