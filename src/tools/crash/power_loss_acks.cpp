#include "tools/crash/power_loss_acks.hpp"

#include <variant>

namespace exchanged::tools {

void AckRecorder::to_session(net::SessionId session, const net::Message& message) {
    ++acks_.replies;
    if (const auto* accepted = std::get_if<net::Accepted>(&message)) {
        const engine::ShardId shard = layout_.shard_of(accepted->instrument);
        acks_.orders[{shard, accepted->order_id}] = AckedOrder{shard,
                                                               accepted->order_id,
                                                               static_cast<AccountId>(session),
                                                               accepted->instrument,
                                                               accepted->client_order_id,
                                                               accepted->side,
                                                               accepted->price,
                                                               accepted->quantity,
                                                               0};
    } else if (const auto* fill = std::get_if<net::Fill>(&message)) {
        // The taker's fill goes to its session; the maker's half arrives through to_account.
        const engine::ShardId shard = layout_.shard_of(fill->instrument);
        AckedTrade& trade = acks_.trades[{shard, fill->trade_id}];
        trade.shard = shard;
        trade.trade_id = fill->trade_id;
        trade.instrument = fill->instrument;
        trade.price = fill->price;
        trade.quantity = fill->quantity;
        trade.taker_order_id = fill->order_id;
        trade.taker_account = static_cast<AccountId>(session);
        trade.taker_side = fill->side;
    }
}

void AckRecorder::to_account(AccountId account, const net::Message& message) {
    ++acks_.replies;
    if (const auto* fill = std::get_if<net::Fill>(&message)) {
        const engine::ShardId shard = layout_.shard_of(fill->instrument);
        AckedTrade& trade = acks_.trades[{shard, fill->trade_id}];
        trade.maker_order_id = fill->order_id;
        trade.maker_account = account;
    }
}

Acks acks_due(std::span<const store::StoreEvent> events, wal::Lsn durable_lsn) {
    Acks due;
    for (const store::StoreEvent& stored : events) {
        if (stored.lsn > durable_lsn) {
            continue;
        }
        const book::Event& e = stored.event;
        ++due.replies;
        if (e.type == book::EventType::Accepted) {
            due.orders[{stored.shard, e.order_id}] =
                AckedOrder{stored.shard, e.order_id, e.account,  e.instrument, e.client_order_id,
                           e.side,       e.price,    e.quantity, stored.lsn};
        } else if (e.type == book::EventType::Trade) {
            ++due.replies;  // the maker's fill
            due.trades[{stored.shard, e.trade_id}] = AckedTrade{
                stored.shard, e.trade_id, e.instrument,     e.price,         e.quantity, e.order_id,
                e.account,    e.side,     e.maker_order_id, e.maker_account, stored.lsn};
        }
    }
    return due;
}

}  // namespace exchanged::tools
