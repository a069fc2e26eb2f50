// The release gate (docs/architecture.md: The path of one order): replies to clients wait here
// until the durability point the profile promises is reached. One gate per shard, used only by
// that shard's thread (and by the owner after the thread has joined).
//
// A reply gated at point P leaves once P's frontier covers its LSN
// (service/durability_point.hpp) and every earlier reply of the same account has left: a client
// never sees a later ack before an earlier one, and a maker fill never overtakes an earlier reply
// to a session of the maker's account, while one account's critical order waiting for the store
// holds back no other account's replies (service/held_replies.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/histogram.hpp"
#include "config/config.hpp"
#include "engine/shard.hpp"
#include "net/gateway.hpp"
#include "net/protocol.hpp"
#include "service/durability_point.hpp"
#include "service/held_replies.hpp"
#include "service/pipeline_clock.hpp"

namespace exchanged::service {

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
    AccountId account = 0;  // the session's: its replies leave in order with the account's others
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
    // its oldest blocked reply needs. `points` must outlive the gate.
    ReleaseGate(ReplySink& sink, const DurabilityPoints& points, AckPoint normal, AckPoint critical,
                std::size_t capacity);

    // Translates one shard event into its replies and queues or sends them.
    void push(const engine::ShardEvent& event, const ReplyOrigin& origin);
    // A reply that reads state: it must not leave before the commands up to `after` reached the
    // normal point, nor before the earlier replies of `account` (the session's).
    void push_reply(wal::Lsn after, net::SessionId session, AccountId account,
                    const net::Message& message);

    // Sends every reply whose point has been reached. Returns how many left.
    std::size_t release();
    // Whether release() would send something now.
    bool has_ready() const;
    bool empty() const { return held_.empty(); }
    const ReleaseGateStats& stats() const { return stats_; }

    // From now on, times each acknowledgement from its command's stamp to its release, by the
    // point it waited for, reading `clock` (the one that stamps commands; it must outlive the
    // gate) once per release() that sends something. Replies sent while their command is handled
    // (nothing to wait for) count as 0. Before any thread starts.
    void measure_ack_latency(const PipelineClock& clock) { clock_ = &clock; }
    // Written by the shard thread, read by any (the scrape).
    const Histogram& ack_latency(AckPoint point) const {
        return ack_latency_[static_cast<std::size_t>(point)];
    }

  private:
    // The frontiers of every point, read once per release.
    struct Frontiers {
        std::array<wal::Lsn, DurabilityPoints::kCount> lsn{};
        std::array<bool, DurabilityPoints::kCount> failed{};
        wal::Lsn reached(AckPoint point) const { return lsn[static_cast<std::size_t>(point)]; }
        bool ready(const HeldReply& held) const {
            const auto i = static_cast<std::size_t>(held.point);
            return held.lsn <= lsn[i] || failed[i];
        }
    };

    void queue(const HeldReply& reply);
    void send(const HeldReply& reply);
    // One point's frontier, read now; and every point's.
    wal::Lsn reached(AckPoint point) const;
    Frontiers frontiers() const;
    void make_room();

    ReplySink& sink_;
    const DurabilityPoints& points_;
    const AckPoint normal_;
    const AckPoint critical_;
    HeldReplies held_;              // allocated once
    wal::Lsn last_queued_lsn_ = 0;  // replies are queued in LSN order (refusals, LSN 0, apart)
    // What frontiers() saw last, to check that no point ever moves back.
    mutable std::array<wal::Lsn, DurabilityPoints::kCount> seen_{};
    ReleaseGateStats stats_;
    const PipelineClock* clock_ = nullptr;
    std::array<Histogram, DurabilityPoints::kCount> ack_latency_{
        Histogram(latency_bounds_seconds()), Histogram(latency_bounds_seconds()),
        Histogram(latency_bounds_seconds()), Histogram(latency_bounds_seconds()),
        Histogram(latency_bounds_seconds())};
};

// The reply to the command's own session for one event (for a Trade, the taker's Fill).
net::Message reply_for(const book::Event& event, const ReplyOrigin& origin);

}  // namespace exchanged::service
