// The daemon's log set up from [logging]: the timestamped pattern in a file, levels, the async
// queue drained on stop, the journal's priority prefix on stderr, and fatal errors reaching
// stderr even when the log is a file.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <spdlog/spdlog.h>

#include "ops/logging.hpp"
#include "temp_file.hpp"

using LoggingConfig = exchanged::LogOptions;
using exchanged::LogLevel;
using exchanged::test::TempDir;
namespace ops = exchanged::ops;

namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Points fd 2 at a file for the object's lifetime; `stream()` is the device:inode pair systemd
// would put in JOURNAL_STREAM for it.
class StderrCapture {
  public:
    explicit StderrCapture(std::filesystem::path path) : path_(std::move(path)) {
        std::fflush(stderr);
        saved_ = ::dup(STDERR_FILENO);
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        REQUIRE(fd >= 0);
        REQUIRE(::dup2(fd, STDERR_FILENO) == STDERR_FILENO);
        ::close(fd);
    }
    ~StderrCapture() {
        std::fflush(stderr);
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
    }
    std::string stream() const {
        struct stat info {};
        REQUIRE(::fstat(STDERR_FILENO, &info) == 0);
        return std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
    }
    std::string text() const {
        std::fflush(stderr);
        return read_file(path_);
    }

  private:
    std::filesystem::path path_;
    int saved_ = -1;
};

// Every test leaves the process logging synchronously to stderr, as a fresh daemon does.
struct RestoreLogging {
    ~RestoreLogging() {
        ops::stop_logging();
        ::unsetenv("JOURNAL_STREAM");
        ops::start_stderr_logging();
    }
};

LoggingConfig file_config(const std::filesystem::path& file, LogLevel level, bool async) {
    LoggingConfig config;
    config.level = level;
    config.file = file;
    config.async = async;
    return config;
}

}  // namespace

TEST_CASE("logging to a file: ISO timestamp, level, name, message", "[ops][logging]") {
    const RestoreLogging restore;
    const TempDir dir;
    const auto file = dir.path() / "logs" / "exchanged.log";
    ops::configure_logging(file_config(file, LogLevel::Info, false));
    spdlog::info("ready: profile={}", "standard");
    spdlog::debug("below the level");
    ops::stop_logging();

    const std::string text = read_file(file);
    INFO(text);
    CHECK(std::regex_match(text, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d )"
                                            R"(info  exchanged: ready: profile=standard\n)")));
}

TEST_CASE("async logging writes everything queued by the time stop_logging returns",
          "[ops][logging]") {
    const RestoreLogging restore;
    const TempDir dir;
    const auto file = dir.path() / "exchanged.log";
    ops::configure_logging(file_config(file, LogLevel::Warn, true));
    for (int i = 0; i < 1000; ++i) {
        spdlog::warn("line {}", i);
        spdlog::info("filtered {}", i);
    }
    CHECK(ops::dropped_log_messages() == 0);  // 2000 messages fit the queue
    ops::stop_logging();
    spdlog::warn("after stop");  // synchronous from now on, to the same file
    ops::stop_logging();

    const std::string text = read_file(file);
    CHECK(text.find("warning exchanged: line 0\n") != std::string::npos);
    CHECK(text.find("warning exchanged: line 999\n") != std::string::npos);
    CHECK(text.find("filtered") == std::string::npos);
    CHECK(text.find("line 999\n") < text.find("after stop"));
}

TEST_CASE("milestones are logged at info whatever [logging] level says", "[ops][logging]") {
    const RestoreLogging restore;
    const TempDir dir;
    const auto file = dir.path() / "exchanged.log";
    ops::configure_logging(file_config(file, LogLevel::Warn, true));
    spdlog::info("gateway: session closed");
    ops::log_milestone("ready: listen={}", "127.0.0.1:9100");
    ops::stop_logging();
    ops::log_milestone("SIGTERM received; clean exit");  // after the switch back to sync writes
    ops::stop_logging();

    const std::string text = read_file(file);
    CHECK(text.find("session closed") == std::string::npos);
    CHECK(text.find("info  exchanged: ready: listen=127.0.0.1:9100\n") != std::string::npos);
    CHECK(text.find("info  exchanged: SIGTERM received; clean exit\n") != std::string::npos);
}

TEST_CASE("on the journal's stream, lines carry a syslog priority and no timestamp",
          "[ops][logging]") {
    const RestoreLogging restore;
    const TempDir dir;
    const StderrCapture capture(dir.path() / "stderr.txt");
    REQUIRE(::setenv("JOURNAL_STREAM", capture.stream().c_str(), 1) == 0);
    CHECK(ops::stderr_is_journal());
    ops::configure_logging(LoggingConfig{LogLevel::Info, {}, true});
    spdlog::info("ready: listen=127.0.0.1:9100");
    spdlog::warn("slow");
    spdlog::error("WAL failed");
    ops::stop_logging();
    CHECK(capture.text() == "<6>ready: listen=127.0.0.1:9100\n<4>slow\n<3>WAL failed\n");
}

TEST_CASE("JOURNAL_STREAM naming another file is not the journal", "[ops][logging]") {
    const RestoreLogging restore;
    REQUIRE(::setenv("JOURNAL_STREAM", "1:2", 1) == 0);
    CHECK_FALSE(ops::stderr_is_journal());
    REQUIRE(::setenv("JOURNAL_STREAM", "garbage", 1) == 0);
    CHECK_FALSE(ops::stderr_is_journal());
    REQUIRE(::unsetenv("JOURNAL_STREAM") == 0);
    CHECK_FALSE(ops::stderr_is_journal());
}

TEST_CASE("a fatal error goes to the log file and to stderr", "[ops][logging]") {
    const RestoreLogging restore;
    const TempDir dir;
    const auto file = dir.path() / "exchanged.log";
    const StderrCapture capture(dir.path() / "stderr.txt");
    ops::configure_logging(file_config(file, LogLevel::Info, true));
    spdlog::info("serving");
    ops::log_fatal("error: cannot bind 127.0.0.1:9100");

    const std::string logged = read_file(file);
    CHECK(logged.find("info  exchanged: serving\n") != std::string::npos);
    CHECK(logged.find("error exchanged: error: cannot bind 127.0.0.1:9100\n") != std::string::npos);
    CHECK(capture.text().find("error exchanged: error: cannot bind 127.0.0.1:9100\n") !=
          std::string::npos);
}

TEST_CASE("a log file that cannot be opened is an error naming [logging] file", "[ops][logging]") {
    const RestoreLogging restore;
    const TempDir dir;
    const auto blocker = dir.write("not-a-dir", "");
    CHECK_THROWS_WITH(ops::configure_logging(file_config(std::filesystem::path(blocker) / "x.log",
                                                         LogLevel::Info, true)),
                      Catch::Contains("[logging] file"));
}
