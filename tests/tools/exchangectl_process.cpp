#include "exchangectl_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "daemon_process.hpp"

extern char** environ;

namespace exchanged::test {
namespace {

const std::string kExchangectl = std::string(EXCHANGED_BIN_DIR) + "/exchangectl";

int exit_code_of(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

ExchangectlProcess::ExchangectlProcess(const std::vector<std::string>& args,
                                       const std::filesystem::path& prefix)
    : out_(prefix.string() + ".out"), err_(prefix.string() + ".err") {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> all = {kExchangectl};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : all) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    const int spawned =
        posix_spawn(&pid_, kExchangectl.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(spawned == 0);
}

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
