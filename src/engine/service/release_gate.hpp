// The release gate of design §1: replies to clients wait here until the durability point the
// profile promises is reached. One gate per shard, used only by that shard's thread (and by the
// owner after the thread has joined).
//
// Replies leave in the order they were produced: a reply that need not wait still queues behind
// one that must while the FIFO is not empty, so a client never sees a later ack before an earlier
// one of the same shard. A reply gated at `wal` is released once the log's durable_lsn covers its
// LSN, one gated at `store` once the flush worker's store_lsn does. Without a store (tests) the
// store point is the log's durable point.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/command_log.hpp"
#include "engine/config.hpp"
#include "engine/shard.hpp"
#include "net/gateway.hpp"
#include "net/protocol.hpp"

namespace exchanged::engine {

// Where released replies go: one session, or every live session of an account (maker fills).
class ReplySink {
  public:
    virtual ~ReplySink() = default;
    virtual void to_session(net::SessionId session, const net::Message& message) = 0;
    virtual void to_account(AccountId account, const net::Message& message) = 0;
};

// What the command behind a batch of events was, for the fields the book does not carry.
struct ReplyOrigin {
    net::SessionId session = 0;
    net::MessageType request_type = net::MessageType::NewOrder;
    std::uint64_t client_request_id = 0;  // Cancel, Replace, MassCancel
    bool critical = false;                // a liquidation, or above critical_order_threshold
    bool store_sync = false;              // traded under sync_all_trades: every reply waits for
                                          // the store
};

struct ReleaseGateStats {
    std::uint64_t released = 0;
    std::uint64_t dropped = 0;  // held when the WAL failed: never acknowledged
    std::uint64_t full_waits = 0;
};

class ReleaseGate {
  public:
    // `capacity` replies can wait at once; a full gate makes the shard thread wait for the point
    // its oldest reply needs. `store_lsn` is the flush worker's (null: no store).
    ReleaseGate(ReplySink& sink, const CommandLog& log, const std::atomic<std::uint64_t>* store_lsn,
                AckPoint normal, AckPoint critical, std::size_t capacity);

    // Translates one shard event into its replies and queues or sends them.
    void push(const ShardEvent& event, const ReplyOrigin& origin);
    // A reply that reads state: it must not leave before the acks of the commands before it.
    void push_reply(wal::Lsn after, net::SessionId session, const net::Message& message);

    // Sends every reply whose point has been reached. Returns how many left.
    std::size_t release();
    // Whether release() would send something now.
    bool has_ready() const;
    bool empty() const { return count_ == 0; }
    const ReleaseGateStats& stats() const { return stats_; }

  private:
    struct Held {
        wal::Lsn lsn = 0;
        AckPoint point = AckPoint::Match;
        bool to_account = false;
        std::uint64_t target = 0;  // a session id, or an account id when to_account
        net::Message message;
    };

    struct Points {
        wal::Lsn durable = 0;
        wal::Lsn stored = 0;
        bool failed = false;
    };

    void queue(wal::Lsn lsn, AckPoint point, bool to_account, std::uint64_t target,
               const net::Message& message);
    void send(bool to_account, std::uint64_t target, const net::Message& message);
    Points points() const;
    static wal::Lsn reached(AckPoint point, const Points& points);
    static bool ready(const Held& held, const Points& points);
    void make_room();

    ReplySink& sink_;
    const CommandLog& log_;
    const std::atomic<std::uint64_t>* store_lsn_;
    const AckPoint normal_;
    const AckPoint critical_;
    std::vector<Held> ring_;  // allocated once
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    ReleaseGateStats stats_;
};

// The reply to the command's own session for one event (for a Trade, the taker's Fill).
net::Message reply_for(const book::Event& event, const ReplyOrigin& origin);

}  // namespace exchanged::engine
