// The daemon's replication roles (docs/replication.md): a leader ships its WAL batches through a
// ship buffer to its followers and feeds their acks to the `quorum` point; a follower keeps a WAL
// of the leader's records, acknowledges them, and applies them to its matchers and store as a hot
// standby. A promotion switches a follower to leader (app/promotion.hpp).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "engine/command_record.hpp"
#include "engine/shard_layout.hpp"
#include "ops/metrics.hpp"
#include "repl/follower_receiver.hpp"
#include "repl/follower_retention.hpp"
#include "repl/leader_sender.hpp"
#include "repl/log_epochs.hpp"
#include "repl/ship_buffer.hpp"
#include "repl/standby_applier.hpp"
#include "service/pipeline.hpp"
#include "store/store.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::app {

// A leader's buffer of recent WAL batches (null when this node is no replicated leader); it must
// outlive the pipeline whose WAL writer publishes into it.
std::unique_ptr<repl::ShipBuffer> make_ship_buffer(const Config& config);
// A leader's record of what its followers still need from its WAL ([replication]
// follower_retention_bytes); null when this node is no replicated leader. It must outlive the
// pipeline whose store commits ask it how far the WAL may go (wal_release_floor).
std::unique_ptr<repl::FollowerRetention> make_follower_retention(const Config& config);
std::function<wal::Lsn(wal::Lsn, const wal::WalWriter&)> wal_release_floor(
    repl::FollowerRetention& retention);
// A leader's epoch history: the terms its log holds, then its own term, whose start record it
// appends (durably) when the log's newest term is older. Before pipeline.start(): the term start
// is the term's first record. Throws naming why (its log was written by a newer leader, the WAL).
// `checkpoints` (term_checkpoints of the books the pipeline was built on) follow the term start
// record: every follower checks them against its own standby's books, so books that differ from
// the log (a hand-over gone wrong, docs/failover.md) stop the followers at the term's start
// instead of at the next periodic checkpoint. `opened`: the terms the pipeline's WAL writer read
// as it opened the log (PipelineEnvironment::wal_recovered).
repl::EpochHistory begin_leader_term(const Config& config, service::Pipeline& pipeline,
                                     const std::vector<engine::CheckpointRecord>& checkpoints,
                                     const repl::LogEpochCollector& opened);
// One checkpoint record per shard of `books`: its last seq and its state hash.
std::vector<engine::CheckpointRecord> term_checkpoints(const service::RecoveredBooks& books);
// Dials the followers and feeds their acks to the pipeline's quorum point and the retention.
// Stop it before the pipeline goes. `deposed`: called (on a sender thread) when a follower
// reports a newer epoch.
std::unique_ptr<repl::LeaderSender> start_leader_sender(
    const Config& config, repl::ShipBuffer& buffer, repl::FollowerRetention& retention,
    service::Pipeline& pipeline, repl::EpochHistory history,
    std::function<void(repl::Epoch epoch)> deposed = nullptr);

// /metrics of a replicated leader: each follower's acknowledged LSN, connection and lag, the
// quorum frontier and the refusals for want of a quorum. Before the admin server starts.
void register_replication_metrics(ops::Metrics& metrics, const Config& config,
                                  const repl::LeaderSender& sender,
                                  const repl::FollowerRetention& retention,
                                  const service::QuorumPoint& quorum,
                                  const service::OrderService& service);

// /metrics of every replicated node: its node id, role (1 leader, 0 follower), epoch and factor.
void register_replication_identity(ops::Metrics& metrics, const Config& config);

// What a follower told to lead hands to its leader run (docs/failover.md: The books handed over):
// the standby's books and the store they were written to, which the node no longer owns.
struct StandbyHandover {
    engine::ReplayStart books;  // the matchers at books.after_lsn (applied and committed)
    std::unique_ptr<store::Store> store;
    // The WAL's last record when it closed: the continuation reads up to it and stops there, and
    // the leader's WAL writer, opening the log, checks that it still ends there.
    wal::Lsn log_end_lsn = 0;
};

// A follower and hot standby: at construction it opens its store and rebuilds its books from the
// store plus its WAL tail (as a leader's start does), opens the WAL for the leader's records and
// binds the receiver on [replication] listen; start() then appends, acknowledges, and applies each
// durable record to its matchers and store (repl/standby_applier.hpp). A WAL failure, a checkpoint
// mismatch or a fatal store error is fatal: failed() turns true and wake_fd() fires.
class FollowerNode {
  public:
    explicit FollowerNode(const Config& config);
    ~FollowerNode();
    FollowerNode(const FollowerNode&) = delete;
    FollowerNode& operator=(const FollowerNode&) = delete;

    // After a stop(), opens the store and the WAL again first (as the constructor does).
    void start();
    // Stops the receiver, then the applier (the store takes what was applied, for up to 5 s),
    // then commits what was appended and closes the WAL and the store, so that their files are
    // free. Idempotent. The LSNs read 0 until the next start().
    void stop();
    // stop() for a promotion: the standby's books and its open store are handed over instead of
    // being dropped, so that the leader does not rebuild them from the store and the WAL.
    // Nullopt, with `why` (the node is stopped all the same), when they must not be used: the
    // node failed, the standby stopped applying (a mismatch, the store), its store did not take
    // what it applied in time, or a snapshot re-sync is under way.
    std::optional<StandbyHandover> stop_and_hand_over(std::string& why);
    // stop(), then opens the store and the WAL again, rebuilds the books from them and starts:
    // for when their files were replaced (a snapshot installed) or the WAL was truncated under
    // the applied state. Throws as the constructor does.
    void restart_from_disk();
    int wake_fd() const { return wake_fd_; }
    bool failed() const { return failed_.load(); }
    wal::Lsn durable_lsn() const;
    // Promised a candidate `epoch`: from the return on, nothing of an older epoch is appended.
    void promise(repl::Epoch epoch) { receiver_->promise(epoch); }
    // What the receiver asks of the promotion endpoints (app/promotion.hpp) when the leader's
    // frames carry a newer epoch (repl::FollowerReceiverHooks::adopt_epoch, leader_named). Unset:
    // a newer epoch is refused. Before start().
    void set_epoch_hooks(std::function<bool(repl::Epoch epoch)> adopt_epoch,
                         std::function<void(repl::Epoch epoch, repl::NodeId leader)> leader_named) {
        adopt_epoch_ = std::move(adopt_epoch);
        leader_named_ = std::move(leader_named);
    }
    // A candidate's records fetched from a longer log (docs/replication.md: Promotion).
    bool append_fetched(std::span<const std::byte> records, std::string& why) {
        return receiver_->append_fetched(records, why);
    }
    wal::Lsn received_lsn() const { return receiver_->received_lsn(); }
    // The epoch of its last durable record (a promise's answer).
    repl::Epoch last_durable_epoch() const { return receiver_->last_durable_epoch(); }
    // The last record the standby applied to its matchers (its events are then in the feed).
    wal::Lsn applied_lsn() const;
    // The leader's commit frontier as the standby heard it (its store's LSN until then).
    wal::Lsn commit_lsn() const;
    store::StoreLsn store_lsn() const;
    std::string describe() const;  // for the ready line
    // The text a client login is refused with.
    static std::string login_refusal(const Config& config);

  private:
    void open();
    // The store, the books rebuilt from it and the WAL, the WAL writer and the standby applier.
    void open_log_and_standby();
    // Stops and lets go of every part; with `handover`, the standby's books and the store go
    // there instead when they can be trusted (else `why` says why not).
    void close_parts(std::optional<StandbyHandover>* handover = nullptr,
                     std::string* why = nullptr);
    void fail(const std::string& error);
    // close_parts()'s hand-over, after the receiver, the applier and the WAL stopped.
    std::optional<StandbyHandover> take_handover(bool stored, wal::Lsn log_end, std::string& why);
    // The leader's Truncate, on the receiver's thread with no connection open (close_parts()
    // stops the receiver before it lets the log go, so the parts stay meanwhile).
    wal::WalWriter& cut_log(wal::Lsn keep_lsn);
    // A snapshot from the leader is staged and checked: swap it in, reopen the store, the WAL and
    // the standby (on the receiver's thread, which alone appends). Null when it could not.
    wal::WalWriter* install_snapshot(const repl::SnapshotManifest& manifest);

    const Config& config_;
    const engine::ShardLayout layout_;
    int wake_fd_ = -1;
    std::atomic<bool> failed_{false};
    mutable std::mutex parts_mutex_;  // the parts below, replaced by restart_from_disk()
    std::unique_ptr<store::Store> store_;
    wal::WalOptions wal_options_;
    // The open log is the last writer on the last storage; a cut (divergence repair) closes it
    // and opens another, keeping the old ones (closed) until close_parts(), so that a reader of
    // writer_ never sees a freed one.
    std::vector<std::unique_ptr<wal::UringStorage>> storages_;
    std::vector<std::unique_ptr<wal::WalWriter>> writers_;
    std::atomic<wal::WalWriter*> writer_{nullptr};
    // The terms of the log as open_log_and_standby() found it (the receiver's, after an install).
    repl::EpochHistory opened_history_;
    std::unique_ptr<repl::StandbyApplier> applier_;
    std::unique_ptr<repl::FollowerReceiver> receiver_;
    std::atomic<bool> closing_{false};  // a stop is under way: an install gives way
    std::function<bool(repl::Epoch)> adopt_epoch_;
    std::function<void(repl::Epoch, repl::NodeId)> leader_named_;
};

// /metrics of a follower: its identity, durable LSN, applied LSN and store LSN.
void register_follower_metrics(ops::Metrics& metrics, const Config& config,
                               const FollowerNode& node);

}  // namespace exchanged::app
