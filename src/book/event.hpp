// What the matching core emits for each command, in a deterministic order. One Trade event describes
// both sides of an execution; the gateway turns it into a Fill for the maker and one for the taker.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/types.hpp"

namespace exchanged::book {

enum class EventType : std::uint8_t {
    Accepted = 0,       // a new order passed validation and got its order id
    Rejected = 1,       // a command was refused; nothing changed
    Trade = 2,          // an execution between a taker and a resting maker
    Cancelled = 3,      // an order (or its remainder) left the book without trading
    Replaced = 4,       // a resting order took its new price and/or quantity
    MassCancelled = 5,  // a mass cancel finished; quantity is how many orders it cancelled
};

enum class RejectReason : std::uint8_t {
    None = 0,
    UnknownInstrument,
    UnknownAccount,
    InvalidSide,
    InvalidOrderType,
    InvalidTimeInForce,
    InvalidSelfTradePrevention,
    InvalidFlags,
    InvalidQuantity,
    QuantityOffLot,
    QuantityTooLarge,
    InvalidPrice,
    PriceOffTick,
    PriceOutsideBand,
    DuplicateClientOrderId,
    UnknownOrder,
    NotYourOrder,
    PostOnlyWouldCross,
    NoLiquidity,
    BookFull,
    InvalidCommand,
    // Gateway-level reasons: the shard refused the command before the matcher saw it (nothing was
    // logged, nothing changed). The matcher never produces them.
    Busy,         // the WAL's queue was full
    Unavailable,  // the WAL has failed or is closed
};

enum class CancelReason : std::uint8_t {
    None = 0,
    ClientRequest,     // a Cancel command
    MassCancel,        // a MassCancel command
    SelfTrade,         // self-trade prevention
    ImmediateOrCancel,  // the unfilled remainder of an IOC, market or liquidation order
    FillOrKill,        // a fill-or-kill order that could not fill completely
};

struct Event {
    EventType type = EventType::Accepted;
    RejectReason reject_reason = RejectReason::None;
    CancelReason cancel_reason = CancelReason::None;
    Side side = Side::Buy;  // the order's side; for a Trade, the taker's side
    bool critical = false;  // liquidation orders: acknowledged at the strongest durability point
    InstrumentId instrument = 0;
    AccountId account = 0;  // the order's owner; for a Trade, the taker's account
    SequenceNumber seq = 0;  // of the command that caused the event
    TimestampNs timestamp_ns = 0;
    OrderId order_id = 0;  // for a Trade, the taker's order id
    ClientOrderId client_order_id = 0;
    Price price = 0;  // Accepted/Replaced: limit price; Trade: execution price
    // Accepted: order quantity; Trade: executed quantity; Cancelled: quantity removed;
    // Replaced: new open quantity; MassCancelled: number of orders cancelled.
    Quantity quantity = 0;
    Quantity leaves = 0;  // open quantity after the event (for a Trade, the taker's)
    TradeId trade_id = 0;
    OrderId maker_order_id = 0;
    ClientOrderId maker_client_order_id = 0;
    AccountId maker_account = 0;
    Quantity maker_leaves = 0;

    friend bool operator==(const Event&, const Event&) = default;
};

std::string_view to_string(EventType type);
std::string_view to_string(RejectReason reason);
std::string_view to_string(CancelReason reason);

}  // namespace exchanged::book
