#include "app/replication_node.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "engine/startup.hpp"
#include "service/quorum_point.hpp"

namespace exchanged::app {

namespace {

bool is_leader(const Config& config) {
    return config.replication.enabled && config.replication.role == ReplicationRole::Leader;
}

}  // namespace

std::unique_ptr<repl::ShipBuffer> make_ship_buffer(const Config& config) {
    if (!is_leader(config)) {
        return nullptr;
    }
    return std::make_unique<repl::ShipBuffer>(config.replication.max_lag_bytes);
}

std::unique_ptr<repl::LeaderSender> start_leader_sender(
    const Config& config, repl::ShipBuffer& buffer, service::Pipeline& pipeline,
    std::function<void(repl::Epoch epoch)> deposed) {
    service::QuorumPoint* quorum = pipeline.quorum_point();
    const wal::WalWriter* writer = pipeline.wal_writer();
    if (quorum == nullptr || writer == nullptr) {
        throw std::logic_error("a replicated leader's pipeline has no quorum point or no WAL");
    }
    repl::LeaderSenderOptions options;
    options.epoch = config.replication.epoch;
    options.wal_dir = config.persistence.wal_path;
    for (const ReplicationPeer& peer : config.replication.peers) {
        options.followers.push_back({peer.node_id, peer.endpoint.host, peer.endpoint.port});
    }
    repl::LeaderSenderHooks hooks;
    hooks.durable_lsn = [writer] { return writer->durable_lsn(); };
    hooks.shipped = [quorum](wal::Lsn lsn) { quorum->shipped(lsn); };
    hooks.ack = [quorum, deposed = std::move(deposed)](repl::NodeId node, repl::Epoch epoch,
                                                       wal::Lsn lsn) {
        const repl::AckResult result = quorum->ack(node, epoch, lsn);
        if (result.outcome == repl::AckOutcome::NewerEpoch && deposed) {
            deposed(epoch);
        }
        return result;
    };
    hooks.info = [](const std::string& line) { spdlog::info("{}", line); };
    hooks.warn = [](const std::string& line) { spdlog::warn("{}", line); };
    auto sender = std::make_unique<repl::LeaderSender>(options, buffer, hooks);
    sender->start();
    return sender;
}

void register_replication_identity(ops::Metrics& metrics, const Config& config) {
    const ReplicationConfig& r = config.replication;
    metrics.gauge("exchanged_replication_node_id", "This node's [replication] node_id",
                  [id = r.node_id] { return static_cast<double>(id); });
    metrics.gauge("exchanged_replication_role", "1 on the leader, 0 on a follower",
                  [leader = is_leader(config)] { return leader ? 1.0 : 0.0; });
    metrics.gauge("exchanged_replication_epoch", "The leader term this node serves",
                  [epoch = r.epoch] { return static_cast<double>(epoch); });
    // With the connected followers it says whether a majority can be reached (alerts,
    // `exchangectl cluster status`).
    metrics.gauge("exchanged_replication_factor", "The replicas of each record, this node included",
                  [factor = r.factor] { return static_cast<double>(factor); });
}

void register_replication_metrics(ops::Metrics& metrics, const Config& config,
                                  const repl::LeaderSender& sender,
                                  const service::QuorumPoint& quorum,
                                  const service::OrderService& service) {
    register_replication_identity(metrics, config);
    metrics.gauge("exchanged_replication_quorum_lsn",
                  "The highest LSN a majority of the replicas holds durably (the quorum frontier)",
                  [&quorum] { return static_cast<double>(quorum.frontier()); });
    metrics.gauge("exchanged_replication_shipped_lsn",
                  "The highest LSN the leader has sent to a follower",
                  [&quorum] { return static_cast<double>(quorum.snapshot().shipped_lsn()); });
    metrics.counter(
        "exchanged_orders_refused_no_quorum_total",
        "Orders refused as unavailable because the oldest one waiting for a quorum waited longer "
        "than [replication] quorum_timeout_ms",
        [&service] { return static_cast<double>(service.runner_stats().refused_no_quorum); });
    for (const repl::FollowerStatus& follower : sender.status()) {
        const repl::NodeId node = follower.node;
        const std::string labels = "node=\"" + std::to_string(node) + "\"";
        const auto read = [&sender, node] {
            for (const repl::FollowerStatus& status : sender.status()) {
                if (status.node == node) {
                    return status;
                }
            }
            return repl::FollowerStatus{};
        };
        metrics.gauge("exchanged_replication_follower_acked_lsn",
                      "The durable LSN the follower last acknowledged", labels,
                      [read] { return static_cast<double>(read().acked_lsn); });
        metrics.gauge("exchanged_replication_follower_lag_records",
                      "Records the leader has shipped that the follower has not acknowledged",
                      labels, [read, &quorum] {
                          const wal::Lsn shipped = quorum.snapshot().shipped_lsn();
                          const wal::Lsn acked = read().acked_lsn;
                          return static_cast<double>(shipped > acked ? shipped - acked : 0);
                      });
        metrics.gauge("exchanged_replication_follower_ack_seconds",
                      "From sending the newest record the follower's last ack covered to "
                      "receiving that ack: its lag in time",
                      labels,
                      [read] { return static_cast<double>(read().ack_round_trip_ns) / 1e9; });
        metrics.gauge("exchanged_replication_follower_connected",
                      "1 while the leader has a live stream to the follower", labels,
                      [read] { return read().connected ? 1.0 : 0.0; });
        metrics.counter("exchanged_replication_follower_catch_ups_total",
                        "Times the follower was sent records from the WAL files (it was behind "
                        "the ship buffer)",
                        labels, [read] { return static_cast<double>(read().catch_ups); });
    }
}

FollowerNode::FollowerNode(const Config& config) : config_(config) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
        throw std::runtime_error("eventfd for the follower's failure signal failed");
    }
    std::filesystem::create_directories(config.persistence.wal_path.parent_path());
    storage_ = std::make_unique<wal::UringStorage>(config.persistence.wal_path.string());
    wal::WalOptions options = engine::wal_options(config, false);
    options.on_durable = [this](wal::Lsn lsn) {
        if (receiver_) {
            receiver_->durable(lsn);
        }
    };
    options.on_failed = [this](const std::string& error) {
        // Fatal, as on a leader: what this follower acknowledged may not be on its disk.
        spdlog::error("WAL failed: {}; exiting", error);
        failed_ = true;
        const std::uint64_t one = 1;
        [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof(one));
    };
    writer_ = std::make_unique<wal::WalWriter>(*storage_, options);
    const ReplicationConfig& r = config.replication;
    repl::FollowerReceiverOptions receiver_options;
    receiver_options.node = r.node_id;
    receiver_options.epoch = r.epoch;
    receiver_options.host = r.listen.host;
    receiver_options.port = r.listen.port;
    repl::FollowerReceiverHooks hooks;
    hooks.info = [](const std::string& line) { spdlog::info("{}", line); };
    hooks.warn = [](const std::string& line) { spdlog::warn("{}", line); };
    receiver_ = std::make_unique<repl::FollowerReceiver>(receiver_options, *writer_, hooks);
}

FollowerNode::~FollowerNode() {
    stop();
    if (wake_fd_ >= 0) {
        ::close(wake_fd_);
    }
}

void FollowerNode::start() {
    receiver_->start();
}

void FollowerNode::stop() {
    if (receiver_) {
        receiver_->stop();
    }
    if (writer_) {
        writer_->close();
    }
}

wal::Lsn FollowerNode::durable_lsn() const {
    return writer_->durable_lsn();
}

std::string FollowerNode::describe() const {
    return "role=follower node=" + std::to_string(config_.replication.node_id) +
           " replication_listen=" +
           to_string(Endpoint{config_.replication.listen.host, receiver_->port()}) +
           " durable_lsn=" + std::to_string(writer_->durable_lsn());
}

std::string FollowerNode::login_refusal(const Config& config) {
    const Endpoint& leader = config.replication.leader_client;
    if (leader.port == 0) {
        return "replication follower: log in to the leader";
    }
    return "replication follower; leader at " + to_string(leader);
}

}  // namespace exchanged::app
