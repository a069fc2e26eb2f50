// The static description of one instrument, from configuration. Prices must be positive multiples of
// tick_size inside [min_price, max_price]; quantities positive multiples of lot_size up to
// max_order_quantity. The price band also bounds the book's memory: one level per tick inside it.
#pragma once

#include <string>

#include "common/types.hpp"

namespace exchanged::book {

struct InstrumentSpec {
    InstrumentId id = 0;
    std::string symbol;
    Price tick_size = 1;
    Quantity lot_size = 1;
    Price min_price = 1;
    Price max_price = 1;
    Quantity max_order_quantity = 1;
};

// Upper bound on price levels per side; a band wider than this is a configuration error.
inline constexpr Price kMaxPriceLevels = 1 << 22;

// Empty when the spec is usable, otherwise a message naming the bad field.
std::string validate(const InstrumentSpec& spec);

}  // namespace exchanged::book
