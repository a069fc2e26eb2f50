// Plain value types shared by every component. Prices are integer ticks' worth of price units and
// quantities are integer units; an instrument's tick and lot sizes say which values are legal.
#pragma once

#include <cstdint>

namespace exchanged {

using Price = std::int64_t;
using Quantity = std::int64_t;
using OrderId = std::uint64_t;
using ClientOrderId = std::uint64_t;
using TradeId = std::uint64_t;
using AccountId = std::uint32_t;
using InstrumentId = std::uint32_t;
using SequenceNumber = std::uint64_t;
using TimestampNs = std::int64_t;

enum class Side : std::uint8_t { Buy = 0, Sell = 1 };

constexpr Side opposite(Side side) { return side == Side::Buy ? Side::Sell : Side::Buy; }

}  // namespace exchanged
