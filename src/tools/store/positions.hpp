// Per account and instrument: the quantity bought, the quantity sold, and the cash the trades
// moved (a sale adds price × quantity, a purchase subtracts it), in profile price units.
// Reconcile compares them between the store, the WAL replay and the journal's fills: a summary a
// person can check by eye, where the row comparisons give the details.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "common/types.hpp"
#include "engine/shard_layout.hpp"
#include "tools/client/journal_contents.hpp"
#include "tools/store/check_result.hpp"
#include "tools/store/profile_names.hpp"
#include "tools/store/store_rows.hpp"

namespace exchanged::tools {

// A sum of price × quantity outgrows 64 bits: the standard profile allows 1e9 × 1e6 per trade.
__extension__ using Cash = __int128;
std::string cash_text(Cash cash);

struct Position {
    Quantity bought = 0;
    Quantity sold = 0;
    Cash cash = 0;
    friend bool operator==(const Position&, const Position&) = default;
};

using Positions = std::map<std::pair<AccountId, InstrumentId>, Position>;

void add_execution(Positions& positions, AccountId account, InstrumentId instrument, Side side,
                   Price price, Quantity quantity);

// Both sides of every trade: the taker's and the maker's.
Positions positions_of(const StoreRows& rows);

// The journal's fills, and the same sides of the same trades as the store has them: a journal
// covers only what its sessions were told, so the store is compared over those trades alone.
struct JournalPositions {
    Positions journal;
    Positions store;
    std::uint64_t fills = 0;
    std::uint64_t unknown_accounts = 0;  // fills of accounts the profile lacks (left out)
};
JournalPositions journal_positions(const JournalContents& journal, const StoreRows& rows,
                                   const engine::ShardLayout& layout, const ProfileNames& names);

// One check per (account, instrument) present on either side; a side without it holds zero.
void compare_positions(const Positions& a, const std::string& a_name, const Positions& b,
                       const std::string& b_name, const ProfileNames& names, CheckResult& out);

}  // namespace exchanged::tools
