#include "ops/logging.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <spdlog/async_logger.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace exchanged::ops {
namespace {

constexpr const char* kLoggerName = "exchanged";
// Messages the async queue holds. At about 300 bytes a slot this is a few MB, allocated once;
// beyond it the oldest message is dropped.
constexpr std::size_t kAsyncQueueMessages = 8192;
constexpr const char* kTimestampedPattern = "%Y-%m-%dT%H:%M:%S.%e%z %-5l %n: %v";
constexpr const char* kJournalPattern = "%*%v";

// "<N>" with N the syslog priority of the message's level (sd-daemon(3)'s SD_ERR and friends).
class JournalPriorityFlag : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const std::string_view prefix = priority_prefix(msg.level);
        dest.append(prefix.data(), prefix.data() + prefix.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<JournalPriorityFlag>();
    }

  private:
    static std::string_view priority_prefix(spdlog::level::level_enum level) {
        switch (level) {
            case spdlog::level::critical:
                return "<2>";
            case spdlog::level::err:
                return "<3>";
            case spdlog::level::warn:
                return "<4>";
            case spdlog::level::info:
                return "<6>";
            default:
                return "<7>";
        }
    }
};

std::unique_ptr<spdlog::formatter> make_formatter(bool journal) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    if (journal) {
        formatter->add_flag<JournalPriorityFlag>('*').set_pattern(kJournalPattern);
    } else {
        formatter->set_pattern(kTimestampedPattern);
    }
    return formatter;
}

spdlog::sink_ptr make_stderr_sink() {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    sink->set_formatter(make_formatter(stderr_is_journal()));
    return sink;
}

spdlog::level::level_enum to_spdlog(LogLevel level) {
    switch (level) {
        case LogLevel::Trace:
            return spdlog::level::trace;
        case LogLevel::Debug:
            return spdlog::level::debug;
        case LogLevel::Info:
            return spdlog::level::info;
        case LogLevel::Warn:
            return spdlog::level::warn;
        case LogLevel::Error:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

// What configure_logging set up, so that stop_logging can drain it and keep writing to the same
// place.
struct LogState {
    std::mutex mutex;
    spdlog::sink_ptr sink;
    bool to_file = false;
    spdlog::level::level_enum level = spdlog::level::info;
    std::shared_ptr<spdlog::details::thread_pool> pool;
    std::uint64_t dropped_before_stop = 0;
    std::shared_ptr<spdlog::logger> milestones;
    // spdlog::info() uses a raw pointer to the default logger, which another thread may hold
    // while it is replaced: replaced loggers are kept alive until exit.
    std::vector<std::shared_ptr<spdlog::logger>> retired;
};

LogState& state() {
    static LogState instance;
    return instance;
}

// Makes `logger` the default and a clone of it, at info, the milestone logger.
void install(LogState& s, std::shared_ptr<spdlog::logger> logger) {
    logger->flush_on(spdlog::level::err);
    std::shared_ptr<spdlog::logger> milestones = logger->clone(kLoggerName);
    milestones->set_level(spdlog::level::info);
    logger->set_level(s.level);
    if (std::shared_ptr<spdlog::logger> previous = spdlog::default_logger()) {
        s.retired.push_back(std::move(previous));
    }
    if (s.milestones) {
        s.retired.push_back(std::move(s.milestones));
    }
    s.milestones = std::move(milestones);
    spdlog::set_default_logger(std::move(logger));
}

void install_sync(LogState& s) {
    install(s, std::make_shared<spdlog::logger>(kLoggerName, s.sink));
}

}  // namespace

bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) {
        return false;
    }
    unsigned long long device = 0;
    unsigned long long inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) {
        return false;
    }
    struct stat info {};
    if (::fstat(STDERR_FILENO, &info) != 0) {
        return false;
    }
    return info.st_dev == device && info.st_ino == inode;
}

void start_stderr_logging() {
    LogState& s = state();
    const std::lock_guard lock(s.mutex);
    s.sink = make_stderr_sink();
    s.to_file = false;
    s.level = spdlog::level::info;
    install_sync(s);
}

void configure_logging(const LogOptions& options) {
    LogState& s = state();
    const std::lock_guard lock(s.mutex);
    if (options.file.empty()) {
        s.sink = make_stderr_sink();
        s.to_file = false;
    } else {
        try {
            s.sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file.string());
        } catch (const spdlog::spdlog_ex& error) {
            throw std::runtime_error("[logging] file: " + std::string(error.what()));
        }
        s.sink->set_formatter(make_formatter(false));
        s.to_file = true;
        // A file is not written line by line as stderr is; errors flush at once (flush_on).
        spdlog::flush_every(std::chrono::seconds(1));
    }
    s.level = to_spdlog(options.level);
    s.dropped_before_stop = 0;
    if (!options.async) {
        install_sync(s);
        return;
    }
    s.pool = std::make_shared<spdlog::details::thread_pool>(kAsyncQueueMessages, 1);
    install(s, std::make_shared<spdlog::async_logger>(
                   kLoggerName, s.sink, s.pool, spdlog::async_overflow_policy::overrun_oldest));
}

std::uint64_t dropped_log_messages() {
    LogState& s = state();
    const std::lock_guard lock(s.mutex);
    return s.pool ? s.pool->overrun_counter() : s.dropped_before_stop;
}

spdlog::logger& milestones() {
    LogState& s = state();
    const std::lock_guard lock(s.mutex);
    if (!s.milestones) {
        // Before start_stderr_logging: spdlog's own default, not yet replaced.
        s.milestones = spdlog::default_logger()->clone(kLoggerName);
    }
    return *s.milestones;
}

void stop_logging() {
    LogState& s = state();
    std::uint64_t dropped = 0;
    {
        const std::lock_guard lock(s.mutex);
        if (!s.sink) {
            return;
        }
        if (s.pool) {
            dropped = s.pool->overrun_counter();
            s.dropped_before_stop = dropped;
            // New lines go straight to the sink from now on; the pool's thread writes what is
            // queued and is joined when the last reference goes.
            install_sync(s);
            s.pool.reset();
        }
    }
    if (dropped > 0) {
        spdlog::warn("log: {} messages dropped because the async queue was full", dropped);
    }
    spdlog::default_logger()->flush();
}

void log_fatal(std::string_view message) {
    spdlog::error("{}", message);
    stop_logging();
    bool to_file = false;
    {
        LogState& s = state();
        const std::lock_guard lock(s.mutex);
        to_file = s.to_file;
    }
    if (to_file) {
        spdlog::logger console(kLoggerName, make_stderr_sink());
        console.error("{}", message);
        console.flush();
    }
}

}  // namespace exchanged::ops
