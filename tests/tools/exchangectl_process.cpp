#include "exchangectl_process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "daemon_process.hpp"

namespace exchanged::test {
namespace {

const std::string kExchangectl = std::string(EXCHANGED_BIN_DIR) + "/exchangectl";

int exit_code_of(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

ExchangectlProcess::ExchangectlProcess(const std::vector<std::string>& args,
                                       const std::filesystem::path& prefix)
    : out_(prefix.string() + ".out"),
      err_(prefix.string() + ".err"),
      pid_(spawn_child(kExchangectl, args, out_, err_)) {}

ExchangectlProcess::~ExchangectlProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

int ExchangectlProcess::wait(int timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (pid_ > 0) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            exit_code_ = exit_code_of(status);
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return exit_code_;
}

std::string ExchangectlProcess::out() const {
    return read_text_file(out_);
}

std::string ExchangectlProcess::err() const {
    return read_text_file(err_);
}

CommandResult run_exchangectl(const std::vector<std::string>& args,
                              const std::filesystem::path& prefix) {
    ExchangectlProcess process(args, prefix);
    const int code = process.wait();
    return CommandResult{code, process.out(), process.err()};
}

}  // namespace exchanged::test
