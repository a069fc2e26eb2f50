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
    if (pid_ > 0) {
        std::optional<int> code =
            reap_by(pid_, std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s));
        if (!code) {
            ::kill(pid_, SIGKILL);
            code = reap_by(pid_, std::chrono::steady_clock::time_point::max());
        }
        pid_ = -1;
        exit_code_ = *code;
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
