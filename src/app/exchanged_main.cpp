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
#include <memory>
#include <optional>
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

#include "app/daemon_metrics.hpp"
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
#include "engine/store_check.hpp"
#include "engine/store_frontier.hpp"
#include "engine/store_recovery.hpp"
#include "net/gateway.hpp"
#include "ops/logging.hpp"
#include "ops/service_notifier.hpp"
#include "store/event_feed.hpp"
#include "store/flush_worker.hpp"
#include "store/open_store.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"

namespace {

using exchanged::CliArgs;
using exchanged::CliError;
using exchanged::CliOption;
namespace engine = exchanged::engine;
namespace store = exchanged::store;
namespace wal = exchanged::wal;

constexpr CliOption kOptions[] = {
    {"config", true},        {"data-dir", true}, {"listen", true},   {"admin-listen", true},
    {"check-config", false}, {"recover", false}, {"salvage", false}, {"help", false},
};

constexpr std::string_view kUsage =
    "usage: exchanged --config FILE [--data-dir DIR] [--listen HOST:PORT] "
    "[--admin-listen HOST:PORT] [--check-config] [--recover] [--salvage] [--help]\n";

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
    overrides.admin_listen = args.text("admin-listen");
    return engine::load_config(*path, overrides);
}

int check_config(const engine::Config& config) {
    std::printf("exchanged: config ok: %s\n%s", config.source_path.c_str(),
                engine::describe_config(config).c_str());
    return 0;
}

void create_data_dir(const std::filesystem::path& dir);

// Opens and migrates the configured store. A store that cannot be opened stops start-up: recovery
// needs its state, and the flush worker its connection.
std::unique_ptr<store::Store> open_primary_store(const engine::Config& config) {
    if (config.persistence.store == engine::StoreKind::Sqlite) {
        create_data_dir(config.persistence.store_path.parent_path());
    }
    // Before anything reads the file: a damaged page would otherwise surface only when a query
    // happens to read it.
    const engine::StoreStartCheck check = engine::check_store_on_start(config);
    if (check.ran) {
        exchanged::ops::log_milestone("store check: {}: ok in {:.2f} s", check.what, check.seconds);
    }
    std::unique_ptr<store::Store> opened = store::open_store(engine::store_settings(config));
    exchanged::ops::log_milestone("store: {} at LSN {}", opened->describe(), opened->store_lsn());
    return opened;
}

// Loads the store's state and replays the WAL tail above it into the matchers and the store, with
// a progress line about every second of a long replay.
engine::StoreRecoveryResult replay(const engine::Config& config, const engine::ShardLayout& layout,
                                   store::Store& primary, bool salvage) {
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
        return engine::recover_from_store(primary, config.persistence.wal_path, layout, options);
    } catch (const std::invalid_argument& error) {
        // The loader checks what the matcher checks, so this means the two drifted apart.
        throw engine::ConfigError(config.source_path + ": " + error.what(), config.source_path, 0,
                                  "", "");
    }
}

std::string describe_store_recovery(const engine::StoreRecoveryResult& result,
                                    const store::Store& primary) {
    return fmt::format(
        "store: {} loaded at LSN {}; WAL tail replayed into it: {} events in {} batches\n",
        primary.describe(), result.loaded_lsn, result.events_written, result.batches);
}

// Whether a data directory has never been served from: no SQLite store file and no WAL. Recovery
// then has nothing to do and creates nothing.
bool never_served(const engine::Config& config) {
    std::error_code error;
    const bool no_store = config.persistence.store == engine::StoreKind::Sqlite &&
                          !std::filesystem::exists(config.persistence.store_path, error);
    const bool no_wal = !config.persistence.enable_wal ||
                        !std::filesystem::exists(config.persistence.wal_path, error);
    return no_store && no_wal;
}

int recover(const engine::Config& config, bool salvage) {
    const engine::ShardLayout layout = engine::make_shard_layout(config);
    if (never_served(config)) {
        std::printf(
            "exchanged: recover: profile=%s: nothing to recover yet (no store at %s and no "
            "WAL)\nexchanged: recover: ok\n",
            config.profile.c_str(), config.persistence.store_path.c_str());
        return 0;
    }
    std::unique_ptr<store::Store> primary = open_primary_store(config);
    if (!config.persistence.enable_wal) {
        // Still load the state: a store the layout cannot hold is worth finding now.
        const engine::ReplayStart state = engine::load_from_store(*primary, layout);
        std::printf(
            "exchanged: recover: profile=%s: nothing to replay (enable_wal = false): the store "
            "%s at LSN %llu is the durable state\nexchanged: recover: ok\n",
            config.profile.c_str(), primary->describe().c_str(),
            static_cast<unsigned long long>(state.after_lsn));
        return 0;
    }
    const engine::StoreRecoveryResult result = replay(config, layout, *primary, salvage);
    std::printf("exchanged: recover: profile=%s wal=%s\n%s%s", config.profile.c_str(),
                config.persistence.wal_path.c_str(),
                describe_store_recovery(result, *primary).c_str(),
                engine::describe(result.replay, layout).c_str());
    if (result.replay.ok() && result.replay.records == 0 &&
        result.replay.log.end == wal::LogEnd::Clean) {
        std::printf("exchanged: recover: nothing to replay (the store holds every record)\n");
    }
    if (!result.replay.ok()) {
        const std::string advice = engine::salvage_advice(result.replay);
        std::printf("exchanged: recover: FAILED (%s)%s%s\n",
                    engine::to_string(result.replay.status), advice.empty() ? "" : "; ",
                    advice.c_str());
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
// Set by the flush worker when the store file turned out damaged; the same way.
std::atomic<bool> g_store_failed{false};

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

// The books and the log to serve from: the shards, the log they append to, the WAL writer behind
// that log (null without a WAL), and the store's feeds and flush worker.
struct Serving {
    const engine::ShardLayout& layout;
    std::vector<engine::Shard>& shards;
    const engine::CommandLog& log;
    wal::WalWriter* writer;
    std::vector<store::EventFeed*> feeds;
    store::FlushWorker& flush;
    std::string ready_text;
};

// How long a stop waits for the store to take the last batch. With a WAL nothing is lost when it
// gives up (the next start replays the tail into the store); without one the records are lost, so
// it waits longer.
constexpr std::chrono::seconds kStoreDrainWithWal{5};
constexpr std::chrono::seconds kStoreDrainWithoutWal{30};

// Runs the order service and the gateway until SIGINT/SIGTERM (or a WAL failure), then drains.
int run_service(const engine::Config& config, const Serving& serving,
                std::atomic<engine::OrderService*>& durable_listener) {
    engine::OrderService service(
        config, serving.layout, serving.shards, serving.log,
        engine::StoreLink{serving.feeds, &serving.flush.store_lsn_atomic()});
    boost::asio::io_context io;
    exchanged::net::GatewayOptions gateway_opts =
        exchanged::net::gateway_options(config.server, config.accounts);
    gateway_opts.log = [](std::string_view line) { spdlog::info("gateway: {}", line); };
    exchanged::net::Gateway gateway(io, std::move(gateway_opts), service);
    service.set_gateway(&gateway);
    durable_listener.store(&service, std::memory_order_release);
    // On every way out, before the service goes, so that the writer's and the flush worker's last
    // callbacks cannot reach a destroyed service.
    struct ListenerReset {
        std::atomic<engine::OrderService*>& listener;
        store::FlushWorker& flush;
        ~ListenerReset() {
            flush.flush_and_stop(std::chrono::milliseconds(0));
            listener.store(nullptr, std::memory_order_release);
        }
    } listener_reset{durable_listener, serving.flush};
    service.start();
    gateway.start();  // throws (exit 1) when the address cannot be bound
    IoThreads io_threads(io, config.server.io_threads);

    const exchanged::app::DaemonParts parts{service, gateway, serving.flush, serving.writer};
    exchanged::ops::Metrics metrics;
    std::optional<exchanged::ops::AdminServer> admin;
    std::string admin_text;
    if (config.server.admin_listen.port != 0) {
        exchanged::app::register_daemon_metrics(metrics, parts);
        exchanged::ops::AdminOptions admin_options;
        admin_options.health = exchanged::app::daemon_health(parts);
        admin.emplace(config.server.admin_listen.host, config.server.admin_listen.port, metrics,
                      admin_options);
        admin->start();  // throws (exit 1) when the address cannot be bound
        admin_text = " admin=" + engine::to_string(engine::Endpoint{config.server.admin_listen.host,
                                                                    admin->port()});
    }

    const engine::Endpoint bound{config.server.listen.host, gateway.port()};
    print_ready(config, serving.ready_text + " listen=" + engine::to_string(bound) + admin_text);

    const int signal_number = engine::wait_for_shutdown_signal();
    exchanged::ops::service_notifier().stopping(
        signal_number == SIGINT ? "stopping: SIGINT received" : "stopping: SIGTERM received");
    const bool failed = g_wal_failed.load(std::memory_order_acquire);
    // Stop taking orders, let the shards finish what is queued, make it durable, write it to the
    // store, send the acks that covers, and only then end the sessions, so that a clean stop loses
    // no reply.
    if (admin) {
        admin->stop();  // its scrapes read the parts below
    }
    service.stop_accepting();
    service.drain_and_join();
    if (serving.writer != nullptr) {
        serving.writer->close();  // commits whatever was handed over, then stops the writer
    }
    const bool stored = serving.flush.flush_and_stop(
        serving.writer != nullptr ? kStoreDrainWithWal : kStoreDrainWithoutWal);
    const store::FlushStats flushed = serving.flush.stats();
    durable_listener.store(nullptr, std::memory_order_release);
    service.release_remaining();
    gateway.stop();
    io_threads.join();
    if (failed) {
        spdlog::error("exiting after a WAL failure: {}", serving.writer->failure());
        return 1;
    }
    if (g_store_failed.load(std::memory_order_acquire)) {
        spdlog::error(
            "exiting: the store file is damaged (store at LSN {}{}); repair it as "
            "docs/recovery.md (Store corruption) says, then start again",
            flushed.store_lsn,
            serving.writer != nullptr
                ? std::string("; the WAL keeps every record above it")
                : fmt::format("; {} records acknowledged above it are lost (no WAL keeps them)",
                              flushed.uncommitted));
        return 1;
    }
    if (!stored && serving.writer == nullptr) {
        spdlog::error(
            "the store stayed unavailable: {} records acknowledged at match above store LSN {} "
            "are lost (no WAL keeps them)",
            flushed.uncommitted, flushed.store_lsn);
        return 1;
    }
    if (!stored) {
        spdlog::warn(
            "the store stayed unavailable: it is at LSN {}; the WAL keeps the {} records above "
            "it and the next start writes them",
            flushed.store_lsn, flushed.uncommitted);
    }
    const std::string closed = serving.writer == nullptr
                                   ? "no WAL; store at LSN " + std::to_string(flushed.store_lsn)
                                   : "WAL closed at durable LSN " +
                                         std::to_string(serving.writer->durable_lsn()) +
                                         ", store at LSN " + std::to_string(flushed.store_lsn);
    exchanged::ops::log_milestone("{} received; clean exit ({})",
                                  signal_number == SIGINT ? "SIGINT" : "SIGTERM", closed);
    return 0;
}

// One event feed per shard, sized by [persistence] store_queue_events.
std::vector<std::unique_ptr<store::EventFeed>> make_feeds(const engine::Config& config,
                                                          const engine::ShardLayout& layout) {
    std::vector<std::unique_ptr<store::EventFeed>> feeds;
    for (engine::ShardId id = 0; id < layout.shard_count; ++id) {
        feeds.push_back(std::make_unique<store::EventFeed>(config.persistence.store_queue_events));
    }
    return feeds;
}

std::vector<store::EventFeed*> pointers(
    const std::vector<std::unique_ptr<store::EventFeed>>& feeds) {
    std::vector<store::EventFeed*> out;
    for (const auto& feed : feeds) {
        out.push_back(feed.get());
    }
    return out;
}

// The flush worker's options with the daemon's callbacks: wake the shards after each commit (and
// recycle the WAL below the store), catch the store up from the WAL when a feed overflowed, and
// log the store's outages.
store::FlushOptions daemon_flush_options(
    const engine::Config& config, const engine::ShardLayout& layout, store::Store& primary,
    const engine::CommandLog& log, const std::vector<store::EventFeed*>& feeds,
    wal::WalWriter* writer, std::atomic<engine::OrderService*>& listener, bool salvage) {
    store::FlushOptions options = engine::flush_options(config);
    options.frontier = [&log, feeds] { return engine::store_frontier(log, feeds); };
    if (writer != nullptr) {
        auto catch_up = std::make_shared<engine::StoreCatchUp>(primary, config.persistence.wal_path,
                                                               layout, salvage);
        options.catch_up = [catch_up](store::StoreLsn up_to) { catch_up->advance(up_to); };
        options.catch_up_done = [catch_up] { catch_up->reset(); };
        options.next_lsn = [&log] { return log.next_lsn(); };
    }
    options.on_committed = [writer, &listener](store::StoreLsn lsn) {
        if (engine::OrderService* service = listener.load(std::memory_order_acquire)) {
            service->notify_durable();
        }
        if (writer != nullptr) {
            writer->release_below(lsn + 1);  // segments wholly in the store
        }
    };
    options.on_fatal = [&listener](const std::string& error) {
        // As a WAL failure: refuse orders from now on and wake the main thread to stop.
        spdlog::error("store failed: {}; refusing orders and exiting", error);
        g_store_failed.store(true, std::memory_order_release);
        if (engine::OrderService* service = listener.load(std::memory_order_acquire)) {
            service->stop_accepting();
        }
        ::kill(::getpid(), SIGTERM);
    };
    options.warn = [](const std::string& line) { spdlog::warn("{}", line); };
    options.info = [](const std::string& line) { spdlog::info("{}", line); };
    return options;
}

// enable_wal = false (hft): the books the store holds, and a log that numbers commands (on from
// the store's LSN) but keeps nothing: the store is the only durable copy.
int serve_without_wal(const engine::Config& config, const engine::ShardLayout& layout,
                      store::Store& primary) {
    engine::ReplayStart state = engine::load_from_store(primary, layout);
    engine::UnloggedCommandLog log(state.after_lsn + 1);
    std::vector<engine::Shard> shards;
    shards.reserve(layout.shard_count);
    for (engine::ShardId id = 0; id < layout.shard_count; ++id) {
        shards.emplace_back(std::move(state.matchers[id]), log,
                            engine::ShardOptions{id, 0, state.next_seq[id]});
    }
    exchanged::ops::log_milestone(
        "no WAL (enable_wal = false): books loaded from the store at LSN {}; acks at match may "
        "be lost up to the unflushed batch ({} records or {} ms)",
        state.after_lsn, config.persistence.store_batch_size,
        config.persistence.store_batch_timeout_ms);
    const auto feeds = make_feeds(config, layout);
    std::atomic<engine::OrderService*> listener{nullptr};
    store::FlushWorker flush(primary, pointers(feeds),
                             daemon_flush_options(config, layout, primary, log, pointers(feeds),
                                                  nullptr, listener, false));
    flush.start();
    return run_service(config,
                       Serving{layout, shards, log, nullptr, pointers(feeds), flush,
                               "wal=off store_lsn=" + std::to_string(state.after_lsn)},
                       listener);
}

int serve(const engine::Config& config, bool salvage) {
    create_data_dir(config.server.data_dir);
    exchanged::ops::configure_logging(config.logging);  // a relative file is in data_dir
    const engine::ShardLayout layout = engine::make_shard_layout(config);
    std::unique_ptr<store::Store> primary = open_primary_store(config);
    if (!config.persistence.enable_wal) {
        return serve_without_wal(config, layout, *primary);
    }
    engine::StoreRecoveryResult recovered = replay(config, layout, *primary, salvage);
    if (!recovered.replay.ok()) {
        std::string report = engine::describe(recovered.replay, layout);
        if (!report.empty() && report.back() == '\n') {
            report.pop_back();  // the log adds its own
        }
        const std::string advice = engine::salvage_advice(recovered.replay);
        spdlog::error("recovery failed; not starting{}{}\n{}", advice.empty() ? "" : ": ", advice,
                      report);
        return 1;
    }
    if (!recovered.replay.log.skipped.empty()) {
        // The operator chose this, but the log must say what it cost, every time.
        std::string report = engine::describe(recovered.replay, layout);
        if (!report.empty() && report.back() == '\n') {
            report.pop_back();
        }
        spdlog::warn("--salvage skipped damage in the WAL; what was lost:\n{}", report);
    }
    exchanged::ops::log_milestone(
        "recovered from the store at LSN {} plus {} WAL records (log {}) in {:.3f} s",
        recovered.loaded_lsn, recovered.replay.records, wal::to_string(recovered.replay.log.end),
        std::chrono::duration<double>(recovered.replay.elapsed).count());

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
    const wal::Lsn expected_next = recovered.replay.next_lsn;
    if (writer.next_lsn() != expected_next) {
        throw std::runtime_error("the WAL changed during recovery: replay ended before LSN " +
                                 std::to_string(expected_next) + ", the writer opened at " +
                                 std::to_string(writer.next_lsn()));
    }
    // The store now holds the whole log: what lies wholly below it can go.
    writer.release_below(primary->store_lsn() + 1);
    engine::WalCommandLog log(writer);
    std::vector<engine::Shard> shards;
    shards.reserve(layout.shard_count);
    for (engine::ShardId id = 0; id < layout.shard_count; ++id) {
        const engine::ShardOptions options{id, engine::checkpoint_every(config),
                                           recovered.replay.shards[id].next_seq};
        shards.emplace_back(std::move(recovered.replay.matchers[id]), log, options);
    }
    const auto feeds = make_feeds(config, layout);
    store::FlushWorker flush(*primary, pointers(feeds),
                             daemon_flush_options(config, layout, *primary, log, pointers(feeds),
                                                  &writer, durable_listener, salvage));
    flush.start();
    return run_service(config,
                       Serving{layout, shards, log, &writer, pointers(feeds), flush,
                               "next_lsn=" + std::to_string(expected_next)},
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
