// The rules of `exchangectl store verify` (docs/tools.md): what an acknowledgement journal promises
// about the primary store once the store holds every event of the WAL (after a clean stop or
// `exchanged --recover`). Each accepted order must be an order row with the same fields, each fill
// a trade row with the same price and quantity and the fill's order on the fill's side, and no
// row may contradict what the journal saw happen to it. The store's rows are streamed and merged
// with the journal sorted the same way, so only the journal is held in memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/shard_layout.hpp"
#include "store/store.hpp"
#include "tools/client/journal_contents.hpp"
#include "tools/store/profile_names.hpp"

namespace exchanged::tools {

struct StoreVerifyResult {
    std::uint64_t passed = 0;           // accepted orders and distinct fills that matched
    std::vector<std::string> failures;  // `FAIL line L: <what>: <why>`; the journal's own first
    std::uint64_t store_orders = 0;     // rows read
    std::uint64_t store_trades = 0;
};

// Order and trade ids are per shard: `layout` maps each journaled instrument to its shard the way
// the daemon routes it. Adds the order failures to journal.check's list, which it then returns
// with the fill failures after it.
StoreVerifyResult verify_store_against_journal(JournalContents& journal, store::Store& store,
                                               const engine::ShardLayout& layout,
                                               const ProfileNames& names);

}  // namespace exchanged::tools
