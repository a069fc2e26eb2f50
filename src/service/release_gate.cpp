#include "service/release_gate.hpp"

#include <algorithm>

#include "common/invariant.hpp"

namespace exchanged::service {

namespace {

net::Message rejected(const book::Event& e, const ReplyOrigin& origin) {
    net::Rejected out;
    out.reason = net::reject_code(e.reject_reason);
    out.instrument = e.instrument;
    out.client_id = origin.request_type == net::MessageType::NewOrder ? e.client_order_id
                                                                      : origin.client_request_id;
    const bool targets_order = origin.request_type == net::MessageType::Cancel ||
                               origin.request_type == net::MessageType::Replace;
    out.order_id = targets_order ? e.order_id : 0;
    out.timestamp_ns = e.timestamp_ns;
    out.request_type = origin.request_type;
    return out;
}

}  // namespace

net::Message reply_for(const book::Event& e, const ReplyOrigin& origin) {
    switch (e.type) {
        case book::EventType::Accepted:
            return net::Accepted{e.side,  e.instrument, e.client_order_id, e.order_id,
                                 e.price, e.quantity,   e.timestamp_ns};
        case book::EventType::Rejected:
            return rejected(e, origin);
        case book::EventType::Trade:
            return net::Fill{
                e.side,  e.instrument, e.order_id, e.client_order_id, e.trade_id,
                e.price, e.quantity,   e.leaves,   e.timestamp_ns,    net::Liquidity::Taker};
        case book::EventType::Cancelled: {
            const bool requested = origin.request_type == net::MessageType::Cancel ||
                                   origin.request_type == net::MessageType::MassCancel;
            return net::Cancelled{e.cancel_reason,
                                  e.instrument,
                                  e.order_id,
                                  e.client_order_id,
                                  requested ? origin.client_request_id : 0,
                                  e.quantity,
                                  e.timestamp_ns};
        }
        case book::EventType::Replaced:
            return net::Replaced{
                e.instrument, e.order_id, e.client_order_id, origin.client_request_id,
                e.price,      e.leaves,   e.timestamp_ns};
        case book::EventType::MassCancelled:
            return net::MassCancelled{e.instrument, origin.client_request_id, e.timestamp_ns,
                                      static_cast<std::uint32_t>(e.quantity)};
    }
    return rejected(e, origin);
}

ReleaseGate::ReleaseGate(ReplySink& sink, const DurabilityPoints& points, AckPoint normal,
                         AckPoint critical, std::size_t capacity)
    : sink_(sink), points_(points), normal_(normal), critical_(critical), held_(capacity) {}

void ReleaseGate::push(const engine::ShardEvent& event, const ReplyOrigin& origin) {
    const book::Event& e = event.event;
    const bool critical = origin.critical || e.critical;
    AckPoint point = critical ? critical_ : normal_;
    if (origin.store_sync) {
        point = AckPoint::Store;
    }
    // Refusals before logging (lsn 0) promise nothing, so they need no durable point.
    if (event.lsn == 0) {
        point = AckPoint::Match;
    }
    HeldReply reply{event.lsn,      point,          origin.account,      false,
                    origin.session, e.timestamp_ns, reply_for(e, origin)};
    queue(reply);
    if (e.type == book::EventType::Trade) {
        // The resting side: its owner may be on any session of its account, or on none. It
        // depends on the command that traded, so it waits for that command's point, in order with
        // the maker account's other replies.
        reply.account = e.maker_account;
        reply.to_account = true;
        reply.target = e.maker_account;
        reply.message = net::Fill{opposite(e.side), e.instrument,
                                  e.maker_order_id, e.maker_client_order_id,
                                  e.trade_id,       e.price,
                                  e.quantity,       e.maker_leaves,
                                  e.timestamp_ns,   net::Liquidity::Maker};
        queue(reply);
    }
}

void ReleaseGate::push_reply(wal::Lsn after, net::SessionId session, AccountId account,
                             const net::Message& message) {
    HeldReply reply;
    reply.lsn = after;
    reply.point = after != 0 ? normal_ : AckPoint::Match;
    reply.account = account;
    reply.target = session;
    reply.message = message;
    queue(reply);
}

void ReleaseGate::queue(const HeldReply& reply) {
    if (reply.lsn != 0) {
        // One shard thread claims LSNs one after another: a lower LSN than the last one queued
        // means the gate is shared or fed out of order, and its acks could not be trusted.
        EXCHANGED_INVARIANT(reply.lsn >= last_queued_lsn_, "replies reach a gate in LSN order",
                            reply.lsn, last_queued_lsn_);
        last_queued_lsn_ = reply.lsn;
    }
    // Nothing of its account waits before it: it goes now if its point allows.
    const auto may_leave_now = [&] {
        return !held_.holds(reply.account) &&
               (reply.point == AckPoint::Match || reply.lsn <= reached(reply.point));
    };
    bool leave = may_leave_now();
    if (!leave && held_.full()) {
        make_room();
        leave = may_leave_now();
    }
    if (!leave) {
        held_.hold(reply);
        points_[reply.point].awaited_by_reply(reply.lsn);
        return;
    }
    send(reply);
    if (clock_ != nullptr && reply.stamped_ns != 0) {
        ack_latency_[static_cast<std::size_t>(reply.point)].observe(0);
    }
}

void ReleaseGate::send(const HeldReply& reply) {
    ++stats_.released;
    if (reply.to_account) {
        sink_.to_account(static_cast<AccountId>(reply.target), reply.message);
    } else {
        sink_.to_session(reply.target, reply.message);
    }
}

wal::Lsn ReleaseGate::reached(AckPoint point) const {
    const auto i = static_cast<std::size_t>(point);
    const wal::Lsn lsn = points_[point].frontier();
    EXCHANGED_INVARIANT(lsn >= seen_[i], "a durability frontier never decreases", lsn, seen_[i]);
    seen_[i] = lsn;
    return lsn;
}

ReleaseGate::Frontiers ReleaseGate::frontiers() const {
    Frontiers out;
    for (std::size_t i = 0; i < DurabilityPoints::kCount; ++i) {
        const auto point = static_cast<AckPoint>(i);
        // failed() first: a point that fails after its frontier was read would otherwise let a
        // reply above the frontier count as failed-and-dropped when it had in fact been reached.
        out.failed[i] = points_[point].failed();
        out.lsn[i] = reached(point);
    }
    return out;
}

bool ReleaseGate::has_ready() const {
    if (held_.empty()) {
        return false;
    }
    const Frontiers now = frontiers();
    return held_.any_ready([&](const HeldReply& held) { return now.ready(held); });
}

std::size_t ReleaseGate::release() {
    if (held_.empty()) {
        return 0;
    }
    const Frontiers now = frontiers();
    std::size_t sent = 0;
    TimestampNs released_ns = 0;  // read once, at the first timed reply released
    held_.release([&](const HeldReply& held) { return now.ready(held); },
                  [&](const HeldReply& held) {
                      if (held.lsn > now.reached(held.point)) {
                          // The log failed before this record was durable: it was never
                          // acknowledged and must not be now; the daemon is going down and
                          // recovery decides what survived.
                          ++stats_.dropped;
                          return;
                      }
                      send(held);
                      ++sent;
                      if (clock_ != nullptr && held.stamped_ns != 0) {
                          if (released_ns == 0) {
                              released_ns = clock_->now();
                          }
                          // The realtime clock may step back: a negative wait counts as 0.
                          const TimestampNs waited =
                              std::max<TimestampNs>(0, released_ns - held.stamped_ns);
                          ack_latency_[static_cast<std::size_t>(held.point)].observe(
                              static_cast<double>(waited) * 1e-9);
                      }
                  });
    return sent;
}

void ReleaseGate::make_room() {
    ++stats_.full_waits;
    while (held_.full()) {
        release();
        if (!held_.full()) {
            return;
        }
        // Every held record was handed to the WAL (or the store's feed), so its point is reached
        // unless the log fails; either way wait() returns and release() then makes progress.
        const HeldReply& oldest = held_.oldest_blocked();
        if (!points_[oldest.point].wait(oldest.lsn)) {
            release();
            if (held_.full()) {
                // Closed with the head not durable cannot happen (close commits all); be safe.
                held_.discard_oldest_blocked();
                ++stats_.dropped;
            }
        }
    }
}

}  // namespace exchanged::service
