// An acknowledgement journal read for the checks against the store (`store verify`,
// `reconcile`). JournalCheck keeps the accepted orders with what their fills and cancels add up
// to, and finds the journal's own faults; the fill lines are kept whole besides, because the store
// checks need each fill's trade id, price and liquidity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "common/types.hpp"
#include "net/protocol.hpp"
#include "tools/client/journal_check.hpp"

namespace exchanged::tools {

struct JournalFill {
    std::size_t line = 0;
    std::string account;
    InstrumentId instrument = 0;
    TradeId trade_id = 0;
    OrderId order_id = 0;
    Side side = Side::Buy;
    Price price = 0;
    Quantity quantity = 0;
    net::Liquidity liquidity = net::Liquidity::Maker;
};

struct JournalContents {
    JournalCheck check;              // finish_journal() already called
    std::vector<JournalFill> fills;  // every well-formed fill line, in file order, repeats
                                     // from other sessions left out
    std::uint64_t lines = 0;
    std::uint64_t accepted_lines = 0;
    std::uint64_t cancelled_lines = 0;
    std::uint64_t rejected_lines = 0;
    std::uint64_t replaced_lines = 0;
    std::uint64_t mass_cancelled_lines = 0;

    // "N lines: A accepted, F fills, C cancelled, R rejected[, P replaced, M mass cancels]", F
    // counting each trade once however many sessions journaled it.
    std::string summary() const;
};

JournalContents read_journal(std::istream& in);
// Throws std::runtime_error naming the file when it cannot be read.
JournalContents read_journal_file(const std::string& path);

}  // namespace exchanged::tools
