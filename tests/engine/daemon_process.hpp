// The built daemon as a child process whose stdout and stderr go to one file, for tests that start
// the real `exchanged`. Killed with SIGKILL if a test ends without stopping it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace exchanged::test {

class DaemonProcess {
  public:
    DaemonProcess(const std::vector<std::string>& args, std::filesystem::path output);
    ~DaemonProcess();
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    // True once `text` appears in the output (false after 60 s or when the daemon exited).
    bool await(const std::string& text);
    void signal(int number);
    // Waits for the exit and returns the exit code (128 + signal when killed).
    int wait();
    // The exit code once the daemon exits within `limit`; nullopt while it still runs.
    std::optional<int> wait_for(std::chrono::milliseconds limit);
    // SIGTERM, then wait().
    int stop();
    std::string output() const;
    pid_t pid() const { return pid_; }

  private:
    std::filesystem::path output_;
    pid_t pid_ = -1;
    int exit_code_ = -1;
};

// Waits until `pid` exits or `deadline` passes: its exit code (128 + signal when killed), or
// nullopt while it still runs.
std::optional<int> reap_by(pid_t pid, std::chrono::steady_clock::time_point deadline);

// Starts `binary args...` with stdout to `out` and stderr to `err` (the same file when equal).
pid_t spawn_child(const std::string& binary, const std::vector<std::string>& args,
                  const std::filesystem::path& out, const std::filesystem::path& err);

// A loopback port nothing listens on now (bind port 0, read it, close); the daemon binds it moments
// later. Tests pass it with --listen so that daemons started in parallel never share a port.
std::uint16_t free_port();

std::string read_text_file(const std::filesystem::path& path);

}  // namespace exchanged::test
