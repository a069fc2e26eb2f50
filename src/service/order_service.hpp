// The hand-off between the gateway and the shards (docs/architecture.md: The path of one order):
// implements net::OrderSink by turning client requests into unsequenced book::Commands for the
// shard that owns their instrument, and ReplySink by delivering what the release gates let through
// to the sessions.
//
//   io thread: submit -> ShardRequest -> bounded queue of the owning shard (full: Busy)
//   shard thread: ShardStage -> ReleaseGate -> to_session / to_account -> Gateway::deliver
//
// Gateway::deliver pushes into the session's bounded delivery queue without a lock; a session that
// cannot keep up is disconnected as a slow consumer rather than making the shard thread wait.
#pragma once

#include <atomic>
#include <vector>

#include "config/config.hpp"
#include "engine/command_log.hpp"
#include "engine/shard_layout.hpp"
#include "net/gateway.hpp"
#include "service/release_gate.hpp"
#include "service/session_registry.hpp"
#include "service/shard_queue.hpp"
#include "service/shard_runner.hpp"

namespace exchanged::service {

// Counters summed over the shards.
using ShardRunnerStats = ShardStageStats;

class OrderService final : public net::OrderSink, public ReplySink {
  public:
    // `layout` must outlive the service.
    OrderService(const Config& config, const engine::ShardLayout& layout);

    // The log the shards append to and the shard threads requests go to, by shard id; both must
    // outlive the service. Before the gateway starts: until then every request is refused.
    void attach(const engine::CommandLog& log, std::vector<ShardRunner*> runners) {
        log_ = &log;
        runners_ = std::move(runners);
    }
    // Where replies go. Replies produced before it is set are dropped.
    void set_gateway(net::Gateway* gateway) { gateway_.store(gateway, std::memory_order_release); }
    // New requests are refused as Unavailable from now on.
    void stop_accepting() { accepting_.store(false, std::memory_order_release); }
    // Summed over the shards (any thread).
    ShardRunnerStats runner_stats() const;
    // Every shard's acknowledgement latency at `point`, added up (the scrape's thread).
    HistogramSnapshot ack_latency(AckPoint point) const;

    // net::OrderSink, on io threads.
    net::SubmitResult submit(net::SessionId session, AccountId account,
                             const net::ClientRequest& request) override;
    bool on_login(net::SessionId session, AccountId account) override;
    void on_logout(net::SessionId session, AccountId account) override;

    // ReplySink, on shard threads.
    void to_session(net::SessionId session, const net::Message& message) override;
    void to_account(AccountId account, const net::Message& message) override;

  private:
    const engine::ShardLayout& layout_;
    const engine::CommandLog* log_ = nullptr;
    std::vector<book::SelfTradePrevention> self_trade_;  // by account id
    SessionRegistry sessions_;
    std::vector<ShardRunner*> runners_;
    std::atomic<net::Gateway*> gateway_{nullptr};
    std::atomic<bool> accepting_{true};
};

// The shard request for a client request: what the gateway hands to a shard thread. `self_trade`
// is the account's setting.
ShardRequest make_shard_request(net::SessionId session, AccountId account,
                                book::SelfTradePrevention self_trade,
                                const net::ClientRequest& request);

// The shard request for a command a driver made itself (the power-loss simulation, the tests): the
// request type its command type comes from, and the request id its replies carry (a new order's is
// its client order id, any other's `client_request_id`). The command is logged as given.
ShardRequest command_request(const book::Command& command, net::SessionId session,
                             std::uint64_t client_request_id);

}  // namespace exchanged::service
