// Tells the service manager how the daemon is doing (systemd's Type=notify): STATUS= lines while
// it recovers, READY=1 once it serves, STOPPING=1 when a shutdown begins. This is the sd_notify(3)
// datagram protocol, written here because libsystemd is not a dependency: one AF_UNIX datagram of
// newline-separated KEY=VALUE lines to the socket named by $NOTIFY_SOCKET, where a leading '@'
// names a socket in the abstract namespace. Without $NOTIFY_SOCKET every call does nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace exchanged::ops {

class ServiceNotifier {
  public:
    // Told about the first failure to send only: a notification is never worth more than one log
    // line, and never worth stopping the daemon.
    using ErrorReport = std::function<void(std::string_view error)>;

    // `socket_path` as $NOTIFY_SOCKET spells it; empty disables the notifier.
    ServiceNotifier(std::string socket_path, ErrorReport on_error);
    ServiceNotifier(const ServiceNotifier&) = delete;
    ServiceNotifier& operator=(const ServiceNotifier&) = delete;

    // Reads $NOTIFY_SOCKET now.
    static ServiceNotifier from_environment(ErrorReport on_error);

    bool enabled() const { return !socket_path_.empty(); }

    // "READY=1\nSTATUS=<status>".
    bool ready(std::string_view status);
    // "STOPPING=1\nSTATUS=<status>".
    bool stopping(std::string_view status);
    // "STATUS=<status>": free text that `systemctl status` shows.
    bool status(std::string_view status);
    // "STATUS=<status>\nEXTEND_TIMEOUT_USEC=<extension>": progress during start-up. Past the
    // unit's TimeoutStartSec the start fails only if no such message came within `extension`, so a
    // recovery that keeps making progress is never killed for taking long, and a stuck one is.
    bool progress(std::string_view status, std::chrono::microseconds extension);

    // Sends `state` as one datagram, as given. True when it was sent; false when disabled or
    // the send failed. Safe to call from any thread.
    bool notify(std::string_view state);

  private:
    void report_once(const std::string& error);

    std::string socket_path_;
    ErrorReport on_error_;
    std::atomic<bool> error_reported_{false};
};

// A status text fit for one STATUS= line: newlines become spaces.
std::string status_line(std::string_view text);

// The daemon's notifier, built from the environment on first use; failures are logged as
// warnings through the process logger (ops/logging.hpp).
ServiceNotifier& service_notifier();

}  // namespace exchanged::ops
