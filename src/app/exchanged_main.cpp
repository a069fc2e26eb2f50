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

#include <signal.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "common/cli_args.hpp"
#include "engine/config.hpp"
#include "engine/config_summary.hpp"
#include "engine/recovery.hpp"
#include "engine/service/order_service.hpp"
#include "engine/shard.hpp"
#include "engine/shard_layout.hpp"
#include "engine/shutdown_signal.hpp"
#include "engine/startup.hpp"
#include "net/gateway.hpp"
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
    return engine::load_config(*path, overrides);
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
        std::fprintf(stderr, "exchanged: recover: %llu records replayed (LSN %llu), %.1f s\n",
                     static_cast<unsigned long long>(progress.records),
                     static_cast<unsigned long long>(progress.lsn),
                     std::chrono::duration<double>(progress.elapsed).count());
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

void print_ready(const engine::Config& config, const std::string& wal_state) {
    std::fprintf(stderr,
                 "exchanged: ready: profile=%s instruments=%zu accounts=%zu data_dir=%s shards=%u "
                 "%s\n",
                 config.profile.c_str(), config.instruments.size(), config.accounts.size(),
                 config.server.data_dir.c_str(), config.server.shards, wal_state.c_str());
}

// Waits for SIGINT or SIGTERM, then runs `close`, whose text ends the exit line.
template <typename Close>
int wait_and_exit(Close&& close) {
    const int signal_number = engine::wait_for_shutdown_signal();
    const std::string closed = close();
    std::fprintf(stderr, "exchanged: %s received; clean exit%s\n",
                 signal_number == SIGINT ? "SIGINT" : "SIGTERM", closed.c_str());
    return 0;
}

int serve_without_wal(const engine::Config& config, const engine::ShardLayout& layout) {
    std::vector<exchanged::book::Matcher> matchers;
    for (engine::ShardId shard = 0; shard < layout.shard_count; ++shard) {
        matchers.push_back(layout.make_matcher(shard));
    }
    std::fprintf(stderr, "exchanged: nothing to recover (enable_wal = false)\n");
    print_ready(config, "wal=off (no gateway: serving without a WAL is not built yet)");
    return wait_and_exit([] { return std::string(); });
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
            threads_.emplace_back([this] { io_.run(); });
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

int serve(const engine::Config& config, bool salvage) {
    create_data_dir(config.server.data_dir);
    const engine::ShardLayout layout = engine::make_shard_layout(config);
    if (!config.persistence.enable_wal) {
        return serve_without_wal(config, layout);
    }
    engine::RecoveryResult recovered = replay(config, layout, salvage);
    if (!recovered.ok()) {
        std::fprintf(stderr, "exchanged: recovery failed; not starting\n%s",
                     engine::describe(recovered, layout).c_str());
        return 1;
    }
    std::fprintf(stderr, "exchanged: recovered %llu records (log %s) in %.3f s\n",
                 static_cast<unsigned long long>(recovered.records),
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
        std::fprintf(stderr, "exchanged: WAL failed: %s; refusing orders and exiting\n",
                     error.c_str());
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
    std::vector<engine::Shard> shards;
    shards.reserve(layout.shard_count);
    for (engine::ShardId id = 0; id < layout.shard_count; ++id) {
        const engine::ShardOptions options{id, engine::checkpoint_every(config),
                                           recovered.shards[id].next_seq};
        shards.emplace_back(std::move(recovered.matchers[id]), writer, options);
    }

    engine::OrderService service(config, layout, shards, writer);
    boost::asio::io_context io;
    exchanged::net::Gateway gateway(
        io, exchanged::net::gateway_options(config.server, config.accounts), service);
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
    print_ready(config, "next_lsn=" + std::to_string(recovered.next_lsn) +
                            " listen=" + engine::to_string(bound));

    const int signal_number = engine::wait_for_shutdown_signal();
    const bool failed = g_wal_failed.load(std::memory_order_acquire);
    // Stop taking orders, let the shards finish what is queued, make it durable, send the acks
    // it covers, and only then end the sessions, so that a clean stop loses no reply.
    service.stop_accepting();
    service.drain_and_join();
    writer.close();  // commits whatever was handed over, then stops the writer thread
    durable_listener.store(nullptr, std::memory_order_release);
    service.release_remaining();
    gateway.stop();
    io_threads.join();
    if (failed) {
        std::fprintf(stderr, "exchanged: exiting after a WAL failure: %s\n",
                     writer.failure().c_str());
        return 1;
    }
    std::fprintf(stderr, "exchanged: %s received; clean exit (WAL closed at durable LSN %llu)\n",
                 signal_number == SIGINT ? "SIGINT" : "SIGTERM",
                 static_cast<unsigned long long>(writer.durable_lsn()));
    return 0;
}

int run(int argc, char** argv) {
    // Before any thread exists, so that every later thread inherits the mask.
    engine::block_shutdown_signals();
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
        return run(argc, argv);
    } catch (const CliError& error) {
        std::fprintf(stderr, "exchanged: error: %s\n", error.what());
        print_usage(stderr);
        return 2;
    } catch (const engine::ConfigError& error) {
        std::fprintf(stderr, "exchanged: error: %s\n", error.what());
        return 2;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "exchanged: error: %s\n", error.what());
        return 1;
    }
}
