// The built exchangectl as a child process for tests: stdout and stderr each to a file, waited for
// with a deadline (SIGKILL after it), so a hung client fails the test instead of hanging ctest.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace exchanged::test {

class ExchangectlProcess {
  public:
    // Starts `exchangectl args...`; its outputs go to `<prefix>.out` and `<prefix>.err`.
    ExchangectlProcess(const std::vector<std::string>& args, const std::filesystem::path& prefix);
    ~ExchangectlProcess();
    ExchangectlProcess(const ExchangectlProcess&) = delete;
    ExchangectlProcess& operator=(const ExchangectlProcess&) = delete;

    // The exit code (128 + signal when killed); kills it first after `timeout_s`.
    int wait(int timeout_s = 60);
    std::string out() const;
    std::string err() const;

  private:
    std::filesystem::path out_;
    std::filesystem::path err_;
    pid_t pid_ = -1;
    int exit_code_ = -1;
};

struct CommandResult {
    int exit_code;
    std::string out;
    std::string err;
};

// Runs exchangectl to completion.
CommandResult run_exchangectl(const std::vector<std::string>& args,
                              const std::filesystem::path& prefix);

}  // namespace exchanged::test
