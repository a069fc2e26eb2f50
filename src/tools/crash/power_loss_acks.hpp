// What the clients of the power-loss scenario were told before the power went: the orders whose
// acceptance and the trades whose fills left the release gate. Two views of it are compared:
// what the daemon's own ReleaseGate released (AckRecorder, the sink it sends to), and what the
// profile promises it releases, computed from the events (every reply of a command whose LSN the
// WAL held durably: ack_after = wal). After recovery every acknowledged order and trade must be
// there.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/shard_layout.hpp"
#include "service/release_gate.hpp"
#include "store/store.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::tools {

struct AckedOrder {
    engine::ShardId shard = 0;
    OrderId order_id = 0;
    AccountId account = 0;
    InstrumentId instrument = 0;
    ClientOrderId client_order_id = 0;
    Side side = Side::Buy;
    Price price = 0;
    Quantity quantity = 0;
    wal::Lsn lsn = 0;  // of the command that placed it (not compared: a reply does not carry it)
    auto key() const {
        return std::tie(shard, order_id, account, instrument, client_order_id, side, price,
                        quantity);
    }
};

struct AckedTrade {
    engine::ShardId shard = 0;
    TradeId trade_id = 0;
    InstrumentId instrument = 0;
    Price price = 0;
    Quantity quantity = 0;
    OrderId taker_order_id = 0;
    AccountId taker_account = 0;
    Side taker_side = Side::Buy;
    OrderId maker_order_id = 0;
    AccountId maker_account = 0;
    wal::Lsn lsn = 0;  // not compared, as above
    auto key() const {
        return std::tie(shard, trade_id, instrument, price, quantity, taker_order_id, taker_account,
                        taker_side, maker_order_id, maker_account);
    }
};

struct Acks {
    std::map<std::pair<engine::ShardId, OrderId>, AckedOrder> orders;
    std::map<std::pair<engine::ShardId, TradeId>, AckedTrade> trades;
    std::uint64_t replies = 0;  // every message, rejects and cancels included
};

// The replies a shard's ReleaseGate sends. Each account has one session, whose id is the
// account's, so that both the taker's fill (to the session) and the maker's (to the account)
// name their owner.
class AckRecorder final : public service::ReplySink {
  public:
    explicit AckRecorder(const engine::ShardLayout& layout) : layout_(layout) {}

    void to_session(net::SessionId session, const net::Message& message) override;
    void to_account(AccountId account, const net::Message& message) override;

    const Acks& acks() const { return acks_; }
    void clear() { acks_ = Acks{}; }

  private:
    const engine::ShardLayout& layout_;
    Acks acks_;
};

// The acknowledgements the profile owes for the events of commands logged at or below
// `durable_lsn`: every reply, and in them every accepted order and every trade.
Acks acks_due(std::span<const store::StoreEvent> events, wal::Lsn durable_lsn);

}  // namespace exchanged::tools
