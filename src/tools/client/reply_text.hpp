// One readable line per server reply, for the order, cancel and status commands:
// `accepted order_id=17 AMZN buy 10 @ 200.0000`. Prices are printed in dollars (the profile's
// $0.0001 units divided out) and instruments by symbol.
#pragma once

#include <string>

#include "config/config.hpp"
#include "net/protocol.hpp"

namespace exchanged::tools {

std::string reply_text(const exchanged::Config& profile, const net::Message& message);

}  // namespace exchanged::tools
