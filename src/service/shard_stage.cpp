#include "service/shard_stage.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "service/pipeline_clock.hpp"

namespace exchanged::service {

ShardStage::ShardStage(engine::Shard& shard, ReplySink& sink, const engine::CommandLog& log,
                       const DurabilityPoints& points, AckPoint normal, AckPoint critical,
                       const ShardStageOptions& options)
    : shard_(shard),
      log_(log),
      options_(options),
      store_point_(points[AckPoint::Store]),
      unflushed_(options.max_unflushed_ns),
      quorum_point_(points[AckPoint::Quorum]),
      quorum_wait_(options.max_quorum_wait_ns),
      gate_(sink, points, normal, critical, options.gate_capacity) {
    // A command's events: accepted, trades, a cancel. Sweeps of many makers grow it once.
    events_.reserve(256);
    store_events_.reserve(256);
}

ShardStageStats ShardStage::stats() const {
    return {refused_store_behind_.load(std::memory_order_relaxed),
            feed_full_waits_.load(std::memory_order_relaxed),
            feed_overflows_.load(std::memory_order_relaxed),
            refused_unflushed_.load(std::memory_order_relaxed),
            unflushed_.age_at(store_point_.frontier(), PipelineClock().now()),
            refused_busy_.load(std::memory_order_relaxed),
            refused_unavailable_.load(std::memory_order_relaxed),
            refused_no_quorum_.load(std::memory_order_relaxed)};
}

ReplyOrigin ShardStage::origin_of(const ShardRequest& request) const {
    const book::Command& command = request.command;
    ReplyOrigin origin;
    origin.session = request.session;
    origin.account = command.account;
    origin.request_type = request.request_type;
    origin.client_request_id = request.client_request_id;
    const bool above_threshold = options_.critical_order_threshold > 0 &&
                                 command.quantity > options_.critical_order_threshold;
    // A replace to a quantity above the threshold puts as much at stake as a new order of it.
    origin.critical =
        (command.type == book::CommandType::NewOrder &&
         ((command.flags & book::order_flags::kLiquidation) != 0 || above_threshold)) ||
        (command.type == book::CommandType::Replace && above_threshold);
    return origin;
}

// Cancels only shrink what a crash could take, so they go through while the window is past its
// bound; a new order, or a replace that raises an order's quantity, would add to it.
bool ShardStage::widens_window(const book::Command& command) const {
    if (command.type == book::CommandType::NewOrder) {
        return true;
    }
    if (command.type != book::CommandType::Replace) {
        return false;
    }
    const std::optional<book::OrderView> order = shard_.matcher().find_order(command.order_id);
    return order && command.quantity > order->leaves;
}

std::span<const engine::ShardEvent> ShardStage::handle(const ShardRequest& request,
                                                       TimestampNs now) {
    events_.clear();
    store_events_.clear();
    if (request.kind == ShardRequest::Kind::Status) {
        answer_status(request);
        return events_;
    }
    const book::Command& command = request.command;
    ReplyOrigin origin = origin_of(request);
    if (origin.critical && !options_.critical_reachable) {
        engine::Shard::refuse(command, book::RejectReason::Unavailable, events_);
    } else if (unflushed_.enabled() && widens_window(command) &&
               unflushed_.exceeded(store_point_.frontier(), now)) {
        add_one(refused_unflushed_);
        engine::Shard::refuse(command, book::RejectReason::Unavailable, events_);
    } else if (quorum_wait_.enabled() && quorum_point_.failed()) {
        // A deposed leader (docs/replication.md: Promotion) logs nothing more: its records would
        // only diverge from the new leader's log, and none of them could be acknowledged.
        add_one(refused_no_quorum_);
        engine::Shard::refuse(command, book::RejectReason::Unavailable, events_);
    } else if (quorum_wait_.enabled() && widens_window(command) &&
               quorum_wait_.exceeded(quorum_point_.frontier(), now)) {
        add_one(refused_no_quorum_);
        engine::Shard::refuse(command, book::RejectReason::Unavailable, events_);
    } else if (!feed_has_room()) {
        add_one(refused_store_behind_);
        engine::Shard::refuse(command, book::RejectReason::Unavailable, events_);
    } else if (options_.feed != nullptr) {
        options_.feed->set_in_flight(log_.next_lsn());
        shard_.process(command, now, events_);
        collect_store_events(command);
        feed_store();
        options_.feed->set_in_flight(store::EventFeed::kIdle);
    } else {
        shard_.process(command, now, events_);
        collect_store_events(command);
    }
    if (options_.sync_all_trades) {
        origin.store_sync = std::any_of(events_.begin(), events_.end(), [](const auto& event) {
            return event.event.type == book::EventType::Trade;
        });
    }
    wal::Lsn command_lsn = 0;
    for (const engine::ShardEvent& event : events_) {
        command_lsn = std::max(command_lsn, event.lsn);
        if (event.lsn == 0 && event.event.type == book::EventType::Rejected) {
            count_refusal(event.event.reject_reason);
        }
        gate_.push(event, origin);
    }
    if (command_lsn != 0) {
        last_lsn_ = std::max(last_lsn_, command_lsn);
        unflushed_.logged(command_lsn, now);
        quorum_wait_.logged(command_lsn, now);
    }
    return events_;
}

// Only this shard's thread writes its counters, so a load and a store do (no locked increment);
// other threads only read them.
void ShardStage::add_one(std::atomic<std::uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void ShardStage::count_refusal(book::RejectReason reason) {
    if (reason == book::RejectReason::Busy) {
        add_one(refused_busy_);
    } else if (reason == book::RejectReason::Unavailable) {
        add_one(refused_unavailable_);
    }
}

// A command's events must fit in the feed; a command is only taken when a few thousand events
// fit, so that only a rare giant (a sweep or mass cancel of thousands of orders) ever waits.
bool ShardStage::feed_has_room() const {
    if (options_.feed == nullptr || options_.feed_may_drop) {
        return true;
    }
    const std::size_t reserve = std::min<std::size_t>(4096, options_.feed->capacity() / 4);
    return options_.feed->free_space() >= reserve;
}

void ShardStage::collect_store_events(const book::Command& command) {
    for (const engine::ShardEvent& event : events_) {
        if (event.lsn != 0) {
            store_events_.push_back(
                store::StoreEvent{event.lsn, shard_.id(), command.flags, event.event});
        }
    }
}

void ShardStage::feed_store() {
    if (store_events_.empty()) {
        return;
    }
    if (options_.feed_may_drop) {
        // Read after the command claimed its LSN (see EventFeed::dropping).
        if (options_.feed->dropping()) {
            return;
        }
        if (!options_.feed->try_push(store_events_)) {
            add_one(feed_overflows_);
            options_.feed->set_dropping(true);
        }
        return;
    }
    // Usually one push. A giant (a mass cancel or sweep of more orders than the feed holds) goes
    // in pieces: the flush worker stages what it takes, so the rest finds room.
    std::span<const store::StoreEvent> rest(store_events_);
    bool waited = false;
    while (!rest.empty()) {
        const std::size_t room = std::min(rest.size(), options_.feed->free_space());
        if (room > 0 && options_.feed->try_push(rest.first(room))) {
            rest = rest.subspan(room);
            continue;
        }
        waited = true;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    if (waited) {
        add_one(feed_full_waits_);
    }
}

void ShardStage::answer_status(const ShardRequest& request) {
    const book::Command& q = request.command;
    net::OrderStatus status;
    status.instrument = q.instrument;
    status.client_order_id = q.client_order_id;
    const book::ClientOrderLookup lookup =
        shard_.matcher().find_by_client_order_id(q.account, q.client_order_id);
    if (lookup.state == book::ClientOrderLookup::State::Resting &&
        lookup.resting->instrument == q.instrument) {
        status.state = net::OrderState::Resting;
        status.order_id = lookup.order_id;
        status.price = lookup.resting->price;
        status.leaves = lookup.resting->leaves;
        status.side = lookup.resting->side;
    } else if (lookup.state == book::ClientOrderLookup::State::Finished) {
        // Inside the client order id window the shard knows the order finished, not how.
        status.state = net::OrderState::Done;
        status.order_id = lookup.order_id;
    }
    // It reads state that may include commands not yet durable: it waits behind their acks.
    gate_.push_reply(last_lsn_, request.session, q.account, status);
}

}  // namespace exchanged::service
