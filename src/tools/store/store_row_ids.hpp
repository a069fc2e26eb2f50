// Rows missing from the primary store, found from the ids alone. Each shard's matcher hands out
// order ids 1, 2, 3, ... (one per accepted order, each of which the store inserts) and trade ids
// the same way, and shard_meta keeps the next of each; so a healthy store holds exactly the ids
// 1 .. next - 1 of every shard. After a salvage that dropped the rows of damaged pages (the dump
// in docs/recovery.md), this names what is gone. It needs no WAL and no journal, so it works on a
// store whose WAL segments were recycled long ago.
#pragma once

#include <cstdint>

#include "store/store.hpp"
#include "tools/store/check_result.hpp"

namespace exchanged::tools {

struct RowIdReport {
    CheckResult orders{"store: order ids 1..next without gaps"};
    CheckResult trades{"store: trade ids 1..next without gaps"};
    std::uint64_t missing_orders = 0;
    std::uint64_t missing_trades = 0;
    std::uint64_t misplaced_rows = 0;  // on no shard, past the counters, or out of order
};

// Reads store_lsn, the counters of shards 0 .. shard_count-1 and every order and trade id
// (streamed). Throws store::StoreError when the store cannot be read (a lost meta row included).
RowIdReport check_row_ids(store::Store& store, std::uint32_t shard_count);

}  // namespace exchanged::tools
