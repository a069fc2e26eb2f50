#include "service/release_gate.hpp"

#include <algorithm>
#include <stdexcept>

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
    : sink_(sink), points_(points), normal_(normal), critical_(critical), ring_(capacity) {
    if (capacity == 0) {
        throw std::invalid_argument("release gate capacity must be above 0");
    }
}

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
    queue(event.lsn, point, false, origin.session, reply_for(e, origin), e.timestamp_ns);
    if (e.type == book::EventType::Trade) {
        // The resting side: its owner may be on any session of its account, or on none.
        const net::Fill maker{opposite(e.side), e.instrument,
                              e.maker_order_id, e.maker_client_order_id,
                              e.trade_id,       e.price,
                              e.quantity,       e.maker_leaves,
                              e.timestamp_ns,   net::Liquidity::Maker};
        queue(event.lsn, point, true, e.maker_account, maker, e.timestamp_ns);
    }
}

void ReleaseGate::push_reply(wal::Lsn after, net::SessionId session, const net::Message& message) {
    queue(after, after != 0 ? normal_ : AckPoint::Match, false, session, message, 0);
}

void ReleaseGate::queue(wal::Lsn lsn, AckPoint point, bool to_account, std::uint64_t target,
                        const net::Message& message, TimestampNs stamped_ns) {
    if (lsn != 0) {
        // The FIFO releases in order only because LSNs arrive in order: one shard thread claims
        // them one after another.
        EXCHANGED_INVARIANT(lsn >= last_queued_lsn_, "replies reach a gate in LSN order", lsn,
                            last_queued_lsn_);
        last_queued_lsn_ = lsn;
    }
    const bool timed = clock_ != nullptr && stamped_ns != 0;
    if (count_ == 0 && point == AckPoint::Match) {
        send(to_account, target, message);
        if (timed) {
            ack_latency_[static_cast<std::size_t>(point)].observe(0);
        }
        return;
    }
    if (count_ == ring_.size()) {
        make_room();
    }
    if (count_ == 0 && lsn <= frontiers().reached(point)) {
        send(to_account, target, message);
        if (timed) {
            ack_latency_[static_cast<std::size_t>(point)].observe(0);
        }
        return;
    }
    Held& slot = ring_[(head_ + count_) % ring_.size()];
    slot.lsn = lsn;
    slot.point = point;
    slot.to_account = to_account;
    slot.target = target;
    slot.stamped_ns = timed ? stamped_ns : 0;
    slot.message = message;
    ++count_;
    points_[point].awaited_by_reply(lsn);
}

void ReleaseGate::send(bool to_account, std::uint64_t target, const net::Message& message) {
    ++stats_.released;
    if (to_account) {
        sink_.to_account(static_cast<AccountId>(target), message);
    } else {
        sink_.to_session(target, message);
    }
}

ReleaseGate::Frontiers ReleaseGate::frontiers() const {
    Frontiers out;
    for (std::size_t i = 0; i < DurabilityPoints::kCount; ++i) {
        const DurabilityPoint& point = points_[static_cast<AckPoint>(i)];
        // failed() first: a point that fails after its frontier was read would otherwise let a
        // reply above the frontier count as failed-and-dropped when it had in fact been reached.
        out.failed[i] = point.failed();
        out.lsn[i] = point.frontier();
        EXCHANGED_INVARIANT(out.lsn[i] >= seen_[i], "a durability frontier never decreases",
                            out.lsn[i], seen_[i]);
        seen_[i] = out.lsn[i];
    }
    return out;
}

bool ReleaseGate::has_ready() const {
    if (count_ == 0) {
        return false;
    }
    return frontiers().ready(ring_[head_]);
}

std::size_t ReleaseGate::release() {
    if (count_ == 0) {
        return 0;
    }
    const Frontiers now = frontiers();
    std::size_t sent = 0;
    TimestampNs released_ns = 0;  // read once, at the first timed reply released
    while (count_ > 0) {
        Held& held = ring_[head_];
        if (!now.ready(held)) {
            break;
        }
        if (held.lsn > now.reached(held.point)) {
            // The log failed before this record was durable: it was never acknowledged and must
            // not be now; the daemon is going down and recovery decides what survived.
            ++stats_.dropped;
        } else {
            send(held.to_account, held.target, held.message);
            ++sent;
            if (held.stamped_ns != 0) {
                if (released_ns == 0) {
                    released_ns = clock_->now();
                }
                // The realtime clock may step back: a negative wait counts as 0.
                const TimestampNs waited = std::max<TimestampNs>(0, released_ns - held.stamped_ns);
                ack_latency_[static_cast<std::size_t>(held.point)].observe(
                    static_cast<double>(waited) * 1e-9);
            }
        }
        head_ = (head_ + 1) % ring_.size();
        --count_;
    }
    return sent;
}

void ReleaseGate::make_room() {
    ++stats_.full_waits;
    while (count_ == ring_.size()) {
        release();
        if (count_ < ring_.size()) {
            return;
        }
        // Every held record was handed to the WAL (or the store's feed), so its point is reached
        // unless the log fails; either way wait() returns and release() then makes progress.
        const Held& head = ring_[head_];
        if (!points_[head.point].wait(head.lsn)) {
            release();
            if (count_ == ring_.size()) {
                // Closed with the head not durable cannot happen (close commits all); be safe.
                head_ = (head_ + 1) % ring_.size();
                --count_;
                ++stats_.dropped;
            }
        }
    }
}

}  // namespace exchanged::service
