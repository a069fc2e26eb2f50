#include "engine/service/release_gate.hpp"

#include <cassert>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace exchanged::engine {

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

ReleaseGate::ReleaseGate(ReplySink& sink, const CommandLog& log,
                         const std::atomic<std::uint64_t>* store_lsn, AckPoint normal,
                         AckPoint critical, std::size_t capacity)
    : sink_(sink),
      log_(log),
      store_lsn_(store_lsn),
      normal_(normal),
      critical_(critical),
      ring_(capacity) {
    if (capacity == 0) {
        throw std::invalid_argument("release gate capacity must be above 0");
    }
}

void ReleaseGate::push(const ShardEvent& event, const ReplyOrigin& origin) {
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
    queue(event.lsn, point, false, origin.session, reply_for(e, origin));
    if (e.type == book::EventType::Trade) {
        // The resting side: its owner may be on any session of its account, or on none.
        const net::Fill maker{opposite(e.side), e.instrument,
                              e.maker_order_id, e.maker_client_order_id,
                              e.trade_id,       e.price,
                              e.quantity,       e.maker_leaves,
                              e.timestamp_ns,   net::Liquidity::Maker};
        queue(event.lsn, point, true, e.maker_account, maker);
    }
}

void ReleaseGate::push_reply(wal::Lsn after, net::SessionId session, const net::Message& message) {
    queue(after, after != 0 ? normal_ : AckPoint::Match, false, session, message);
}

void ReleaseGate::queue(wal::Lsn lsn, AckPoint point, bool to_account, std::uint64_t target,
                        const net::Message& message) {
    if (count_ == 0 && point == AckPoint::Match) {
        send(to_account, target, message);
        return;
    }
    if (count_ == ring_.size()) {
        make_room();
    }
    if (count_ == 0 && lsn <= reached(point, points())) {
        send(to_account, target, message);
        return;
    }
    Held& slot = ring_[(head_ + count_) % ring_.size()];
    slot.lsn = lsn;
    slot.point = point;
    slot.to_account = to_account;
    slot.target = target;
    slot.message = message;
    ++count_;
}

void ReleaseGate::send(bool to_account, std::uint64_t target, const net::Message& message) {
    ++stats_.released;
    if (to_account) {
        sink_.to_account(static_cast<AccountId>(target), message);
    } else {
        sink_.to_session(target, message);
    }
}

ReleaseGate::Points ReleaseGate::points() const {
    Points out;
    out.durable = log_.durable_lsn();
    out.stored = store_lsn_ != nullptr ? store_lsn_->load(std::memory_order_acquire) : out.durable;
    out.failed = log_.failed();
    return out;
}

wal::Lsn ReleaseGate::reached(AckPoint point, const Points& points) {
    switch (point) {
        case AckPoint::Match:
            return ~wal::Lsn{0};
        case AckPoint::Wal:
            return points.durable;
        case AckPoint::Store:
            return points.stored;
    }
    return 0;
}

bool ReleaseGate::ready(const Held& held, const Points& points) {
    return held.lsn <= reached(held.point, points) || points.failed;
}

bool ReleaseGate::has_ready() const {
    if (count_ == 0) {
        return false;
    }
    return ready(ring_[head_], points());
}

std::size_t ReleaseGate::release() {
    if (count_ == 0) {
        return 0;
    }
    const Points now = points();
    std::size_t sent = 0;
    while (count_ > 0) {
        Held& held = ring_[head_];
        if (!ready(held, now)) {
            break;
        }
        if (held.lsn > reached(held.point, now)) {
            // The log failed before this record was durable: it was never acknowledged and must
            // not be now; the daemon is going down and recovery decides what survived.
            ++stats_.dropped;
        } else {
            send(held.to_account, held.target, held.message);
            ++sent;
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
        const Held& head = ring_[head_];
        if (head.point == AckPoint::Store && store_lsn_ != nullptr) {
            // The flush worker commits it unless the store is down; the shard waits meanwhile
            // (its queue fills and new orders are refused as busy), as acks that wait for the
            // store must.
            std::this_thread::sleep_for(std::chrono::microseconds(100));
            continue;
        }
        // Every held record was handed to the WAL, so it becomes durable unless the log fails;
        // either way wait_durable returns and release() then makes progress.
        const wal::Lsn head_lsn = head.lsn;
        if (!log_.wait_durable(head_lsn)) {
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

}  // namespace exchanged::engine
