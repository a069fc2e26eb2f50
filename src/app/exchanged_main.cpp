// exchanged: the exchange daemon. It loads and checks a profile, recovers the books from the store
// plus the WAL tail (docs/architecture.md: Recovery), builds the order path (service::Pipeline) on
// them, starts the gateway, and serves until SIGINT/SIGTERM or a failure of the order path.
// `--recover` only recovers and reports. Exit codes: 0 clean, 1 runtime failure (a corrupt log, a
// checkpoint mismatch, a WAL failure while serving), 2 configuration or usage error.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "app/backup_endpoint.hpp"
#include "app/daemon_metrics.hpp"
#include "app/failover_loop.hpp"
#include "app/new_term.hpp"
#include "app/promotion.hpp"
#include "app/replication_node.hpp"
#include "app/shutdown_signal.hpp"
#include "common/cli_args.hpp"
#include "common/test_fault.hpp"
#include "config/config.hpp"
#include "config/summary.hpp"
#include "engine/recovery.hpp"
#include "engine/shard_layout.hpp"
#include "engine/startup.hpp"
#include "engine/store_check.hpp"
#include "engine/store_recovery.hpp"
#include "mirror/mirror_log.hpp"
#include "mirror/mirror_recovery.hpp"
#include "mirror/redis_client.hpp"
#include "net/gateway.hpp"
#include "ops/logging.hpp"
#include "ops/service_notifier.hpp"
#include "repl/record_fetch.hpp"
#include "service/gateway_settings.hpp"
#include "service/pipeline.hpp"
#include "store/open_store.hpp"
#include "wal/uring_storage.hpp"

namespace {

using exchanged::CliArgs;
using exchanged::CliError;
using exchanged::CliOption;
namespace engine = exchanged::engine;
namespace store = exchanged::store;
namespace wal = exchanged::wal;
namespace service = exchanged::service;
using exchanged::Config;

constexpr CliOption kOptions[] = {
    {"config", true},        {"data-dir", true}, {"listen", true},   {"admin-listen", true},
    {"check-config", false}, {"recover", false}, {"salvage", false}, {"help", false},
    {"test-fault", true},  // hidden: docs/tools.md, "Mutation checks"
};

constexpr std::string_view kUsage =
    "usage: exchanged --config FILE [--data-dir DIR] [--listen HOST:PORT] "
    "[--admin-listen HOST:PORT] [--check-config] [--recover] [--salvage] [--help]\n";

void print_usage(std::FILE* out) {
    std::fprintf(out, "%.*s", static_cast<int>(kUsage.size()), kUsage.data());
}

exchanged::Config load_from_args(const CliArgs& args) {
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
    exchanged::ConfigOverrides overrides;
    overrides.data_dir = args.text("data-dir");
    overrides.listen = args.text("listen");
    overrides.admin_listen = args.text("admin-listen");
    return exchanged::load_config(*path, overrides);
}

std::unique_ptr<exchanged::mirror::RedisClient> connect_redis(const exchanged::Config& config) {
    const exchanged::PersistenceConfig& p = config.persistence;
    return std::make_unique<exchanged::mirror::RedisClient>(
        p.redis_address.host, p.redis_address.port, std::chrono::milliseconds(p.redis_timeout_ms));
}

// With the Redis mirror, what an ack promises depends on Redis's own AOF settings: ask it.
std::string mirror_loss_line(const exchanged::Config& config) {
    try {
        const auto client = connect_redis(config);
        return exchanged::mirror::describe_redis_loss(exchanged::mirror::read_durability(*client));
    } catch (const exchanged::mirror::RedisError& error) {
        return std::string("unknown: ") + error.what();
    }
}

int check_config(const exchanged::Config& config) {
    std::printf("exchanged: config ok: %s\n%s", config.source_path.c_str(),
                exchanged::describe_config(config).c_str());
    if (config.persistence.mirror()) {
        std::printf("  redis loss   %s\n", mirror_loss_line(config).c_str());
    }
    if (config.replication.automatic_failover()) {
        // A wrong etcd password or role shows here, before a start would stop on it.
        exchanged::app::FailoverLoop failover(config, false);
        const exchanged::app::FailoverLoop::EtcdAccess access = failover.probe_etcd_access();
        std::printf("  etcd access  %s\n", access.line.c_str());
        if (access.refused) {
            std::fprintf(stderr, "exchanged: error: %s\n", access.line.c_str());
            return 1;
        }
    }
    return 0;
}

void create_data_dir(const std::filesystem::path& dir);

// Opens and migrates the configured store. A store that cannot be opened stops start-up: recovery
// needs its state, and the flush worker its connection.
std::unique_ptr<store::Store> open_primary_store(const exchanged::Config& config) {
    if (config.persistence.store == exchanged::StoreKind::Sqlite) {
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

// Loads the store's state and replays the WAL tail above it into the matchers, with a progress
// line about every second of a long replay. `write_store`: --recover also writes the tail into the
// store; a start leaves that to the flush worker, in the background, and serves as soon as the
// books are rebuilt (docs/recovery.md: Start-up).
engine::StoreRecoveryResult replay(const exchanged::Config& config,
                                   const engine::ShardLayout& layout, store::Store& primary,
                                   bool salvage, bool write_store) {
    engine::RecoveryOptions options;
    options.salvage = salvage;
    options.map_segments = true;  // no writer has the log open yet
    options.on_progress = [](const engine::RecoveryProgress& progress) {
        const std::string line =
            fmt::format("recover: {} records replayed (LSN {}), {:.1f} s", progress.records,
                        progress.lsn, std::chrono::duration<double>(progress.elapsed).count());
        exchanged::ops::log_milestone("{}", line);
        // For `systemctl status`; while progress comes, systemd's start timeout keeps extending.
        exchanged::ops::service_notifier().progress(line, std::chrono::seconds(60));
    };
    try {
        if (config.persistence.mirror()) {
            // The mirror's tail goes into the store at once: it is short (the store trails Redis
            // by a few batches), and the flush worker cannot read Redis back while serving.
            const auto client = connect_redis(config);
            return engine::recover_from_store(
                primary,
                exchanged::mirror::mirror_source(
                    *client, exchanged::mirror::stream_key(config.persistence.redis_key_prefix)),
                layout, options);
        }
        return write_store ? engine::recover_from_store(primary, config.persistence.wal_path,
                                                        layout, options)
                           : engine::rebuild_from_store(primary, config.persistence.wal_path,
                                                        layout, options);
    } catch (const std::invalid_argument& error) {
        // The loader checks what the matcher checks, so this means the two drifted apart.
        throw exchanged::ConfigError(config.source_path + ": " + error.what(), config.source_path,
                                     0, "", "");
    }
}

std::string describe_store_recovery(const engine::StoreRecoveryResult& result,
                                    const store::Store& primary, const std::string& tail) {
    return fmt::format(
        "store: {} loaded at LSN {}; {} tail replayed into it: {} events in {} batches\n"
        "  phases       {}\n",
        primary.describe(), result.loaded_lsn, tail, result.events_written, result.batches,
        engine::describe_phases(result));
}

// Whether a data directory has never been served from: no SQLite store file and no WAL. Recovery
// then has nothing to do and creates nothing.
bool never_served(const exchanged::Config& config) {
    std::error_code error;
    const bool no_store = config.persistence.store == exchanged::StoreKind::Sqlite &&
                          !std::filesystem::exists(config.persistence.store_path, error);
    const bool no_wal = !config.persistence.enable_wal ||
                        !std::filesystem::exists(config.persistence.wal_path, error);
    // Redis may hold a log whose store was lost: recovery must look (and refuse) then.
    return no_store && no_wal && !config.persistence.mirror();
}

int recover(const exchanged::Config& config, bool salvage) {
    const engine::ShardLayout layout = engine::make_shard_layout(config);
    if (never_served(config)) {
        std::printf(
            "exchanged: recover: profile=%s: nothing to recover yet (no store at %s and no "
            "WAL)\nexchanged: recover: ok\n",
            config.profile.c_str(), config.persistence.store_path.c_str());
        return 0;
    }
    std::unique_ptr<store::Store> primary = open_primary_store(config);
    if (!config.persistence.enable_wal && !config.persistence.mirror()) {
        // Still load the state: a store the layout cannot hold is worth finding now.
        const engine::ReplayStart state = engine::load_from_store(*primary, layout);
        std::printf(
            "exchanged: recover: profile=%s: nothing to replay (enable_wal = false): the store "
            "%s at LSN %llu is the durable state\nexchanged: recover: ok\n",
            config.profile.c_str(), primary->describe().c_str(),
            static_cast<unsigned long long>(state.after_lsn));
        return 0;
    }
    const engine::StoreRecoveryResult result = replay(config, layout, *primary, salvage, true);
    const std::string log_name =
        config.persistence.mirror()
            ? "redis://" + exchanged::to_string(config.persistence.redis_address) + "/" +
                  exchanged::mirror::stream_key(config.persistence.redis_key_prefix)
            : config.persistence.wal_path.string();
    std::printf("exchanged: recover: profile=%s %s=%s\n%s%s", config.profile.c_str(),
                config.persistence.mirror() ? "mirror" : "wal", log_name.c_str(),
                describe_store_recovery(result, *primary,
                                        config.persistence.mirror() ? "Redis mirror" : "WAL")
                    .c_str(),
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
void print_ready(const exchanged::Config& config, const std::string& wal_state) {
    const std::string line =
        fmt::format("ready: profile={} instruments={} accounts={} data_dir={} shards={} {}",
                    config.profile, config.instruments.size(), config.accounts.size(),
                    config.server.data_dir.string(), config.server.shards, wal_state);
    exchanged::ops::log_milestone("{}", line);
    exchanged::ops::service_notifier().ready(line);
}

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
    // Still running here only when the start failed after the threads (an exception unwinding,
    // e.g. the admin address taken): the gateway still listens, so the context would never run
    // out of work and the join would hang the daemon instead of letting it exit 1.
    ~IoThreads() {
        io_.stop();
        join();
    }
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

// A wake-up for the main thread with an epoch: POST /replication/lead on a follower, a lost
// etcd lease on a leader.
class LeadSignal {
  public:
    LeadSignal() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
        if (fd_ < 0) {
            throw std::runtime_error("eventfd for the lead signal failed");
        }
    }
    ~LeadSignal() { ::close(fd_); }
    LeadSignal(const LeadSignal&) = delete;
    LeadSignal& operator=(const LeadSignal&) = delete;
    int fd() const { return fd_; }
    void fire(exchanged::repl::Epoch epoch) {
        epoch_ = epoch;
        const std::uint64_t one = 1;
        [[maybe_unused]] const ssize_t written = ::write(fd_, &one, sizeof(one));
    }
    std::optional<exchanged::repl::Epoch> epoch() const {
        const exchanged::repl::Epoch epoch = epoch_.load();
        return epoch == 0 ? std::nullopt : std::optional(epoch);
    }

  private:
    int fd_;
    std::atomic<exchanged::repl::Epoch> epoch_{0};
};

// How long a stop waits for the store to take the last batch. With a WAL nothing is lost when it
// gives up (the next start replays the tail into the store); without one the records are lost, so
// it waits longer.
constexpr std::chrono::seconds kStoreDrainWithWal{5};
constexpr std::chrono::seconds kStoreDrainWithoutWal{30};

// What the pipeline's threads report, into the daemon's log.
service::PipelineEnvironment daemon_environment(wal::Storage* wal_storage, bool salvage) {
    service::PipelineEnvironment environment;
    environment.wal_storage = wal_storage;
    environment.salvage = salvage;
    environment.error = [](const std::string& line) { spdlog::error("{}", line); };
    environment.warn = [](const std::string& line) { spdlog::warn("{}", line); };
    environment.info = [](const std::string& line) { spdlog::info("{}", line); };
    return environment;
}

// The admin endpoint (/metrics, /health) when admin_listen has a port; its text for the ready line.
std::unique_ptr<exchanged::ops::AdminServer> start_admin(
    const Config& config, exchanged::ops::Metrics& metrics,
    const exchanged::app::DaemonParts& parts, store::FlushWorker& flush, std::string& ready_text,
    exchanged::app::PromotionEndpoints* promotion) {
    if (config.server.admin_listen.port == 0) {
        return nullptr;
    }
    exchanged::app::register_daemon_metrics(metrics, parts);
    exchanged::ops::AdminOptions admin_options;
    admin_options.health = exchanged::app::daemon_health(parts);
    admin_options.post_handlers["/backup"] =
        exchanged::app::backup_endpoint(flush, config.server.data_dir / "backup-staging");
    if (promotion != nullptr) {
        promotion->register_metrics(metrics);
        promotion->add_to(admin_options);
    }
    auto admin = std::make_unique<exchanged::ops::AdminServer>(
        config.server.admin_listen.host, config.server.admin_listen.port, metrics, admin_options);
    admin->start();  // throws (exit 1) when the address cannot be bound
    ready_text += " admin=" + exchanged::to_string(exchanged::Endpoint{
                                  config.server.admin_listen.host, admin->port()});
    return admin;
}

const char* stop_line(int signal_number) {
    switch (signal_number) {
        case SIGINT:
            return "stopping: SIGINT received";
        case SIGTERM:
            return "stopping: SIGTERM received";
        default:
            return "stopping: the order path failed";
    }
}

// The exit code and the last lines, from why the daemon stopped and what the stop wrote.
// `log`: what keeps the records the store lacks ("WAL", "Redis mirror"); empty: nothing does.
int stop_verdict(const service::Shutdown& shutdown, const service::PipelineStopReport& report,
                 const std::string& log, int signal_number) {
    const bool with_wal = !log.empty();
    if (shutdown.failed(service::StopCause::WalFailed)) {
        spdlog::error("exiting after a WAL failure: {}", shutdown.reason());
        return 1;
    }
    if (shutdown.failed(service::StopCause::MirrorFailed)) {
        // Replies still held were dropped: whether those orders stand is what recovery finds.
        spdlog::error(
            "exiting after a Redis mirror failure: {}; the next start recovers from the store "
            "and Redis's stream (docs/operations.md: When Redis is down)",
            shutdown.reason());
        return 1;
    }
    const store::FlushStats& flushed = report.flushed;
    if (shutdown.failed(service::StopCause::StoreFailed)) {
        spdlog::error(
            "exiting after a store failure: {} (store at LSN {}{}); a damaged file is repaired "
            "as docs/recovery.md (Store corruption) says, a failed write or sync means checking "
            "the disk (docs/durability.md: When the store fails); then start again",
            shutdown.reason(), flushed.store_lsn,
            with_wal
                ? std::string("; the WAL keeps every record above it")
                : fmt::format("; {} records acknowledged above it are lost (no WAL keeps them)",
                              flushed.uncommitted));
        return 1;
    }
    if (!report.stored && !with_wal) {
        spdlog::error(
            "the store stayed unavailable: {} records acknowledged at match above store LSN {} "
            "are lost (no WAL keeps them)",
            flushed.uncommitted, flushed.store_lsn);
        return 1;
    }
    if (!report.stored) {
        spdlog::warn(
            "the store stayed unavailable: it is at LSN {}; the {} keeps the {} records above "
            "it and the next start writes them",
            flushed.store_lsn, log, flushed.uncommitted);
    }
    const std::string closed =
        !with_wal ? "no WAL; store at LSN " + std::to_string(flushed.store_lsn)
                  : log + " closed at durable LSN " + std::to_string(report.durable_lsn) +
                        ", store at LSN " + std::to_string(flushed.store_lsn);
    exchanged::ops::log_milestone("{} received; clean exit ({})",
                                  signal_number == SIGINT ? "SIGINT" : "SIGTERM", closed);
    return 0;
}

// What keeps the records above the store: the WAL, the Redis mirror, or (empty) nothing.
std::string tail_log_name(const Config& config) {
    if (config.persistence.mirror()) {
        return "Redis mirror";
    }
    return config.persistence.enable_wal ? "WAL" : "";
}

// Builds the pipeline from the recovered books, serves clients until SIGINT/SIGTERM or a failure
// of the order path, then stops it in order: no more requests, the shards drain, the WAL closes,
// the store takes the rest, the gates send what that covers, and only then do the sessions end,
// so that a clean stop loses no reply.
// With automatic failover (`failover`): a lost etcd lease deposes this leader and ends the run
// with `*stepped_down` set, so that the caller continues as a follower.
int run_service(const Config& config, const engine::ShardLayout& layout, store::Store& primary,
                service::RecoveredBooks books, bool salvage, std::string ready_text,
                exchanged::app::FailoverLoop* failover = nullptr, bool* stepped_down = nullptr) {
    std::unique_ptr<wal::UringStorage> storage;
    if (config.persistence.enable_wal) {
        create_data_dir(config.persistence.wal_path.parent_path());
        storage = std::make_unique<wal::UringStorage>(config.persistence.wal_path.string());
    }
    // A replicated leader ships each WAL batch from this buffer (docs/replication.md).
    const std::unique_ptr<exchanged::repl::ShipBuffer> ship =
        exchanged::app::make_ship_buffer(config);
    const std::unique_ptr<exchanged::repl::FollowerRetention> retention =
        exchanged::app::make_follower_retention(config);
    service::PipelineEnvironment environment = daemon_environment(storage.get(), salvage);
    if (retention) {
        environment.wal_release_floor = exchanged::app::wal_release_floor(*retention);
    }
    if (ship) {
        environment.wal_submitted = [buffer = ship.get()](wal::Lsn first, wal::Lsn last,
                                                          std::span<const std::byte> records) {
            buffer->publish(first, last, records);
        };
    }
    // Taken before the pipeline owns the books: the new term's first records check them.
    std::vector<engine::CheckpointRecord> term_checkpoints;
    // The log's terms, read by the WAL writer's own opening scan.
    exchanged::repl::LogEpochCollector opened_terms;
    if (ship) {
        term_checkpoints = exchanged::app::term_checkpoints(books);
        environment.wal_recovered = [&opened_terms](const wal::RecordView& record) {
            opened_terms.observe(record);
        };
    }
    service::Pipeline pipeline(config, layout, primary, std::move(books), std::move(environment));
    boost::asio::io_context io;
    exchanged::net::GatewayOptions gateway_opts =
        exchanged::service::gateway_options(config.server, config.accounts);
    gateway_opts.log = [](std::string_view line) { spdlog::info("gateway: {}", line); };
    if (ship) {
        // Under a lease (limit_by_lease below), a reply the quorum point released before a pause
        // of this process is written only while the lease still holds: the last check before the
        // socket, on the io thread.
        gateway_opts.may_write = [quorum = pipeline.quorum_point()] {
            return !quorum->lease_lapsed();
        };
    }
    exchanged::net::Gateway gateway(io, std::move(gateway_opts), pipeline.orders());
    pipeline.orders().set_gateway(&gateway);
    // The term start record goes first, before any order of the term.
    exchanged::repl::EpochHistory history;
    if (ship) {
        history =
            exchanged::app::begin_leader_term(config, pipeline, term_checkpoints, opened_terms);
    }
    pipeline.start();
    // The word that this leader is deposed, then this run ends and the caller follows: from the
    // failover thread when the lease is lost, and under manual promotion from a follower's word
    // of an epoch this node never promised (a leader cut off while another was promoted learns
    // it at the heal, and follows without an operator's restart). Not on a promise: the
    // candidate may still fetch the records it lacks from this node's admin endpoint. Before
    // the endpoints and the sender, which fire it.
    LeadSignal step_down;
    const bool manual_step_down = failover == nullptr && stepped_down != nullptr;
    // Before the sender, which calls it, so that it is destroyed after the sender.
    std::unique_ptr<exchanged::app::PromotionEndpoints> promotion;
    std::unique_ptr<exchanged::repl::LeaderSender> sender;
    if (ship) {
        // Promising a candidate a newer epoch deposes this leader at once (docs/replication.md:
        // Promotion): its quorum point fails, so it acknowledges nothing more and refuses orders.
        exchanged::app::PromotionHooks hooks;
        hooks.durable_lsn = [writer = pipeline.wal_writer()] { return writer->durable_lsn(); };
        hooks.promised = [quorum = pipeline.quorum_point()](exchanged::repl::Epoch epoch,
                                                            exchanged::repl::NodeId) {
            quorum->depose(epoch);
        };
        hooks.read_records = [&config, writer = pipeline.wal_writer()](wal::Lsn from) {
            return exchanged::repl::read_records(config.persistence.wal_path, from,
                                                 writer->durable_lsn());
        };
        promotion = std::make_unique<exchanged::app::PromotionEndpoints>(config, std::move(hooks));
        sender = exchanged::app::start_leader_sender(
            config, *ship, *retention, pipeline, std::move(history),
            [endpoints = promotion.get(), &step_down,
             manual_step_down](exchanged::repl::Epoch epoch) {
                if (endpoints->deposed(epoch) && manual_step_down) {
                    step_down.fire(epoch);
                }
            });
        ready_text += " role=leader node=" + std::to_string(config.replication.node_id) +
                      " epoch=" + std::to_string(config.replication.epoch);
    }
    gateway.start();  // throws (exit 1) when the address cannot be bound
    IoThreads io_threads(io, config.server.io_threads);

    const exchanged::app::DaemonParts parts{pipeline.service(), gateway, pipeline.flush(),
                                            pipeline.wal_writer(), pipeline.mirror_log()};
    exchanged::ops::Metrics metrics;
    if (sender) {
        exchanged::app::register_replication_metrics(metrics, config, *sender, *retention,
                                                     *pipeline.quorum_point(), pipeline.service());
    }
    if (failover != nullptr) {
        failover->register_metrics(metrics);
    }
    const std::unique_ptr<exchanged::ops::AdminServer> admin =
        start_admin(config, metrics, parts, pipeline.flush(), ready_text, promotion.get());
    const exchanged::Endpoint bound{config.server.listen.host, gateway.port()};
    print_ready(config, ready_text + " listen=" + exchanged::to_string(bound));

    if (failover != nullptr && sender) {
        pipeline.quorum_point()->limit_by_lease(&failover->lease_valid_until());
        failover->attach_leader(config.replication.epoch,
                                [quorum = pipeline.quorum_point(), &step_down,
                                 epoch = config.replication.epoch](const std::string&) {
                                    quorum->depose(epoch + 1);
                                    step_down.fire(epoch);
                                });
    }
    const int signal_number =
        exchanged::app::wait_for_shutdown(pipeline.shutdown().wake_fd(), step_down.fd());
    if (failover != nullptr) {
        failover->detach_leader();
    }
    const bool stepping_down =
        signal_number == 0 && step_down.epoch().has_value() && !pipeline.shutdown().failed();
    if (!stepping_down) {
        exchanged::ops::service_notifier().stopping(stop_line(signal_number));
    }
    if (admin) {
        admin->stop();  // its scrapes read the pipeline's parts
    }
    // Redis keeps what the store lacks, as a WAL would.
    const bool log_keeps_tail = config.persistence.enable_wal || config.persistence.mirror();
    const service::PipelineStopReport report =
        pipeline.stop(log_keeps_tail ? kStoreDrainWithWal : kStoreDrainWithoutWal);
    if (sender) {
        sender->stop();  // after the WAL closed: the followers had every record offered to them
    }
    gateway.stop();
    io_threads.join();
    if (stepping_down && stepped_down != nullptr) {
        exchanged::ops::log_milestone(
            "{}: node {} stepped down from epoch {} (WAL closed at durable LSN {}): "
            "continuing as a follower",
            failover != nullptr ? "failover" : "replication", config.replication.node_id,
            config.replication.epoch, report.durable_lsn);
        *stepped_down = true;
        return 0;
    }
    return stop_verdict(pipeline.shutdown(), report, tail_log_name(config), signal_number);
}

// enable_wal = false (hft): the books the store holds; the store is the only durable copy.
service::RecoveredBooks books_from_store(const Config& config, const engine::ShardLayout& layout,
                                         store::Store& primary) {
    engine::ReplayStart state = engine::load_from_store(primary, layout);
    exchanged::ops::log_milestone(
        "no WAL (enable_wal = false): books loaded from the store at LSN {}; a crash may lose "
        "{}",
        state.after_lsn, describe_loss_window(config));
    return service::RecoveredBooks{std::move(state.matchers),
                                   std::move(state.next_seq),
                                   state.after_lsn + 1,
                                   state.after_lsn,
                                   {}};
}

// With a WAL: the store's state plus the replayed tail; nullopt when recovery failed (logged).
std::optional<service::RecoveredBooks> books_from_wal(const Config& config,
                                                      const engine::ShardLayout& layout,
                                                      store::Store& primary, bool salvage) {
    engine::StoreRecoveryResult recovered =
        replay(config, layout, primary, salvage, config.persistence.mirror());
    std::string report = engine::describe(recovered.replay, layout);
    if (!report.empty() && report.back() == '\n') {
        report.pop_back();  // the log adds its own
    }
    if (!recovered.replay.ok()) {
        const std::string advice = engine::salvage_advice(recovered.replay);
        spdlog::error("recovery failed; not starting{}{}\n{}", advice.empty() ? "" : ": ", advice,
                      report);
        return std::nullopt;
    }
    if (!recovered.replay.log.skipped.empty()) {
        // The operator chose this, but the log must say what it cost, every time.
        spdlog::warn("--salvage skipped damage in the WAL; what was lost:\n{}", report);
    }
    const double replay_seconds = std::chrono::duration<double>(recovered.replay.elapsed).count();
    exchanged::ops::log_milestone(
        "recovered from the store at LSN {} plus {} {} records (log {}) in {:.3f} s, {:.0f} "
        "records/s (load from the store {:.3f} s){}",
        recovered.loaded_lsn, recovered.replay.records, tail_log_name(config),
        wal::to_string(recovered.replay.log.end), replay_seconds,
        static_cast<double>(recovered.replay.records) / std::max(replay_seconds, 1e-9),
        std::chrono::duration<double>(recovered.load).count(),
        recovered.replay.last_lsn > recovered.loaded_lsn && !config.persistence.mirror()
            ? "; the flush worker writes the tail into the store in the background"
            : "");
    service::RecoveredBooks books;
    books.matchers = std::move(recovered.replay.matchers);
    for (const engine::ShardReplay& shard : recovered.replay.shards) {
        books.next_seq.push_back(shard.next_seq);
    }
    books.next_lsn = recovered.replay.next_lsn;
    books.store_lsn = primary.store_lsn();
    return books;
}

// A promoted follower's books from what its hot standby handed over (docs/failover.md: The books
// handed over): the standby's matchers, continued through the WAL records above them; nothing is
// loaded from the store. When they cannot be continued (the log above them is damaged, the store
// is ahead of them), the full recovery from the store and the WAL, with a warn line saying why.
std::optional<service::RecoveredBooks> books_from_handover(const Config& config,
                                                           const engine::ShardLayout& layout,
                                                           store::Store& primary,
                                                           engine::ReplayStart handed,
                                                           wal::Lsn log_end, bool salvage) {
    engine::RecoveryOptions options;
    options.map_segments = true;  // no writer has the log open yet
    // The books hold everything below their LSN: read from the segment that holds the next one.
    options.skip_replayed_segments = true;
    // Up to the record the follower's WAL closed at, and no further: classifying the log's end
    // would read the rest of its last segment (up to 64 MiB of zeros). The WAL writer's own scan
    // of the log, which follows, refuses a log that does not end there.
    options.stop_after_lsn = log_end;
    const wal::Lsn handed_lsn = handed.after_lsn;
    const store::StoreLsn stored = primary.store_lsn();
    engine::HandedBooksResult continued = engine::continue_handed_books(
        stored, config.persistence.wal_path, layout, options, std::move(handed));
    if (!continued.replay.ok()) {
        spdlog::warn(
            "replication: the standby's books at LSN {} could not be continued through the WAL "
            "({}): recovering from the store and the WAL",
            handed_lsn, continued.replay.error);
        return books_from_wal(config, layout, primary, salvage);
    }
    exchanged::ops::log_milestone(
        "books handed over by the standby at LSN {} plus {} WAL records (log {}) in {:.3f} s; "
        "store at LSN {}{}",
        handed_lsn, continued.replay.records, wal::to_string(continued.replay.log.end),
        std::chrono::duration<double>(continued.replay.elapsed).count(), stored,
        continued.tail ? "; the flush worker writes the tail's events into the store once a "
                         "majority holds it"
        : stored < continued.replay.last_lsn
            ? "; the flush worker writes the tail into the store from the WAL in the background"
            : "");
    service::RecoveredBooks books;
    books.matchers = std::move(continued.replay.matchers);
    for (const engine::ShardReplay& shard : continued.replay.shards) {
        books.next_seq.push_back(shard.next_seq);
    }
    books.next_lsn = continued.replay.next_lsn;
    books.store_lsn = stored;
    books.store_tail = std::move(continued.tail);
    return books;
}

// A promoted leader's store and books: the standby's when it handed them over (a WAL and no
// mirror: the standby's log), else the store opened again and the books recovered from it and
// the WAL. The books are nullopt when recovery failed (logged).
struct PromotedStart {
    std::unique_ptr<store::Store> primary;
    std::optional<service::RecoveredBooks> books;
};
PromotedStart promoted_start(const Config& config, const engine::ShardLayout& layout,
                             std::optional<exchanged::app::StandbyHandover> handover,
                             bool salvage) {
    PromotedStart out;
    if (handover && config.persistence.enable_wal && !config.persistence.mirror()) {
        out.primary = std::move(handover->store);
        out.books = books_from_handover(config, layout, *out.primary, std::move(handover->books),
                                        handover->log_end_lsn, salvage);
        return out;
    }
    handover.reset();  // its store closes before it is opened again
    out.primary = open_primary_store(config);
    out.books = books_from_wal(config, layout, *out.primary, salvage);
    return out;
}

// Takes no orders: its client gateway refuses every login with the leader's address.
class FollowerSink final : public exchanged::net::OrderSink {
  public:
    exchanged::net::SubmitResult submit(exchanged::net::SessionId, exchanged::AccountId,
                                        const exchanged::net::ClientRequest&) override {
        return exchanged::net::SubmitResult::Unavailable;
    }
};

// What the failover thread may do to a follower: read its promised epoch, promise the leader
// etcd names, and lead the epoch it won (the paths of POST /replication/promise and /lead).
exchanged::app::FailoverFollowerHooks follower_hooks(
    exchanged::app::PromotionEndpoints& promotion) {
    exchanged::app::FailoverFollowerHooks hooks;
    hooks.promised_epoch = [&promotion] { return promotion.promised_epoch(); };
    hooks.promise = [&promotion](exchanged::repl::Epoch epoch, exchanged::repl::NodeId candidate,
                                 std::string& why) {
        auto [status, text] = promotion.promise("epoch=" + std::to_string(epoch) +
                                                " candidate=" + std::to_string(candidate));
        why = text;
        return status == 200;
    };
    hooks.lead = [&promotion](exchanged::repl::Epoch epoch, std::string& why) {
        auto [status, text] = promotion.lead("epoch=" + std::to_string(epoch));
        why = text;
        return status == 200;
    };
    return hooks;
}

// How a follower's run ended: an exit code, or told to lead (docs/replication.md: Promotion).
struct FollowerEnd {
    int exit_code = 0;
    std::optional<exchanged::repl::Epoch> lead_epoch;
    // With lead_epoch: the standby's books and store, unless they could not be trusted.
    std::optional<exchanged::app::StandbyHandover> handover;
};

// A replication follower and hot standby (docs/replication.md): recovers its store and WAL, appends
// the leader's records, acknowledges them and applies them to its matchers and store until
// SIGINT/SIGTERM, a WAL failure, a checkpoint mismatch, or POST /replication/lead after a promise
// (then it stops its receiver and closes its WAL, and the caller starts the leader).
// `new_term`: a leader restarted over a replicated log, which runs the new term's promise round
// meanwhile (app/new_term.hpp) and refuses logins naming it.
FollowerEnd run_follower(const Config& config, exchanged::app::FailoverLoop* failover = nullptr,
                         bool new_term = false) {
    exchanged::app::FollowerNode node(config);
    LeadSignal lead_signal;
    exchanged::app::PromotionHooks hooks;
    hooks.durable_lsn = [&node] { return node.durable_lsn(); };
    hooks.last_epoch = [&node] { return node.last_durable_epoch(); };
    exchanged::app::LoginRefusal refusal(config);
    hooks.promised = [&node, &refusal](exchanged::repl::Epoch epoch,
                                       exchanged::repl::NodeId candidate) {
        node.promise(epoch);
        refusal.promised(candidate);
    };
    hooks.lead = [&lead_signal](exchanged::repl::Epoch epoch) { lead_signal.fire(epoch); };
    hooks.read_records = [&config, &node](wal::Lsn from) {
        return exchanged::repl::read_records(config.persistence.wal_path, from, node.durable_lsn());
    };
    hooks.append_fetched = [&node](const std::string& records,
                                   std::string& why) -> std::optional<wal::Lsn> {
        if (!node.append_fetched(
                {reinterpret_cast<const std::byte*>(records.data()), records.size()}, why)) {
            return std::nullopt;
        }
        // The candidate answers once the records are on its disk, as a follower's Ack does.
        const wal::Lsn target = node.received_lsn();
        for (int i = 0; i < 10000 && node.durable_lsn() < target && !node.failed(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (node.durable_lsn() < target) {
            why = "the records up to LSN " + std::to_string(target) + " did not become durable";
            return std::nullopt;
        }
        return node.durable_lsn();
    };
    hooks.adopted = [&refusal](exchanged::repl::Epoch /*epoch*/, exchanged::repl::NodeId leader) {
        refusal.promised(leader);
    };
    exchanged::app::PromotionEndpoints promotion(config, std::move(hooks));
    // A leader of an epoch this node missed the promise round of: adopted once it is on disk.
    node.set_epoch_hooks(
        [&promotion](exchanged::repl::Epoch epoch) { return promotion.adopt(epoch); },
        [&promotion](exchanged::repl::Epoch epoch, exchanged::repl::NodeId leader) {
            promotion.leader_named(epoch, leader);
        });
    boost::asio::io_context io;
    exchanged::net::GatewayOptions gateway_opts =
        exchanged::service::gateway_options(config.server, config.accounts);
    gateway_opts.log = [](std::string_view line) { spdlog::info("gateway: {}", line); };
    if (new_term) {
        refusal.set("leader of epoch " + std::to_string(promotion.promised_epoch() + 1) +
                    " waiting for a majority: 0 of " +
                    std::to_string(config.replication.admins.size()) + " answered");
    }
    gateway_opts.refuse_logins = refusal.text();
    gateway_opts.refuse_logins_text = [&refusal] { return refusal.text(); };
    FollowerSink sink;
    exchanged::net::Gateway gateway(io, std::move(gateway_opts), sink);
    node.start();
    gateway.start();
    IoThreads io_threads(io, 1);
    std::unique_ptr<exchanged::app::NewTermRound> round;
    if (new_term) {
        round = std::make_unique<exchanged::app::NewTermRound>(
            config, follower_hooks(promotion),
            [&refusal](const std::string& text) { refusal.set(text); });
    }
    // /metrics says what `exchangectl cluster status` shows of a follower: role, epoch, durable
    // and applied LSN.
    exchanged::ops::Metrics metrics;
    std::unique_ptr<exchanged::ops::AdminServer> admin;
    std::string admin_text;
    if (config.server.admin_listen.port != 0) {
        exchanged::app::register_follower_metrics(metrics, config, node);
        promotion.register_metrics(metrics);
        if (failover != nullptr) {
            failover->register_metrics(metrics);
        }
        if (round) {
            round->register_metrics(metrics);
        }
        exchanged::ops::AdminOptions admin_options;
        promotion.add_to(admin_options);
        admin = std::make_unique<exchanged::ops::AdminServer>(config.server.admin_listen.host,
                                                              config.server.admin_listen.port,
                                                              metrics, std::move(admin_options));
        admin->start();  // throws (exit 1) when the address cannot be bound
        admin_text = " admin=" + exchanged::to_string(exchanged::Endpoint{
                                     config.server.admin_listen.host, admin->port()});
    }
    const exchanged::Endpoint bound{config.server.listen.host, gateway.port()};
    if (round) {
        // Not ready: it serves once it leads the new term (that ready line follows).
        const std::string line =
            "waiting: node " + std::to_string(config.replication.node_id) +
            " restarted as leader of epoch " + std::to_string(config.replication.epoch) +
            " begins a new term once a majority promises it; " + node.describe() +
            " listen=" + exchanged::to_string(bound) + admin_text;
        exchanged::ops::log_milestone("{}", line);
        exchanged::ops::service_notifier().ready(line);
        round->start();
    } else {
        print_ready(config,
                    node.describe() + " listen=" + exchanged::to_string(bound) + admin_text);
    }
    if (failover != nullptr) {
        failover->attach_follower(follower_hooks(promotion));
    }
    const int signal_number = exchanged::app::wait_for_shutdown(node.wake_fd(), lead_signal.fd());
    if (failover != nullptr) {
        failover->detach_follower();  // waits for a hook call under way
    }
    round.reset();  // its thread calls the promotion's hooks
    const std::optional<exchanged::repl::Epoch> lead = lead_signal.epoch();
    if (signal_number != 0 || !lead || node.failed()) {
        exchanged::ops::service_notifier().stopping(stop_line(signal_number));
    }
    if (admin) {
        admin->stop();  // its scrapes read the follower's WAL writer
    }
    const bool leading = signal_number == 0 && lead && !node.failed();
    std::optional<exchanged::app::StandbyHandover> handover;
    std::string not_handed;
    if (leading) {
        handover = node.stop_and_hand_over(not_handed);
    } else {
        node.stop();
    }
    gateway.stop();
    io_threads.join();
    if (node.failed()) {
        return {1, std::nullopt, std::nullopt};
    }
    if (leading) {
        exchanged::ops::log_milestone(
            "replication: told to lead epoch {}: receiver stopped, WAL closed at durable LSN {}",
            *lead, node.durable_lsn());
        if (!handover) {
            spdlog::warn(
                "replication: the standby's books are not handed over ({}): the leader recovers "
                "them from the store and the WAL",
                not_handed);
        }
        return {0, lead, std::move(handover)};
    }
    exchanged::ops::log_milestone("stopped cleanly");
    return {0, std::nullopt, std::nullopt};
}

int serve_with_failover(const Config& profile, bool salvage);

// A SIGINT or SIGTERM that came while a run stopped to hand over to the next one (a leader
// stepping down, a follower told to lead): the next run would start in full (store check, books,
// listeners) before its wait saw the signal, and only then stop again, which a loaded machine
// made a stop of seconds. `closed` says what the run that ended left on disk.
bool stopped_between_runs(const char* closed) {
    const int signal_number = exchanged::app::take_pending_shutdown();
    if (signal_number == 0) {
        return false;
    }
    exchanged::ops::service_notifier().stopping(stop_line(signal_number));
    exchanged::ops::log_milestone("stopped cleanly ({}; not starting the next run)", closed);
    return true;
}

// One run under manual promotion: a follower (and the leader it may be promoted to), or a
// leader. `*stepped_down` set: a replicated leader learnt that a newer epoch exists and stopped;
// the caller runs again, as the follower the state file now says it is.
int serve_once(const Config& profile, bool salvage, bool* stepped_down) {
    // data_dir/replication.state outranks the profile once a promotion raised the epoch.
    Config config = exchanged::app::apply_replication_state(profile);
    std::string promoted;
    bool new_term = exchanged::app::must_begin_new_term(config);
    if (new_term && exchanged::test_fault::armed(exchanged::test_fault::Fault::RestartResumeTerm)) {
        spdlog::warn(
            "replication: TEST FAULT restart_resume_term: resuming epoch {} without a promise "
            "round",
            config.replication.epoch);
        new_term = false;
    }
    if (new_term) {
        // Its log may lack acknowledged records of its term that the followers hold: it
        // follows until a majority promised a new epoch and it fetched them (app/new_term.hpp).
        exchanged::ops::log_milestone(
            "replication: node {} restarts as {} of epoch {} over a replicated log: it refuses "
            "logins until a majority promises a new term",
            config.replication.node_id,
            config.replication.role == exchanged::ReplicationRole::Leader
                ? "leader"
                : "the candidate it promised itself",
            config.replication.epoch);
        config.replication.role = exchanged::ReplicationRole::Follower;
    }
    if (config.replication.enabled &&
        config.replication.role == exchanged::ReplicationRole::Follower) {
        FollowerEnd end = run_follower(config, nullptr, new_term);
        if (!end.lead_epoch) {
            return end.exit_code;
        }
        // The leader's start-up follows on the books the standby handed over (or, when it could
        // not, recovered from the store and the WAL the follower wrote); then the sender dials
        // the peers under the new epoch.
        config.replication.role = exchanged::ReplicationRole::Leader;
        config.replication.epoch = *end.lead_epoch;
        config.persistence.ack_after = exchanged::AckPoint::Quorum;
        promoted = (new_term ? "restarted leader began epoch " : "promoted to leader at epoch ") +
                   std::to_string(*end.lead_epoch);
        exchanged::ops::log_milestone("{}: starting as the leader", promoted);
        promoted += " ";
        if (config.persistence.enable_wal && !config.persistence.mirror()) {
            const engine::ShardLayout layout = engine::make_shard_layout(config);
            PromotedStart start = promoted_start(config, layout, std::move(end.handover), salvage);
            if (!start.books) {
                return 1;
            }
            const std::string ready =
                promoted + "next_lsn=" + std::to_string(start.books->next_lsn);
            return run_service(config, layout, *start.primary, std::move(*start.books), salvage,
                               ready, nullptr, stepped_down);
        }
    }
    const engine::ShardLayout layout = engine::make_shard_layout(config);
    std::unique_ptr<store::Store> primary = open_primary_store(config);
    if (config.persistence.mirror()) {
        exchanged::ops::log_milestone("mirror: Redis {}: loss window {}",
                                      exchanged::to_string(config.persistence.redis_address),
                                      mirror_loss_line(config));
        std::optional<service::RecoveredBooks> books =
            books_from_wal(config, layout, *primary, false);
        if (!books) {
            return 1;
        }
        const std::string ready = "mirror next_lsn=" + std::to_string(books->next_lsn);
        return run_service(config, layout, *primary, std::move(*books), false, ready);
    }
    if (!config.persistence.enable_wal) {
        service::RecoveredBooks books = books_from_store(config, layout, *primary);
        const std::string ready = "wal=off store_lsn=" + std::to_string(books.store_lsn);
        return run_service(config, layout, *primary, std::move(books), false, ready);
    }
    std::optional<service::RecoveredBooks> books =
        books_from_wal(config, layout, *primary, salvage);
    if (!books) {
        return 1;
    }
    const std::string ready = promoted + "next_lsn=" + std::to_string(books->next_lsn);
    return run_service(config, layout, *primary, std::move(*books), salvage, ready, nullptr,
                       stepped_down);
}

int serve(const Config& profile, bool salvage) {
    create_data_dir(profile.server.data_dir);
    exchanged::ops::configure_logging(profile.logging);  // a relative file is in data_dir
    if (profile.replication.automatic_failover()) {
        return serve_with_failover(profile, salvage);
    }
    while (true) {
        bool stepped_down = false;
        const int code = serve_once(profile, salvage, &stepped_down);
        if (!stepped_down) {
            return code;
        }
        if (stopped_between_runs("the deposed leader's WAL closed as it stepped down")) {
            return 0;
        }
    }
}

// Automatic failover (docs/failover.md): every start is a follower's, whatever the profile or
// the state file says; the failover thread makes it lead once it won etcd's leader key and a
// majority promised its epoch (the configured leader campaigns at once). A leader whose lease is
// lost steps down and follows again, in the same process.
int serve_with_failover(const Config& profile, bool salvage) {
    // The promoted leader allocates books (and WAL buffers) of the sizes the follower's standby
    // just freed. Served from the heap (no mmap) and never trimmed back to the system, that
    // memory is reused already faulted in: on the 2-core test VM page faults were the largest
    // item of a perf profile of a leader's start, about a quarter of its samples
    // (docs/failover.md). The process allocates at start only, so the heap it keeps is the size
    // it runs with anyway.
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
    const Config first = exchanged::app::apply_replication_state(profile);
    exchanged::app::FailoverLoop failover(
        first, first.replication.role == exchanged::ReplicationRole::Leader);
    failover.check_etcd_access();
    failover.start();
    while (true) {
        Config config = exchanged::app::apply_replication_state(profile);
        config.replication.role = exchanged::ReplicationRole::Follower;
        FollowerEnd end = run_follower(config, &failover);
        if (!end.lead_epoch) {
            return end.exit_code;
        }
        if (stopped_between_runs("the follower's WAL closed before it would lead")) {
            return 0;
        }
        config.replication.role = exchanged::ReplicationRole::Leader;
        config.replication.epoch = *end.lead_epoch;
        config.persistence.ack_after = exchanged::AckPoint::Quorum;
        const std::string promoted =
            "promoted to leader at epoch " + std::to_string(*end.lead_epoch) + " (etcd)";
        exchanged::ops::log_milestone("{}: starting as the leader", promoted);
        const engine::ShardLayout layout = engine::make_shard_layout(config);
        PromotedStart start = promoted_start(config, layout, std::move(end.handover), salvage);
        if (!start.books) {
            return 1;
        }
        const std::string ready = promoted + " next_lsn=" + std::to_string(start.books->next_lsn);
        bool stepped_down = false;
        const int code = run_service(config, layout, *start.primary, std::move(*start.books),
                                     salvage, ready, &failover, &stepped_down);
        if (!stepped_down) {
            return code;
        }
        if (stopped_between_runs("the leader's WAL closed as it stepped down")) {
            return 0;
        }
    }
}

int run(int argc, char** argv) {
    // Before any thread exists, so that every later thread inherits the mask.
    exchanged::app::block_shutdown_signals();
    // A file size limit (ulimit -f) then fails the write with EFBIG, which the WAL and the store
    // report and stop on as an I/O error, instead of killing the daemon in the middle of it.
    std::signal(SIGXFSZ, SIG_IGN);
    exchanged::ops::start_stderr_logging();  // until serve() applies [logging]
    const CliArgs args = CliArgs::parse(argc, argv, 1, kOptions);
    if (args.has("help")) {
        print_usage(stdout);
        return 0;
    }
    if (args.has("test-fault")) {
        // Breaks a durability step on purpose so a test can show its check catches that; never
        // in production (the flag is not in the usage text, and arming warns on stderr). A
        // comma-separated list arms several: some faults only show together (a leader that
        // ignores its lapsed lease and also acknowledges alone, cut off from its followers).
        const std::string list = args.text_or("test-fault", "");
        std::size_t start = 0;
        while (start <= list.size()) {
            const std::size_t comma = std::min(list.find(',', start), list.size());
            const std::string name = list.substr(start, comma - start);
            start = comma + 1;
            const std::optional<exchanged::test_fault::Fault> fault =
                exchanged::test_fault::parse(name);
            if (!fault) {
                throw CliError("--test-fault: '" + name + "' is not one of " +
                               exchanged::test_fault::names());
            }
            if (*fault == exchanged::test_fault::Fault::SkipWalFdatasync ||
                *fault == exchanged::test_fault::Fault::SkipDirectorySync) {
                throw CliError(
                    "--test-fault: '" + name +
                    "' acts on the simulated storage only (exchangectl crash power-loss)");
            }
            if (*fault == exchanged::test_fault::Fault::PromoteAnyLog) {
                throw CliError("--test-fault: '" + name + "' acts on exchangectl cluster promote");
            }
            exchanged::test_fault::arm(*fault);
        }
    }
    const exchanged::Config config = load_from_args(args);
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
    } catch (const exchanged::ConfigError& error) {
        exchanged::ops::log_fatal(std::string("error: ") + error.what());
        return 2;
    } catch (const std::exception& error) {
        exchanged::ops::log_fatal(std::string("error: ") + error.what());
        return 1;
    }
}
