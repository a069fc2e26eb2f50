#include "service/order_service.hpp"

#include <algorithm>
#include <type_traits>
#include <variant>

namespace exchanged::service {

namespace {

std::uint32_t account_slots(const Config& config) {
    std::uint32_t top = 0;
    for (const AccountConfig& account : config.accounts) {
        top = std::max(top, account.id);
    }
    return top + 1;
}

}  // namespace

OrderService::OrderService(const Config& config, const engine::ShardLayout& layout)
    : layout_(layout),
      self_trade_(account_slots(config), book::SelfTradePrevention::CancelResting),
      sessions_(account_slots(config)) {
    for (const AccountConfig& account : config.accounts) {
        self_trade_[account.id] = account.self_trade;
    }
}

ShardRunnerStats OrderService::runner_stats() const {
    ShardRunnerStats total;
    for (const ShardRunner* runner : runners_) {
        const ShardStageStats one = runner->stage().stats();
        total.refused_store_behind += one.refused_store_behind;
        total.feed_full_waits += one.feed_full_waits;
        total.feed_overflows += one.feed_overflows;
        total.refused_unflushed += one.refused_unflushed;
        total.unflushed_age_ns = std::max(total.unflushed_age_ns, one.unflushed_age_ns);
        total.refused_busy += one.refused_busy;
        total.refused_unavailable += one.refused_unavailable;
        total.refused_no_quorum += one.refused_no_quorum;
    }
    return total;
}

HistogramSnapshot OrderService::ack_latency(AckPoint point) const {
    HistogramSnapshot total = Histogram(latency_bounds_seconds()).snapshot();
    for (const ShardRunner* runner : runners_) {
        total.merge(runner->stage().gate().ack_latency(point).snapshot());
    }
    return total;
}

ShardRequest make_shard_request(net::SessionId session, AccountId account,
                                book::SelfTradePrevention self_trade,
                                const net::ClientRequest& request) {
    ShardRequest out;
    out.session = session;
    book::Command& c = out.command;
    c.account = account;
    c.self_trade = self_trade;
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            out.request_type = T::kType;
            c.instrument = m.instrument;
            if constexpr (std::is_same_v<T, net::NewOrder>) {
                c.type = book::CommandType::NewOrder;
                c.side = m.side;
                c.order_type = m.order_type;
                c.time_in_force = m.time_in_force;
                c.flags = m.flags;
                c.client_order_id = m.client_order_id;
                c.price = m.price;
                c.quantity = m.quantity;
            } else if constexpr (std::is_same_v<T, net::OrderStatusRequest>) {
                out.kind = ShardRequest::Kind::Status;
                c.client_order_id = m.client_order_id;
            } else {
                // The request id is logged in the command's client_order_id slot, which only new
                // orders use for themselves, so replay sees the same command.
                out.client_request_id = m.client_request_id;
                c.client_order_id = m.client_request_id;
                if constexpr (std::is_same_v<T, net::Cancel>) {
                    c.type = book::CommandType::Cancel;
                    c.order_id = m.order_id;
                } else if constexpr (std::is_same_v<T, net::Replace>) {
                    c.type = book::CommandType::Replace;
                    c.order_id = m.order_id;
                    c.price = m.price;
                    c.quantity = m.quantity;
                } else {
                    c.type = book::CommandType::MassCancel;
                }
            }
        },
        request);
    return out;
}

ShardRequest command_request(const book::Command& command, net::SessionId session,
                             std::uint64_t client_request_id) {
    ShardRequest out;
    out.session = session;
    out.command = command;
    switch (command.type) {
        case book::CommandType::NewOrder:
            out.request_type = net::MessageType::NewOrder;
            out.client_request_id = command.client_order_id;
            return out;
        case book::CommandType::Cancel:
            out.request_type = net::MessageType::Cancel;
            break;
        case book::CommandType::Replace:
            out.request_type = net::MessageType::Replace;
            break;
        case book::CommandType::MassCancel:
            out.request_type = net::MessageType::MassCancel;
            break;
    }
    out.client_request_id = client_request_id;
    return out;
}

net::SubmitResult OrderService::submit(net::SessionId session, AccountId account,
                                       const net::ClientRequest& request) {
    if (!accepting_.load(std::memory_order_acquire) || log_ == nullptr || !log_->running()) {
        return net::SubmitResult::Unavailable;
    }
    const book::SelfTradePrevention self_trade = account < self_trade_.size()
                                                     ? self_trade_[account]
                                                     : book::SelfTradePrevention::CancelResting;
    const ShardRequest shard_request = make_shard_request(session, account, self_trade, request);
    if (shard_request.kind == ShardRequest::Kind::Command &&
        engine::for_every_shard(shard_request.command)) {
        // Each shard logs and applies its own copy and answers with its own MassCancelled. A
        // full queue part-way leaves the earlier shards' copies in: the client sees Busy for the
        // rest and may repeat the mass cancel, which is harmless.
        for (ShardRunner* runner : runners_) {
            if (!runner->try_push(shard_request)) {
                return net::SubmitResult::Busy;
            }
        }
        return net::SubmitResult::Queued;
    }
    const engine::ShardId shard = layout_.shard_of(shard_request.command.instrument);
    return runners_[shard]->try_push(shard_request) ? net::SubmitResult::Queued
                                                    : net::SubmitResult::Busy;
}

bool OrderService::on_login(net::SessionId session, AccountId account) {
    // The gateway names net::kMaxSessionsPerAccount when it refuses the login this returns false.
    static_assert(SessionRegistry::kSlotsPerAccount == net::kMaxSessionsPerAccount);
    return sessions_.add(account, session);
}

void OrderService::on_logout(net::SessionId session, AccountId account) {
    sessions_.remove(account, session);
}

void OrderService::to_session(net::SessionId session, const net::Message& message) {
    if (net::Gateway* gateway = gateway_.load(std::memory_order_acquire)) {
        gateway->deliver(session, message);
    }
}

void OrderService::to_account(AccountId account, const net::Message& message) {
    net::Gateway* gateway = gateway_.load(std::memory_order_acquire);
    if (gateway == nullptr) {
        return;
    }
    sessions_.for_each(account,
                       [&](net::SessionId session) { gateway->deliver(session, message); });
}

}  // namespace exchanged::service
