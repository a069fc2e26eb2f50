// The sequenced inputs of the matching core. A Command is exactly what the WAL records: the book is a
// pure function of the commands it has applied, so every field matching needs is carried here,
// including the sequence number and timestamp the shard assigned and the account's self-trade mode.
#pragma once

#include <cstdint>
#include <limits>

#include "common/types.hpp"

namespace exchanged::book {

enum class CommandType : std::uint8_t { NewOrder = 0, Cancel = 1, Replace = 2, MassCancel = 3 };

enum class OrderType : std::uint8_t { Limit = 0, Market = 1 };

enum class TimeInForce : std::uint8_t {
    GoodTillCancel = 0,
    ImmediateOrCancel = 1,
    FillOrKill = 2,
};

// What happens when an order would trade with a resting order of the same account.
enum class SelfTradePrevention : std::uint8_t {
    CancelResting = 0,
    CancelIncoming = 1,
    CancelBoth = 2,
};

namespace order_flags {
inline constexpr std::uint8_t kPostOnly = 1u << 0;
// A liquidation order acts as an aggressive immediate-or-cancel order and is marked critical.
inline constexpr std::uint8_t kLiquidation = 1u << 1;
inline constexpr std::uint8_t kAll = kPostOnly | kLiquidation;
}  // namespace order_flags

// Mass cancel over every instrument of the account.
inline constexpr InstrumentId kAllInstruments = std::numeric_limits<InstrumentId>::max();

struct Command {
    CommandType type = CommandType::NewOrder;
    Side side = Side::Buy;
    OrderType order_type = OrderType::Limit;
    TimeInForce time_in_force = TimeInForce::GoodTillCancel;
    SelfTradePrevention self_trade = SelfTradePrevention::CancelResting;
    std::uint8_t flags = 0;
    InstrumentId instrument = 0;  // MassCancel: an instrument or kAllInstruments
    AccountId account = 0;
    SequenceNumber seq = 0;
    TimestampNs timestamp_ns = 0;
    ClientOrderId client_order_id = 0;
    OrderId order_id = 0;  // Cancel and Replace: the target order
    Price price = 0;       // NewOrder (limit) and Replace: the limit price
    Quantity quantity = 0;  // NewOrder: order quantity; Replace: the new open quantity
};

}  // namespace exchanged::book
