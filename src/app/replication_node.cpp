#include "app/replication_node.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "app/snapshot_resync.hpp"
#include "common/test_fault.hpp"
#include "engine/recovery.hpp"
#include "engine/startup.hpp"
#include "engine/store_check.hpp"
#include "engine/store_recovery.hpp"
#include "repl/epoch_file.hpp"
#include "repl/log_epochs.hpp"
#include "repl/standby_start.hpp"
#include "service/quorum_point.hpp"
#include "store/open_store.hpp"

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

std::vector<engine::CheckpointRecord> term_checkpoints(const service::RecoveredBooks& books) {
    std::vector<engine::CheckpointRecord> out;
    for (engine::ShardId shard = 0; shard < books.matchers.size(); ++shard) {
        const SequenceNumber next = shard < books.next_seq.size() ? books.next_seq[shard] : 1;
        out.push_back({shard, next - 1, books.matchers[shard].state_hash()});
    }
    return out;
}

namespace {

// Appends the term's checkpoint records after its start record (nothing else appends yet) and
// waits until they are durable.
void append_term_checkpoints(wal::WalWriter& writer,
                             const std::vector<engine::CheckpointRecord>& checkpoints) {
    wal::Lsn last = 0;
    for (const engine::CheckpointRecord& checkpoint : checkpoints) {
        engine::CheckpointRecordBytes bytes{};
        engine::encode_checkpoint(checkpoint, bytes);
        wal::AppendResult appended;
        while ((appended = writer.try_append(engine::kCheckpointRecordType, bytes)).status ==
               wal::AppendStatus::Busy) {
            std::this_thread::yield();
        }
        if (appended.status != wal::AppendStatus::Ok) {
            throw std::runtime_error("appending the term's checkpoint of shard " +
                                     std::to_string(checkpoint.shard) + ": " +
                                     wal::to_string(appended.status));
        }
        last = appended.lsn;
    }
    if (last != 0 && !writer.wait_durable(last)) {
        throw std::runtime_error("the term's checkpoints (up to LSN " + std::to_string(last) +
                                 ") did not become durable: " + writer.failure());
    }
}

}  // namespace

repl::EpochHistory begin_leader_term(const Config& config, service::Pipeline& pipeline,
                                     const std::vector<engine::CheckpointRecord>& checkpoints,
                                     const repl::LogEpochCollector& opened) {
    wal::WalWriter* writer = pipeline.wal_writer();
    if (writer == nullptr) {
        throw std::logic_error("a replicated leader's pipeline has no WAL");
    }
    const wal::RecoveryReport& scanned = writer->recovery();
    if (scanned.end == wal::LogEnd::Corrupt) {
        // Opened with --salvage over damage: refused, as a scan of its terms refuses it.
        throw std::runtime_error("reading the log's epoch history: " + scanned.description);
    }
    // Nothing appends before pipeline.start(), so the writer's next LSN is still where its scan
    // ended.
    wal::UringStorage storage(config.persistence.wal_path.string());
    repl::EpochHistory history =
        opened
            .finish(storage, scanned.records != 0 ? scanned.first_lsn : writer->next_lsn(),
                    scanned.last_lsn)
            .history;
    // Before any segment is released: the file keeps the terms the log holds now.
    repl::sync_epoch_file(storage, history);
    const wal::Lsn at = repl::begin_term(*writer, storage, history, config.replication.epoch,
                                         config.replication.node_id);
    if (at != 0) {
        spdlog::info("replication: epoch {} begins at LSN {} (term start record)",
                     config.replication.epoch, at);
        append_term_checkpoints(*writer, checkpoints);
    }
    return history;
}

std::unique_ptr<repl::FollowerRetention> make_follower_retention(const Config& config) {
    if (!is_leader(config)) {
        return nullptr;
    }
    std::vector<repl::NodeId> followers;
    for (const ReplicationPeer& peer : config.replication.peers) {
        followers.push_back(peer.node_id);
    }
    return std::make_unique<repl::FollowerRetention>(
        std::move(followers), config.replication.follower_retention_bytes,
        [](const std::string& line) { spdlog::warn("{}", line); });
}

std::function<wal::Lsn(wal::Lsn, const wal::WalWriter&)> wal_release_floor(
    repl::FollowerRetention& retention) {
    return [&retention](wal::Lsn store_floor, const wal::WalWriter& writer) {
        return retention.release_floor(store_floor, writer.held_segments());
    };
}

std::unique_ptr<repl::LeaderSender> start_leader_sender(
    const Config& config, repl::ShipBuffer& buffer, repl::FollowerRetention& retention,
    service::Pipeline& pipeline, repl::EpochHistory history,
    std::function<void(repl::Epoch epoch)> deposed) {
    service::QuorumPoint* quorum = pipeline.quorum_point();
    const wal::WalWriter* writer = pipeline.wal_writer();
    if (quorum == nullptr || writer == nullptr) {
        throw std::logic_error("a replicated leader's pipeline has no quorum point or no WAL");
    }
    repl::LeaderSenderOptions options;
    options.epoch = config.replication.epoch;
    options.history = std::move(history);
    options.wal_dir = config.persistence.wal_path;
    for (const ReplicationPeer& peer : config.replication.peers) {
        options.followers.push_back({peer.node_id, peer.endpoint.host, peer.endpoint.port});
    }
    repl::LeaderSenderHooks hooks;
    hooks.durable_lsn = [writer] { return writer->durable_lsn(); };
    hooks.commit_lsn = [quorum] { return quorum->frontier(); };
    hooks.shipped = [quorum](wal::Lsn lsn) { quorum->shipped(lsn); };
    hooks.ack = [quorum, &retention, deposed = std::move(deposed)](
                    repl::NodeId node, repl::Epoch epoch, wal::Lsn lsn) {
        const repl::AckResult result = quorum->ack(node, epoch, lsn);
        if (result.outcome == repl::AckOutcome::Counted) {
            retention.acked(node, lsn);
        }
        if (result.outcome == repl::AckOutcome::NewerEpoch && deposed) {
            deposed(epoch);
        }
        return result;
    };
    hooks.oldest_lsn = [writer] {
        const std::vector<wal::HeldSegment> held = writer->held_segments();
        return held.empty() ? wal::Lsn{1} : held.front().first_lsn;
    };
    hooks.joined = [quorum](repl::NodeId node, wal::Lsn lsn) { quorum->readmit(node, lsn); };
    hooks.info = [](const std::string& line) { spdlog::info("{}", line); };
    hooks.warn = [](const std::string& line) { spdlog::warn("{}", line); };
    hooks.make_snapshot = [&config, &retention](repl::NodeId node) {
        repl::SnapshotSource snapshot = make_leader_snapshot(config);
        // The follower continues after the snapshot's WAL: hold those segments for it from now
        // on, or a busy store could release them before it reconnects (another snapshot).
        retention.acked(node, snapshot.manifest.last_lsn);
        return snapshot;
    };
    hooks.drop_snapshot = drop_leader_snapshot;
    options.damage_snapshot_chunks =
        test_fault::armed(test_fault::Fault::DamageSnapshotChunk) ? 1 : 0;
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
                                  const repl::FollowerRetention& retention,
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
    metrics.gauge("exchanged_replication_retained_bytes",
                  "WAL bytes the leader keeps only because a follower still needs them "
                  "(bounded by [replication] follower_retention_bytes)",
                  [&retention] { return static_cast<double>(retention.held_bytes()); });
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
        metrics.gauge("exchanged_replication_follower_out_of_date",
                      "1 once the leader released WAL the follower still needs (past [replication] "
                      "follower_retention_bytes): it must re-sync by snapshot",
                      labels,
                      [&retention, node] { return retention.out_of_date(node) ? 1.0 : 0.0; });
        metrics.counter("exchanged_replication_follower_catch_ups_total",
                        "Times the follower was sent records from the WAL files (it was behind "
                        "the ship buffer)",
                        labels, [read] { return static_cast<double>(read().catch_ups); });
    }
}

namespace {

// How long a follower's stop waits for its store to take what was applied; nothing is lost when
// it gives up (the next start writes the rest from the WAL).
constexpr std::chrono::seconds kStandbyStoreDrain{5};

}  // namespace

FollowerNode::FollowerNode(const Config& config)
    : config_(config), layout_(engine::make_shard_layout(config)) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
        throw std::runtime_error("eventfd for the follower's failure signal failed");
    }
    wal_options_ = engine::wal_options(config_, false);
    wal_options_.on_durable = [this](wal::Lsn lsn) {
        if (receiver_) {
            receiver_->durable(lsn);
        }
        if (applier_) {
            applier_->durable(lsn);
        }
    };
    wal_options_.on_failed = [this](const std::string& error) {
        // Fatal, as on a leader: what this follower acknowledged may not be on its disk.
        fail("WAL failed: " + error);
    };
    std::lock_guard lock(parts_mutex_);
    open();
}

void FollowerNode::open() {
    std::filesystem::create_directories(config_.persistence.wal_path.parent_path());
    // A snapshot whose swap a crash interrupted is finished first (or dropped, not yet READY).
    repl::finish_interrupted_snapshot(follower_snapshot_dir(config_),
                                      follower_snapshot_targets(config_),
                                      [](const std::string& line) { spdlog::info("{}", line); });
    open_log_and_standby();

    const ReplicationConfig& r = config_.replication;
    repl::FollowerReceiverOptions receiver_options;
    receiver_options.node = r.node_id;
    receiver_options.epoch = r.epoch;
    receiver_options.host = r.listen.host;
    receiver_options.port = r.listen.port;
    receiver_options.history = opened_history_;
    receiver_options.snapshot_dir = follower_snapshot_dir(config_);
    receiver_options.snapshot_store = follower_snapshot_targets(config_).store_name;
    repl::FollowerReceiverHooks hooks;
    hooks.info = [](const std::string& line) { spdlog::info("{}", line); };
    hooks.warn = [](const std::string& line) { spdlog::warn("{}", line); };
    // On the receiver's thread, which alone replaces the applier (install_snapshot) meanwhile.
    hooks.appended = [this](wal::Lsn lsn, std::uint16_t type, std::span<const std::byte> payload) {
        applier_->appended(lsn, type, payload);
    };
    hooks.committed = [this](wal::Lsn lsn) { applier_->committed(lsn); };
    hooks.truncate_log = [this](wal::Lsn keep_lsn) -> wal::WalWriter& { return cut_log(keep_lsn); };
    hooks.install_snapshot = [this](const repl::SnapshotManifest& manifest) {
        return install_snapshot(manifest);
    };
    hooks.save_history = [this](const repl::EpochHistory& history) {
        try {
            repl::write_epoch_file(*storages_.back(), history);
        } catch (const std::exception& e) {
            fail(std::string("replication: writing the epochs file failed: ") + e.what());
            throw;
        }
    };
    hooks.installed_history = [this] { return opened_history_; };
    hooks.adopt_epoch = [this](repl::Epoch epoch) { return adopt_epoch_ && adopt_epoch_(epoch); };
    hooks.leader_named = [this](repl::Epoch epoch, repl::NodeId leader) {
        if (leader_named_) {
            leader_named_(epoch, leader);
        }
    };
    receiver_ = std::make_unique<repl::FollowerReceiver>(receiver_options, *writer_.load(), hooks);
}

void FollowerNode::open_log_and_standby() {
    const PersistenceConfig& p = config_.persistence;
    if (p.store == StoreKind::Sqlite) {
        std::filesystem::create_directories(p.store_path.parent_path());
    }
    // As on a leader: a damaged page would otherwise surface only when a query reads it.
    const engine::StoreStartCheck check = engine::check_store_on_start(config_);
    if (check.ran) {
        spdlog::info("standby: store check: {}: ok in {:.2f} s", check.what, check.seconds);
    }
    store_ = store::open_store(engine::store_settings(config_));
    // The books from the store alone (repl/standby_start.hpp): the WAL tail above it is applied
    // as the leader reports it committed.
    engine::ReplayStart start = repl::standby_start(*store_, p.wal_path, layout_);
    const store::StoreLsn stored = start.after_lsn;

    storages_.push_back(std::make_unique<wal::UringStorage>(p.wal_path.string()));
    // Before the release below: the epochs file takes the terms whose records it would drop.
    // The writer is not open yet, so the scan may map the segments rather than read each into a
    // fresh buffer (0.3 s for a 64 MiB segment).
    opened_history_ = repl::read_log_epochs(*storages_.back(), true).history;
    repl::sync_epoch_file(*storages_.back(), opened_history_);
    writers_.push_back(std::make_unique<wal::WalWriter>(*storages_.back(), wal_options_));
    wal::WalWriter& writer = *writers_.back();
    writer_ = &writer;
    if (writer.next_lsn() <= stored) {
        throw std::runtime_error("standby: the WAL changed during recovery: it ends before LSN " +
                                 std::to_string(writer.next_lsn()) +
                                 ", the store holds records up to LSN " + std::to_string(stored));
    }
    spdlog::info(
        "standby: store {} at LSN {}; the WAL holds up to LSN {}: the tail above the store is "
        "applied as the leader reports it committed",
        store_->describe(), stored, writer.next_lsn() - 1);
    // The store holds the whole log below its LSN: those segments can go.
    writer.release_below(stored + 1);

    repl::StandbyApplierOptions applier_options;
    applier_options.wal_dir = p.wal_path;
    applier_options.feed_events = p.store_queue_events;
    applier_options.flush = engine::flush_options(config_);
    repl::StandbyApplierHooks applier_hooks;
    applier_hooks.failed = [this](const std::string& error) { fail(error); };
    applier_hooks.stored = [this](store::StoreLsn lsn) {
        // Segments wholly in the store, as on a leader; the open log after a cut.
        writer_.load()->release_below(lsn + 1);
    };
    applier_hooks.info = [](const std::string& line) { spdlog::info("standby: {}", line); };
    applier_hooks.warn = [](const std::string& line) { spdlog::warn("standby: {}", line); };
    applier_ = std::make_unique<repl::StandbyApplier>(
        layout_, std::move(start), *store_, std::move(applier_options), std::move(applier_hooks));
    applier_->durable(writer.durable_lsn());  // the recovered log, beyond the store
}

wal::WalWriter& FollowerNode::cut_log(wal::Lsn keep_lsn) {
    try {
        writer_.load()->close();
        storages_.push_back(
            std::make_unique<wal::UringStorage>(config_.persistence.wal_path.string()));
        const wal::TruncateReport report = repl::cut_log_after(*storages_.back(), keep_lsn);
        spdlog::warn("replication: WAL cut from LSN {} to end at LSN {} ({} segment(s) removed)",
                     report.old_last_lsn, report.last_lsn, report.segments_removed);
        writers_.push_back(std::make_unique<wal::WalWriter>(*storages_.back(), wal_options_));
        writer_ = writers_.back().get();
    } catch (const std::exception& e) {
        // The log is closed and maybe half cut (each step leaves a clean prefix): stop, and let
        // the next start recover it and the leader cut it again.
        fail("replication: cutting the WAL after LSN " + std::to_string(keep_lsn) +
             " failed: " + e.what());
        throw;
    }
    const wal::Lsn applied = applier_->applied_lsn();
    if (applied <= keep_lsn) {
        applier_->truncated(keep_lsn);
    } else {
        // The safety net: a standby applies only committed records, which no repair cuts, so
        // only a faulty leader (or standby) gets here. The books hold records the log no longer
        // has; the log is right now, and the next start rebuilds the books from the store and the
        // cut log (a store that already committed records above the cut refuses that start:
        // re-sync by snapshot).
        fail("standby: the WAL was cut to end at LSN " + std::to_string(keep_lsn) +
             " (divergence repair) below the applied LSN " + std::to_string(applied) +
             "; restart the follower to rebuild its books from its store and WAL");
    }
    return *writer_.load();
}

wal::WalWriter* FollowerNode::install_snapshot(const repl::SnapshotManifest& manifest) {
    const auto say = [](const std::string& line) { spdlog::info("{}", line); };
    if (test_fault::armed(test_fault::Fault::SkipSnapshotInstall)) {
        // The planted fault: the follower keeps its old log, so the leader refuses it again.
        spdlog::warn("replication: snapshot: TEST FAULT skip_snapshot_install: not installed");
        std::filesystem::remove_all(follower_snapshot_dir(config_));
        return writer_.load();
    }
    // The scrapes read the parts under parts_mutex_; stop() takes it and then stops this
    // receiver's thread, so wait for it here only while no stop is under way.
    std::unique_lock lock(parts_mutex_, std::try_to_lock);
    while (!lock.owns_lock()) {
        if (closing_.load()) {
            say("replication: snapshot: the follower is stopping; the next start installs it");
            return nullptr;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        lock.try_lock();
    }
    // The standby and the log let go of the store and the WAL files before they are replaced.
    if (applier_ && !applier_->stop(kStandbyStoreDrain)) {
        spdlog::warn("standby: the store stayed behind at LSN {} before the snapshot",
                     applier_->store_lsn());
    }
    writer_.load()->close();
    applier_.reset();
    store_.reset();
    try {
        repl::install_snapshot(follower_snapshot_dir(config_), follower_snapshot_targets(config_),
                               say);
        open_log_and_standby();
        applier_->start();
    } catch (const std::exception& e) {
        // Fatal: a restart finishes a swap that READY still marks, or starts from what is there.
        fail(std::string("replication: snapshot install failed: ") + e.what());
        return nullptr;
    }
    say("replication: snapshot: store at LSN " + std::to_string(manifest.store_lsn) +
        " installed, WAL reopened at LSN " + std::to_string(writer_.load()->durable_lsn()) +
        " (the leader's copy reached LSN " + std::to_string(manifest.last_lsn) + ")");
    return writer_.load();
}

void FollowerNode::fail(const std::string& error) {
    spdlog::error("{}; exiting", error);
    failed_ = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof(one));
}

FollowerNode::~FollowerNode() {
    stop();
    if (wake_fd_ >= 0) {
        ::close(wake_fd_);
    }
}

void FollowerNode::start() {
    std::lock_guard lock(parts_mutex_);
    closing_ = false;
    if (!applier_) {
        open();  // stopped before: open the store and WAL again
    }
    applier_->start();
    receiver_->start();
}

void FollowerNode::stop() {
    closing_ = true;
    std::lock_guard lock(parts_mutex_);
    close_parts();
}

// The receiver first (nothing more is appended, cut or installed), then the applier (its store
// commits release WAL segments), then the WAL; then every part is let go, so that the store's and
// the WAL's files are free (a promoted node opens them as a leader's).
void FollowerNode::close_parts(std::optional<StandbyHandover>* handover, std::string* why) {
    if (receiver_) {
        receiver_->stop();
    }
    bool stored = true;
    if (applier_ && !applier_->stop(kStandbyStoreDrain)) {
        stored = false;
        spdlog::warn(
            "standby: the store stayed behind at LSN {}; the next start writes the rest "
            "from the WAL",
            applier_->store_lsn());
    }
    wal::Lsn log_end = 0;
    if (writer_.load() != nullptr) {
        writer_.load()->close();
        log_end = writer_.load()->durable_lsn();
    }
    if (handover != nullptr) {
        *handover = take_handover(stored, log_end, *why);
    }
    receiver_.reset();
    applier_.reset();
    writer_ = nullptr;
    writers_.clear();
    storages_.clear();
    store_.reset();
}

std::optional<StandbyHandover> FollowerNode::take_handover(bool stored, wal::Lsn log_end,
                                                           std::string& why) {
    if (failed_.load()) {
        why = "the follower failed";
        return std::nullopt;
    }
    if (!applier_ || !store_) {
        why = "the follower has no standby";
        return std::nullopt;
    }
    if (!stored) {
        // A store that did not take the last batch within the drain may be failing: the leader
        // opens and checks it afresh.
        why = "the standby's store did not take what it applied in time";
        return std::nullopt;
    }
    std::error_code error;
    if (std::filesystem::exists(follower_snapshot_dir(config_), error)) {
        // The leader's snapshot may replace the store and the WAL at the next start.
        why = "a snapshot re-sync is under way (" + follower_snapshot_dir(config_).string() + ")";
        return std::nullopt;
    }
    std::optional<engine::ReplayStart> books = applier_->take_books(why);
    if (!books) {
        return std::nullopt;
    }
    if (log_end < books->after_lsn) {
        why = "the WAL closed at LSN " + std::to_string(log_end) + ", below the books at LSN " +
              std::to_string(books->after_lsn);
        return std::nullopt;
    }
    return StandbyHandover{std::move(*books), std::move(store_), log_end};
}

std::optional<StandbyHandover> FollowerNode::stop_and_hand_over(std::string& why) {
    closing_ = true;
    std::lock_guard lock(parts_mutex_);
    std::optional<StandbyHandover> handover;
    close_parts(&handover, &why);
    return handover;
}

void FollowerNode::restart_from_disk() {
    closing_ = true;
    std::lock_guard lock(parts_mutex_);
    close_parts();
    closing_ = false;
    open();
    applier_->start();
    receiver_->start();
}

wal::Lsn FollowerNode::durable_lsn() const {
    std::lock_guard lock(parts_mutex_);
    const wal::WalWriter* writer = writer_.load();
    return writer != nullptr ? writer->durable_lsn() : 0;
}

wal::Lsn FollowerNode::applied_lsn() const {
    std::lock_guard lock(parts_mutex_);
    return applier_ ? applier_->applied_lsn() : 0;
}

wal::Lsn FollowerNode::commit_lsn() const {
    std::lock_guard lock(parts_mutex_);
    return applier_ ? applier_->commit_lsn() : 0;
}

store::StoreLsn FollowerNode::store_lsn() const {
    std::lock_guard lock(parts_mutex_);
    return applier_ ? applier_->store_lsn() : 0;
}

std::string FollowerNode::describe() const {
    std::lock_guard lock(parts_mutex_);
    if (!receiver_) {
        return "role=follower node=" + std::to_string(config_.replication.node_id) + " stopped";
    }
    return "role=follower node=" + std::to_string(config_.replication.node_id) +
           " replication_listen=" +
           to_string(Endpoint{config_.replication.listen.host, receiver_->port()}) +
           " durable_lsn=" + std::to_string(writer_.load()->durable_lsn()) +
           " applied_lsn=" + std::to_string(applier_->applied_lsn()) +
           " store_lsn=" + std::to_string(applier_->store_lsn());
}

void register_follower_metrics(ops::Metrics& metrics, const Config& config,
                               const FollowerNode& node) {
    register_replication_identity(metrics, config);
    metrics.gauge("exchanged_wal_durable_lsn", "Highest LSN the WAL has fdatasynced",
                  [&node] { return static_cast<double>(node.durable_lsn()); });
    metrics.gauge("exchanged_replication_applied_lsn",
                  "The last record the hot standby applied to its matchers",
                  [&node] { return static_cast<double>(node.applied_lsn()); });
    metrics.gauge("exchanged_store_lsn", "Highest WAL LSN whose events the store has committed",
                  [&node] { return static_cast<double>(node.store_lsn()); });
    metrics.gauge("exchanged_replication_commit_lsn",
                  "The leader's commit frontier as this follower last heard it: its standby "
                  "applies up to min(this, its WAL's durable LSN)",
                  [&node] { return static_cast<double>(node.commit_lsn()); });
    metrics.gauge("exchanged_replication_apply_lag_records",
                  "Records the leader reports committed that this follower's standby has not "
                  "applied yet",
                  [&node] {
                      const wal::Lsn commit = node.commit_lsn();
                      const wal::Lsn applied = node.applied_lsn();
                      return static_cast<double>(commit > applied ? commit - applied : 0);
                  });
}

std::string FollowerNode::login_refusal(const Config& config) {
    const Endpoint& leader = config.replication.leader_client;
    if (leader.port == 0) {
        return "replication follower: log in to the leader";
    }
    return "replication follower; leader at " + to_string(leader);
}

}  // namespace exchanged::app
