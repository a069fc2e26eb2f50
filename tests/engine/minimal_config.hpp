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

}  // namespace exchanged::test
