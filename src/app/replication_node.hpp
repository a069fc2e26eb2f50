// The daemon's replication roles (docs/replication.md): a leader ships its WAL batches through a
// ship buffer to its followers and feeds their acks to the `quorum` point; a follower keeps a WAL
// of the leader's records and acknowledges them. A promotion switches a follower to leader
// (app/promotion.hpp).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <span>
#include <string>

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
// pipeline goes. `deposed`: called (on a sender thread) when a follower reports a newer epoch.
std::unique_ptr<repl::LeaderSender> start_leader_sender(
    const Config& config, repl::ShipBuffer& buffer, service::Pipeline& pipeline,
    std::function<void(repl::Epoch epoch)> deposed = nullptr);

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
    // Promised a candidate `epoch`: from the return on, nothing of an older epoch is appended.
    void promise(repl::Epoch epoch) { receiver_->promise(epoch); }
    // A candidate's records fetched from a longer log (docs/replication.md: Promotion).
    bool append_fetched(std::span<const std::byte> records, std::string& why) {
        return receiver_->append_fetched(records, why);
    }
    wal::Lsn received_lsn() const { return receiver_->received_lsn(); }
    std::string describe() const;  // for the ready line
    // The text a client login is refused with.
    static std::string login_refusal(const Config& config);

  private:
    const Config& config_;
    int wake_fd_ = -1;
    std::atomic<bool> failed_{false};
    std::unique_ptr<wal::UringStorage> storage_;
    std::unique_ptr<repl::FollowerReceiver> receiver_;
    std::unique_ptr<wal::WalWriter> writer_;
};

}  // namespace exchanged::app
