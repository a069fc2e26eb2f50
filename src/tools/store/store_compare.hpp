// Row-by-row comparison of two stores, every field: reconcile checks that the primary store holds
// exactly what replaying the WAL from LSN 1 into an empty store produces. Matching is a pure
// function of the logged commands, so the two must agree to the last priority and timestamp.
#pragma once

#include <string>

#include "tools/store/check_result.hpp"
#include "tools/store/store_rows.hpp"

namespace exchanged::tools {

// `a_name` and `b_name` say which store is which in the messages ("store", "replay").
CheckResult compare_orders(const StoreRows& a, const std::string& a_name, const StoreRows& b,
                           const std::string& b_name);
CheckResult compare_trades(const StoreRows& a, const std::string& a_name, const StoreRows& b,
                           const std::string& b_name);

}  // namespace exchanged::tools
