// The smallest configuration text that loads: four lines. Tests put their own lines in front, so
// line numbers in their expectations count from the top of what they add.
#pragma once

#include <string>

namespace exchanged::test {

inline const std::string kMinimalConfigTail =
    "[instruments]\n"
    "AMZN = id=1 tick_size=100 lot_size=1 min_price=1000000 max_price=4000000 "
    "max_order_quantity=1000000\n"
    "[accounts]\n"
    "alice = id=1 secret=s3cret-value\n";

// What the tests that start the real daemon trade in: AMZN, and alice and bob with their secrets.
inline const std::string kAmznInstrument =
    "AMZN = id=1 tick_size=100 lot_size=1 min_price=1000000 max_price=4000000 "
    "max_order_quantity=1000000\n";
inline const std::string kAaplInstrument =
    "AAPL = id=2 tick_size=100 lot_size=1 min_price=500000 max_price=3000000 "
    "max_order_quantity=1000000\n";
inline const std::string kAliceAndBob =
    "[accounts]\n"
    "alice = id=1 secret=alice-secret\n"
    "bob = id=2 secret=bob-secret\n";

}  // namespace exchanged::test
