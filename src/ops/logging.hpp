// The daemon's log, through spdlog's default logger (call spdlog::info(...) and friends anywhere).
// Lines are plain text without colours. On a terminal or in a file each line starts with an ISO
// 8601 timestamp and the level; when stderr is the systemd journal, which timestamps lines itself,
// a line is only "<priority>text", the prefix journald reads as the line's syslog priority.
// With [logging] async a background thread writes the lines: a full queue drops the oldest
// message (counted) rather than make a matching or network thread wait.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/log_options.hpp"

namespace exchanged::ops {

// Synchronous, to stderr, level info: what the daemon uses before it has read its profile, and
// what the one-shot commands (--check-config, --recover) keep.
void start_stderr_logging();

// Applies [logging]: level, file (empty: stderr), async. Throws std::runtime_error when the file
// cannot be opened.
void configure_logging(const LogOptions& options);

// Writes what the async queue holds, flushes, and goes back to synchronous writes to the same
// place, so that later lines still appear. Logs a warning when messages were dropped. Idempotent.
void stop_logging();

// An error that ends the process: logged at error level, written out before this returns, and
// also written to stderr when the log is a file, so that whoever started the daemon sees it.
void log_fatal(std::string_view message);

// The logger for the daemon's milestones: recovery progress and result, ready, clean exit. It
// writes to the same place as the default logger but always at info, whatever [logging] level
// says, because an operator needs these lines with every profile (hft logs at warn).
spdlog::logger& milestones();

template <typename... Args>
void log_milestone(spdlog::format_string_t<Args...> format, Args&&... args) {
    milestones().info(format, std::forward<Args>(args)...);
}

// Messages the async queue dropped because it was full, since configure_logging.
std::uint64_t dropped_log_messages();

// True when stderr is the journal's stream: $JOURNAL_STREAM ("device:inode", set by systemd)
// names the file stderr is open on. Children that inherit the variable but not the stream get
// false.
bool stderr_is_journal();

}  // namespace exchanged::ops
