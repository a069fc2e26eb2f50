// What a primary store must satisfy on its own, whatever the WAL and the journal say: trade ids
// unique per shard, every trade between two orders it names on their sides, each order's executed
// quantity the sum of its trades, leaves that agree with the order's state, and no instrument
// whose open orders cross (a best bid at or above the best ask would have traded).
#pragma once

#include <vector>

#include "tools/store/check_result.hpp"
#include "tools/store/profile_names.hpp"
#include "tools/store/store_rows.hpp"

namespace exchanged::tools {

std::vector<CheckResult> check_store_consistency(const StoreRows& rows, const ProfileNames& names);

}  // namespace exchanged::tools
