// The two sections whose keys the operator names: [instruments] (one symbol per key) and [accounts]
// (one account name per key). Each value is a space-separated list of name=value attributes.
#pragma once

#include <string_view>

#include "book/instrument_spec.hpp"
#include "config/config.hpp"

namespace exchanged::config_detail {

// `id=1 tick_size=100 lot_size=1 min_price=1000000 max_price=4000000 max_order_quantity=1000000`,
// all required, checked with book::validate. Throws ValueError.
book::InstrumentSpec parse_instrument(std::string_view symbol, std::string_view value);

// `id=1 secret=... [self_trade=cancel_resting|cancel_incoming|cancel_both]`. Throws ValueError; the
// message never repeats the secret.
AccountConfig parse_account(std::string_view name, std::string_view value);

}  // namespace exchanged::config_detail
