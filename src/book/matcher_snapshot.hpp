// A matcher's whole state as plain data: what the primary store keeps so that recovery can load
// the books at store_lsn and replay only the WAL tail (docs/architecture.md: Recovery). Restoring a
// snapshot into a fresh Matcher built with the same instruments and limits gives the same
// state_hash() and, for every later command, the same events as the matcher it was taken from.
//
// Two orders matter besides the books' contents: time priority within a price level (a resting
// order's place in its level's FIFO, set when it rested or last lost priority in a replace), and
// each account's list of resting orders (mass cancel emits its Cancelled events in that order,
// which is order id order: the list is appended to when an order first rests and a replace never
// moves it).
#pragma once

#include <cstdint>
#include <vector>

#include "common/types.hpp"

namespace exchanged::book {

struct RestingOrderState {
    OrderId order_id = 0;
    ClientOrderId client_order_id = 0;
    AccountId account = 0;
    InstrumentId instrument = 0;
    Side side = Side::Buy;
    Price price = 0;
    Quantity leaves = 0;
    std::uint8_t flags = 0;  // order_flags as the order was entered
    // Orders of one level rest oldest first by this key (any increasing numbering will do, e.g.
    // the seq of the command that placed the order at the level's tail). Unique per level.
    std::uint64_t priority = 0;
    friend bool operator==(const RestingOrderState&, const RestingOrderState&) = default;
};

// A finished order whose client order id is still remembered for duplicate detection.
struct FinishedClientOrder {
    AccountId account = 0;
    ClientOrderId client_order_id = 0;
    OrderId order_id = 0;
    friend bool operator==(const FinishedClientOrder&, const FinishedClientOrder&) = default;
};

struct MatcherSnapshot {
    OrderId next_order_id = 1;
    TradeId next_trade_id = 1;
    // Every resting order, in any order (restore sorts them).
    std::vector<RestingOrderState> resting;
    // Oldest first; at most client_order_id_window of them (restore keeps the newest that fit).
    std::vector<FinishedClientOrder> finished;
    friend bool operator==(const MatcherSnapshot&, const MatcherSnapshot&) = default;
};

}  // namespace exchanged::book
