// The engine behind the gateway (design §1): implements net::OrderSink by turning client requests
// into unsequenced book::Commands for the shard that owns their instrument, runs one ShardRunner
// per shard, and delivers the replies the release gates let through.
//
//   io thread: submit -> ShardRequest -> bounded queue of the owning shard (full: Busy)
//   shard thread: Shard::process -> ReleaseGate -> to_session / to_account -> Gateway::deliver
//
// Gateway::deliver pushes into the session's bounded delivery queue without a lock; a session that
// cannot keep up is disconnected as a slow consumer rather than making the shard thread wait.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "engine/command_log.hpp"
#include "engine/config.hpp"
#include "engine/service/release_gate.hpp"
#include "engine/service/session_registry.hpp"
#include "engine/service/shard_runner.hpp"
#include "engine/shard.hpp"
#include "engine/shard_layout.hpp"
#include "net/gateway.hpp"

namespace exchanged::engine {

// The primary store as the shards see it: one event feed per shard (by shard id) and the flush
// worker's committed LSN. Empty when the service runs without a store (tests).
struct StoreLink {
    std::vector<store::EventFeed*> feeds;
    const std::atomic<std::uint64_t>* store_lsn = nullptr;
};

class OrderService final : public net::OrderSink, public ReplySink {
  public:
    // `shards` (by shard id), `log`, `layout` and the store link's targets must outlive the
    // service.
    OrderService(const Config& config, const ShardLayout& layout, std::vector<Shard>& shards,
                 const CommandLog& log, const StoreLink& store = {});
    ~OrderService() override;

    // Where replies go; set before start(). Replies produced before it is set are dropped.
    void set_gateway(net::Gateway* gateway) { gateway_.store(gateway, std::memory_order_release); }
    void start();
    // New requests are refused as Unavailable from now on.
    void stop_accepting() { accepting_.store(false, std::memory_order_release); }
    // Lets every shard thread finish its queue, then joins them. After stop_accepting().
    void drain_and_join();
    // After the WAL closed (everything handed to it is durable): sends what the gates still hold.
    void release_remaining();
    // From the WAL's on_durable callback and the flush worker's commits: shard threads holding
    // replies may release them.
    void notify_durable();
    // Summed over the shards (any thread).
    ShardRunnerStats runner_stats() const;

    // net::OrderSink, on io threads.
    net::SubmitResult submit(net::SessionId session, AccountId account,
                             const net::ClientRequest& request) override;
    bool on_login(net::SessionId session, AccountId account) override;
    void on_logout(net::SessionId session, AccountId account) override;

    // ReplySink, on shard threads.
    void to_session(net::SessionId session, const net::Message& message) override;
    void to_account(AccountId account, const net::Message& message) override;

  private:
    ShardRequest make_request(net::SessionId session, AccountId account,
                              const net::ClientRequest& request) const;

    const ShardLayout& layout_;
    const CommandLog& log_;
    std::vector<book::SelfTradePrevention> self_trade_;  // by account id
    SessionRegistry sessions_;
    std::vector<std::unique_ptr<ShardRunner>> runners_;
    std::atomic<net::Gateway*> gateway_{nullptr};
    std::atomic<bool> accepting_{true};
};

}  // namespace exchanged::engine
