// The daemon's replication roles (docs/replication.md): a leader ships its WAL batches through a
// ship buffer to its followers and feeds their acks to the `quorum` point; a follower keeps a WAL
// of the leader's records and acknowledges them. Static roles: promotion is not built yet.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "ops/metrics.hpp"
#include "repl/follower_receiver.hpp"
#include "repl/leader_sender.hpp"
#include "repl/ship_buffer.hpp"
#include "service/pipeline.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::app {

// A leader's buffer of recent WAL batches (null when this node is no replicated leader); it must
// outlive the pipeline whose WAL writer publishes into it.
std::unique_ptr<repl::ShipBuffer> make_ship_buffer(const Config& config);
// Dials the followers and feeds their acks to the pipeline's quorum point. Stop it before the
// pipeline goes.
// A leader's epoch history: the terms its log holds, then its own term, whose start record it
// appends (durably) when the log's newest term is older. Before pipeline.start(): the term start
// is the term's first record. Throws naming why (its log was written by a newer leader, the WAL).
repl::EpochHistory begin_leader_term(const Config& config, service::Pipeline& pipeline);
std::unique_ptr<repl::LeaderSender> start_leader_sender(const Config& config,
                                                        repl::ShipBuffer& buffer,
                                                        service::Pipeline& pipeline,
                                                        repl::EpochHistory history);

// /metrics of a replicated leader: each follower's acknowledged LSN, connection and lag, the
// quorum frontier and the refusals for want of a quorum. Before the admin server starts.
void register_replication_metrics(ops::Metrics& metrics, const Config& config,
                                  const repl::LeaderSender& sender,
                                  const service::QuorumPoint& quorum,
                                  const service::OrderService& service);

// /metrics of every replicated node: its node id, role (1 leader, 0 follower), epoch and factor.
void register_replication_identity(ops::Metrics& metrics, const Config& config);

// A follower: its WAL recovered and opened for the leader's records, and the receiver listening on
// [replication] listen. A WAL failure is fatal: failed() turns true and wake_fd() fires.
class FollowerNode {
  public:
    explicit FollowerNode(const Config& config);
    ~FollowerNode();
    FollowerNode(const FollowerNode&) = delete;
    FollowerNode& operator=(const FollowerNode&) = delete;

    void start();
    // Stops the receiver, then commits what it appended and closes the WAL.
    void stop();
    int wake_fd() const { return wake_fd_; }
    bool failed() const { return failed_.load(); }
    wal::Lsn durable_lsn() const;
    std::string describe() const;  // for the ready line
    // The text a client login is refused with.
    static std::string login_refusal(const Config& config);

  private:
    wal::WalWriter& cut_log(wal::Lsn keep_lsn);

    const Config& config_;
    int wake_fd_ = -1;
    std::atomic<bool> failed_{false};
    wal::WalOptions wal_options_;
    std::unique_ptr<wal::UringStorage> storage_;
    std::unique_ptr<repl::FollowerReceiver> receiver_;
    // Replaced when the leader has the log cut (divergence repair); the old writer and storage
    // are kept, closed, so that a reader of the pointer never sees a freed one.
    std::atomic<wal::WalWriter*> writer_{nullptr};
    std::vector<std::unique_ptr<wal::UringStorage>> storages_;  // outlive the writers on them
    std::vector<std::unique_ptr<wal::WalWriter>> writers_;
};

}  // namespace exchanged::app
