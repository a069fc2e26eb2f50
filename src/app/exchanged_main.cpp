// exchanged: the exchange daemon. It loads and checks a profile, recovers the books by replaying
// the WAL (design §4), opens the WAL for appending, starts one thread per shard and the network
// gateway, and serves until SIGINT/SIGTERM. `--recover` only replays and reports.
// Exit codes: 0 clean, 1 runtime failure (a corrupt log, a checkpoint mismatch, a WAL failure
// while serving), 2 configuration or usage error.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "common/cli_args.hpp"
#include "engine/command_log.hpp"
#include "engine/config.hpp"
#include "engine/config_summary.hpp"
#include "engine/recovery.hpp"
#include "engine/service/order_service.hpp"
#include "engine/shard.hpp"
#include "engine/shard_layout.hpp"
#include "engine/shutdown_signal.hpp"
#include "engine/startup.hpp"
#include "net/gateway.hpp"
#include "ops/logging.hpp"
#include "ops/service_notifier.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"

namespace {

using exchanged::CliArgs;
using exchanged::CliError;
using exchanged::CliOption;
namespace engine = exchanged::engine;
namespace wal = exchanged::wal;

constexpr CliOption kOptions[] = {
    {"config", true},   {"data-dir", true}, {"listen", true}, {"check-config", false},
    {"recover", false}, {"salvage", false}, {"help", false},
};

constexpr std::string_view kUsage =
    "usage: exchanged --config FILE [--data-dir DIR] [--listen HOST:PORT] [--check-config] "
    "[--recover] [--salvage] [--help]\n";

void print_usage(std::FILE* out) {
    std::fprintf(out, "%.*s", static_cast<int>(kUsage.size()), kUsage.data());
}

// With no WAL nothing can ever be durable until the store exists, so an ack point beyond `match`
// for every order is refused at start-up; critical orders alone are refused per order (see
// ShardRunner), which keeps the shipped hft profile serving.
void check_reachable_ack_points(const engine::Config& config) {
    if (config.persistence.enable_wal || config.persistence.ack_after == engine::AckPoint::Match) {
        return;
    }
    throw engine::ConfigError(
        config.source_path + ": [persistence] ack_after = " +
            std::string(engine::to_string(config.persistence.ack_after)) +
            " cannot be served with enable_wal = false until the store is built: nothing would "
            "ever be acknowledged",
        config.source_path, 0, "persistence", "ack_after");
}

engine::Config load_from_args(const CliArgs& args) {
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional().front() + "'");
    }
    if (args.has("check-config") && args.has("recover")) {
        throw CliError("--check-config and --recover exclude each other");
    }
    const auto path = args.text("config");
    if (!path) {
        throw CliError("--config FILE is required");
    }
    engine::ConfigOverrides overrides;
    overrides.data_dir = args.text("data-dir");
    overrides.listen = args.text("listen");
    engine::Config config = engine::load_config(*path, overrides);
    check_reachable_ack_points(config);
    return config;
}

int check_config(const engine::Config& config) {
    std::printf("exchanged: config ok: %s\n%s", config.source_path.c_str(),
                engine::describe_config(config).c_str());
    return 0;
}

// Replays the WAL, with a progress line on stderr about every second of a long replay.
engine::RecoveryResult replay(const engine::Config& config, const engine::ShardLayout& layout,
                              bool salvage) {
    engine::RecoveryOptions options;
    options.salvage = salvage;
    options.on_progress = [](const engine::RecoveryProgress& progress) {
        const std::string line =
            fmt::format("recover: {} records replayed (LSN {}), {:.1f} s", progress.records,
                        progress.lsn, std::chrono::duration<double>(progress.elapsed).count());
        exchanged::ops::log_milestone("{}", line);
        // For `systemctl status`; while progress comes, systemd's start timeout keeps extending.
        exchanged::ops::service_notifier().progress(line, std::chrono::seconds(60));
    };
    try {
        return engine::recover(config.persistence.wal_path, layout, options);
    } catch (const std::invalid_argument& error) {
        // The loader checks what the matcher checks, so this means the two drifted apart.
        throw engine::ConfigError(config.source_path + ": " + error.what(), config.source_path, 0,
                                  "", "");
    }
}

int recover(const engine::Config& config, bool salvage) {
    if (!config.persistence.enable_wal) {
        std::printf(
            "exchanged: recover: profile=%s: nothing to recover (enable_wal = false: the "
            "profile keeps no WAL)\n",
            config.profile.c_str());
        return 0;
    }
    const engine::ShardLayout layout = engine::make_shard_layout(config);
    const engine::RecoveryResult result = replay(config, layout, salvage);
    std::printf("exchanged: recover: profile=%s wal=%s\n%s", config.profile.c_str(),
                config.persistence.wal_path.c_str(), engine::describe(result, layout).c_str());
    if (result.ok() && result.records == 0 && result.log.end == wal::LogEnd::Clean) {
        std::printf("exchanged: recover: nothing to recover yet (the WAL holds no records)\n");
    }
    if (!result.ok()) {
        std::printf("exchanged: recover: FAILED (%s)%s\n", engine::to_string(result.status),
                    result.status == engine::RecoveryStatus::Corrupt
                        ? "; --salvage skips the damage, losing the records in it"
                        : "");
        return 1;
    }
    std::printf("exchanged: recover: ok\n");
    return 0;
}

void create_data_dir(const std::filesystem::path& dir) {
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) {
        throw std::runtime_error("cannot create data_dir " + dir.string() + ": " + error.message());
    }
}

// Logs the ready line and tells the service manager (systemd Type=notify) the same.
void print_ready(const engine::Config& config, const std::string& wal_state) {
    const std::string line =
        fmt::format("ready: profile={} instruments={} accounts={} data_dir={} shards={} {}",
                    config.profile, config.instruments.size(), config.accounts.size(),
                    config.server.data_dir.string(), config.server.shards, wal_state);
    exchanged::ops::log_milestone("{}", line);
    exchanged::ops::service_notifier().ready(line);
}

// Set by the WAL writer's failure callback; the main thread reads it once the signal it raises
// wakes it.
std::atomic<bool> g_wal_failed{false};

// The gateway's io threads, joined on destruction after the gateway stopped.
class IoThreads {
  public:
    IoThreads(boost::asio::io_context& io, std::uint32_t count)
        : io_(io), guard_(boost::asio::make_work_guard(io)) {
        for (std::uint32_t i = 0; i < count; ++i) {
            threads_.emplace_back([this, i] {
                const std::string name = "io-" + std::to_string(i);
                pthread_setname_np(pthread_self(), name.c_str());
                io_.run();
            });
        }
    }
    ~IoThreads() { join(); }
    // Lets the context run out of work (the gateway must be stopped), then joins.
    void join() {
        guard_.reset();
        for (std::thread& thread : threads_) {
            if (thread.joinable()) {
                thread.join();
            }
        }
    }

  private:
    boost::asio::io_context& io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
    std::vector<std::thread> threads_;
};

// The books and the log to serve from: the shards, the log they append to, and the WAL writer
// behind that log (null without a WAL).
struct Serving {
    const engine::ShardLayout& layout;
    std::vector<engine::Shard>& shards;
    const engine::CommandLog& log;
    wal::WalWriter* writer;
    std::string ready_text;
};

// Runs the order service and the gateway until SIGINT/SIGTERM (or a WAL failure), then drains.
int run_service(const engine::Config& config, const Serving& serving,
                std::atomic<engine::OrderService*>& durable_listener) {
    engine::OrderService service(config, serving.layout, serving.shards, serving.log);
    boost::asio::io_context io;
    exchanged::net::GatewayOptions gateway_opts =
        exchanged::net::gateway_options(config.server, config.accounts);
    gateway_opts.log = [](std::string_view line) { spdlog::info("gateway: {}", line); };
    exchanged::net::Gateway gateway(io, std::move(gateway_opts), service);
    service.set_gateway(&gateway);
    durable_listener.store(&service, std::memory_order_release);
    // On every way out, before the service goes, so that the writer's last callbacks (it commits
    // on close) cannot reach a destroyed service.
    struct ListenerReset {
        std::atomic<engine::OrderService*>& listener;
        ~ListenerReset() { listener.store(nullptr, std::memory_order_release); }
    } listener_reset{durable_listener};
    service.start();
    gateway.start();  // throws (exit 1) when the address cannot be bound
    IoThreads io_threads(io, config.server.io_threads);

    const engine::Endpoint bound{config.server.listen.host, gateway.port()};
    print_ready(config, serving.ready_text + " listen=" + engine::to_string(bound));

    const int signal_number = engine::wait_for_shutdown_signal();
    exchanged::ops::service_notifier().stopping(
        signal_number == SIGINT ? "stopping: SIGINT received" : "stopping: SIGTERM received");
    const bool failed = g_wal_failed.load(std::memory_order_acquire);
    // Stop taking orders, let the shards finish what is queued, make it durable, send the acks
    // it covers, and only then end the sessions, so that a clean stop loses no reply.
    service.stop_accepting();
    service.drain_and_join();
    if (serving.writer != nullptr) {
        serving.writer->close();  // commits whatever was handed over, then stops the writer
    }
    durable_listener.store(nullptr, std::memory_order_release);
    service.release_remaining();
    gateway.stop();
    io_threads.join();
    if (failed) {
        spdlog::error("exiting after a WAL failure: {}", serving.writer->failure());
        return 1;
    }
    const std::string closed =
        serving.writer == nullptr
            ? std::string("no WAL")
            : "WAL closed at durable LSN " + std::to_string(serving.writer->durable_lsn());
    exchanged::ops::log_milestone("{} received; clean exit ({})",
                                  signal_number == SIGINT ? "SIGINT" : "SIGTERM", closed);
    return 0;
}

// enable_wal = false (hft): empty books, and a log that numbers commands but keeps nothing.
int serve_without_wal(const engine::Config& config, const engine::ShardLayout& layout) {
    engine::UnloggedCommandLog log;
    std::vector<engine::Shard> shards;
    shards.reserve(layout.shard_count);
    for (engine::ShardId id = 0; id < layout.shard_count; ++id) {
        shards.emplace_back(layout.make_matcher(id), log, engine::ShardOptions{id, 0, 1});
    }
    exchanged::ops::log_milestone(
        "no WAL (enable_wal = false): starting with empty books; nothing is durable until the "
        "store exists");
    if (config.critical_ack_after() != engine::AckPoint::Match) {
        const exchanged::Quantity threshold = config.safety.critical_order_threshold;
        const std::string above =
            threshold > 0 ? " and orders above quantity " + std::to_string(threshold) : "";
        spdlog::warn(
            "critical orders (liquidations{}) wait for the store, which is not built yet: they "
            "are refused as unavailable",
            above);
    }
    std::atomic<engine::OrderService*> no_listener{nullptr};
    return run_service(config, Serving{layout, shards, log, nullptr, "wal=off"}, no_listener);
}

int serve(const engine::Config& config, bool salvage) {
    create_data_dir(config.server.data_dir);
    exchanged::ops::configure_logging(config.logging);  // a relative file is in data_dir
    check_reachable_ack_points(config);
    const engine::ShardLayout layout = engine::make_shard_layout(config);
    if (!config.persistence.enable_wal) {
        return serve_without_wal(config, layout);
    }
    engine::RecoveryResult recovered = replay(config, layout, salvage);
    if (!recovered.ok()) {
        std::string report = engine::describe(recovered, layout);
        if (!report.empty() && report.back() == '\n') {
            report.pop_back();  // the log adds its own
        }
        spdlog::error("recovery failed; not starting\n{}", report);
        return 1;
    }
    exchanged::ops::log_milestone("recovered {} records (log {}) in {:.3f} s", recovered.records,
                                  wal::to_string(recovered.log.end),
                                  std::chrono::duration<double>(recovered.elapsed).count());

    // The WAL calls back into the service, which exists only after the writer: through this.
    std::atomic<engine::OrderService*> durable_listener{nullptr};
    wal::WalOptions wal_opts = engine::wal_options(config, salvage);
    wal_opts.on_durable = [&durable_listener](wal::Lsn) {
        if (engine::OrderService* service = durable_listener.load(std::memory_order_acquire)) {
            service->notify_durable();
        }
    };
    wal_opts.on_failed = [&durable_listener](const std::string& error) {
        // Fatal (design §3): new orders are refused from now on (the service checks the WAL's
        // state), and the main thread is woken to shut down with a non-zero exit.
        spdlog::error("WAL failed: {}; refusing orders and exiting", error);
        g_wal_failed.store(true, std::memory_order_release);
        if (engine::OrderService* service = durable_listener.load(std::memory_order_acquire)) {
            service->stop_accepting();
            service->notify_durable();  // shard threads drop what can no longer be acknowledged
        }
        ::kill(::getpid(), SIGTERM);
    };

    // The writer opens the log only now: it truncates the torn tail recovery reported.
    create_data_dir(config.persistence.wal_path.parent_path());
    wal::UringStorage storage(config.persistence.wal_path.string());
    wal::WalWriter writer(storage, wal_opts);
    if (writer.next_lsn() != recovered.next_lsn) {
        throw std::runtime_error("the WAL changed during recovery: replay ended before LSN " +
                                 std::to_string(recovered.next_lsn) + ", the writer opened at " +
                                 std::to_string(writer.next_lsn()));
    }
    engine::WalCommandLog log(writer);
    std::vector<engine::Shard> shards;
    shards.reserve(layout.shard_count);
    for (engine::ShardId id = 0; id < layout.shard_count; ++id) {
        const engine::ShardOptions options{id, engine::checkpoint_every(config),
                                           recovered.shards[id].next_seq};
        shards.emplace_back(std::move(recovered.matchers[id]), log, options);
    }
    return run_service(
        config,
        Serving{layout, shards, log, &writer, "next_lsn=" + std::to_string(recovered.next_lsn)},
        durable_listener);
}

int run(int argc, char** argv) {
    // Before any thread exists, so that every later thread inherits the mask.
    engine::block_shutdown_signals();
    exchanged::ops::start_stderr_logging();  // until serve() applies [logging]
    const CliArgs args = CliArgs::parse(argc, argv, 1, kOptions);
    if (args.has("help")) {
        print_usage(stdout);
        return 0;
    }
    const engine::Config config = load_from_args(args);
    if (args.has("check-config")) {
        return check_config(config);
    }
    if (args.has("recover")) {
        return recover(config, args.has("salvage"));
    }
    return serve(config, args.has("salvage"));
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const int exit_code = run(argc, argv);
        exchanged::ops::stop_logging();  // writes out what the async queue still holds
        return exit_code;
    } catch (const CliError& error) {
        // An answer to the command line, like the usage text after it: not a log line.
        exchanged::ops::stop_logging();
        std::fprintf(stderr, "exchanged: error: %s\n", error.what());
        print_usage(stderr);
        return 2;
    } catch (const engine::ConfigError& error) {
        exchanged::ops::log_fatal(std::string("error: ") + error.what());
        return 2;
    } catch (const std::exception& error) {
        exchanged::ops::log_fatal(std::string("error: ") + error.what());
        return 1;
    }
}
