// Runs the built `exchanged` binary: --check-config on the shipped profiles and on a bad file,
// and a start that waits for SIGTERM.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "daemon_process.hpp"
#include "temp_file.hpp"

extern char** environ;

namespace {

const std::string kBinary = std::string(EXCHANGED_BIN_DIR) + "/exchanged";

std::string profile_path(const std::string& name) {
    return std::string(EXCHANGED_SOURCE_DIR) + "/config/" + name + ".ini";
}

struct Outcome {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

// Runs the daemon with `args`, reading its output until it exits or, when `until` appears, until
// then; `on_match` runs at that point (to signal the child).
Outcome run(const std::vector<std::string>& args, const std::string& until = {},
            void (*on_match)(pid_t) = nullptr) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<std::string> all = {kBinary};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : all) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, kBinary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    REQUIRE(spawned == 0);

    Outcome outcome;
    bool matched = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd pfd{fds[0], POLLIN, 0};
        if (::poll(&pfd, 1, 200) <= 0) {
            continue;
        }
        std::array<char, 4096> buffer;
        const ssize_t n = ::read(fds[0], buffer.data(), buffer.size());
        if (n <= 0) {
            break;
        }
        outcome.output.append(buffer.data(), static_cast<std::size_t>(n));
        if (!matched && !until.empty() && outcome.output.find(until) != std::string::npos) {
            matched = true;
            on_match(pid);
        }
    }
    ::close(fds[0]);
    if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return outcome;
}

}  // namespace

TEST_CASE("exchanged --check-config accepts every shipped profile", "[config][cli]") {
    for (const std::string name : {"standard", "hft", "regulatory"}) {
        INFO(name);
        const Outcome outcome = run({"--config", profile_path(name), "--check-config"});
        INFO(outcome.output);
        CHECK(outcome.exit_code == 0);
        CHECK(outcome.output.find("exchanged: config ok") != std::string::npos);
        CHECK(outcome.output.find("profile      " + name) != std::string::npos);
        CHECK(outcome.output.find("instruments  4: AMZN(1)") != std::string::npos);
        CHECK(outcome.output.find("accounts     3:") != std::string::npos);
        CHECK(outcome.output.find("demo-") == std::string::npos);  // secrets stay private
    }
}

TEST_CASE("exchanged --check-config refuses a bad file with exit code 2", "[config][cli]") {
    exchanged::test::TempDir dir;
    const std::string path = dir.write("bad.ini", "[server]\nio_threads = lots\n");
    const Outcome outcome = run({"--config", path, "--check-config"});
    INFO(outcome.output);
    CHECK(outcome.exit_code == 2);
    CHECK(outcome.output.find("exchanged: error: " + path +
                              ":2: [server] io_threads: 'lots' is not a whole number") !=
          std::string::npos);
}

TEST_CASE("exchanged refuses usage errors with exit code 2", "[config][cli]") {
    Outcome outcome = run({"--check-config"});
    CHECK(outcome.exit_code == 2);
    CHECK(outcome.output.find("exchanged: error: --config FILE is required") != std::string::npos);
    outcome = run({"--config", profile_path("standard"), "--bogus"});
    CHECK(outcome.exit_code == 2);
    CHECK(outcome.output.find("unknown option --bogus") != std::string::npos);
    outcome = run({"--config", profile_path("standard"), "--listen", "nowhere", "--check-config"});
    CHECK(outcome.exit_code == 2);
    CHECK(outcome.output.find("--listen: 'nowhere' is not HOST:PORT") != std::string::npos);
    outcome = run({"--help"});
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.output.find("usage: exchanged --config FILE") != std::string::npos);
}

TEST_CASE("exchanged --recover has nothing to recover yet", "[config][cli]") {
    exchanged::test::TempDir dir;
    const Outcome outcome =
        run({"--config", profile_path("standard"), "--data-dir", dir.path().string(), "--recover"});
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.output.find("nothing to recover yet") != std::string::npos);
}

TEST_CASE("exchanged starts, reports ready and exits 0 on SIGTERM", "[config][cli]") {
    exchanged::test::TempDir dir;
    const std::string data_dir = (dir.path() / "data").string();
    const std::string listen = "127.0.0.1:" + std::to_string(exchanged::test::free_port());
    const std::uint16_t admin_port = exchanged::test::free_port();
    const Outcome outcome =
        run({"--config", profile_path("standard"), "--data-dir", data_dir, "--listen", listen,
             "--admin-listen", "127.0.0.1:" + std::to_string(admin_port)},
            "exchanged: ready:", [](pid_t pid) { ::kill(pid, SIGTERM); });
    INFO(outcome.output);
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.output.find("admin=127.0.0.1:" + std::to_string(admin_port)) !=
          std::string::npos);
    CHECK(outcome.output.find("ready: profile=standard instruments=4 accounts=3 data_dir=" +
                              data_dir) != std::string::npos);
    CHECK(outcome.output.find("SIGTERM received; clean exit") != std::string::npos);
    CHECK(std::filesystem::is_directory(data_dir));
}
