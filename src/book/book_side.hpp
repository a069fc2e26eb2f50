// Storage of resting orders: a pool of fixed-size order records linked into FIFO queues per price
// level, and one side of one instrument's book as an array of levels over the price band with a
// bitmap of the non-empty ones. Indices, not pointers, link the records, so the whole structure is
// allocated once and copying or hashing it never depends on addresses.
#pragma once

#include <cstdint>
#include <vector>

#include "book/level_bitmap.hpp"
#include "common/types.hpp"

namespace exchanged::book {

using Slot = std::uint32_t;
inline constexpr Slot kNoSlot = UINT32_MAX;

struct RestingOrder {
    OrderId order_id = 0;
    ClientOrderId client_order_id = 0;
    Price price = 0;
    Quantity leaves = 0;
    AccountId account = 0;
    std::uint32_t instrument_index = 0;
    Slot level_prev = kNoSlot;
    Slot level_next = kNoSlot;
    Slot account_prev = kNoSlot;
    Slot account_next = kNoSlot;
    Side side = Side::Buy;
    std::uint8_t flags = 0;
};

struct PriceLevel {
    Slot head = kNoSlot;
    Slot tail = kNoSlot;
    Quantity total = 0;
    std::uint32_t count = 0;
};

struct BookSide {
    explicit BookSide(std::size_t level_count) : levels(level_count), occupied(level_count) {}

    std::vector<PriceLevel> levels;
    LevelBitmap occupied;
    std::int64_t best = LevelBitmap::kNone;  // level index of the best price, or kNone
};

}  // namespace exchanged::book
