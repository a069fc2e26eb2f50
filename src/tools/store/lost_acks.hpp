// What a crash took from a profile with a loss window (hft, async: acknowledged at match, the
// store their only durable copy): each line of one run's acknowledgement journal is found in the
// recovered store or not. The store commits whole commands in LSN order, and one session receives
// a shard's replies in LSN order, so what is missing must be a tail: per account and shard, once
// one line is missing every later one must be too. A missing line with a present one after it, or
// a row that contradicts its line, is a failure; a missing tail is the loss, counted.
//
// Checked per account, so each load connection must log in as its own account (the journal does
// not say which connection a line came from, and two connections' blocks interleave in the file).
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "engine/shard_layout.hpp"
#include "tools/store/profile_names.hpp"
#include "tools/store/store_rows.hpp"

namespace exchanged::tools {

// What the profile promises even inside its loss window (exchanged::Config::critical_ack_after,
// [safety] sync_all_trades): such a line missing is a failure, not a loss.
struct LossRules {
    bool critical_orders_durable = false;
    Quantity critical_order_threshold = 0;  // an order above it is critical
    bool trades_durable = false;
};

// The earliest and latest of some microsecond stamps (empty until the first).
struct TimeSpan {
    std::int64_t first_us = 0;
    std::int64_t last_us = 0;

    bool empty() const { return first_us == 0; }
    void add(std::int64_t at_us);
    double ms() const { return empty() ? 0.0 : static_cast<double>(last_us - first_us) / 1000.0; }
};

struct LostAcks {
    std::uint64_t lines = 0;
    std::uint64_t kept = 0;  // written to `kept`: present in the store, and every rejected line
    std::uint64_t lost_accepted = 0;
    std::uint64_t lost_fills = 0;
    std::uint64_t lost_cancelled = 0;
    std::uint64_t lost_replaced = 0;
    std::vector<std::string> failures;  // `FAIL line L: <line>: <why>`
    // The loss in time: the span from the first lost acknowledgement to the last, by the
    // daemon's stamps (ack_us) when every lost line has one, otherwise by the receive times
    // (at_us). Lines without the stamp used are counted in lost_untimed.
    TimeSpan lost_span;
    bool lost_span_by_ack = false;
    std::uint64_t lost_untimed = 0;
    // Every accepted line's receive time, for the rate the run's acknowledgements came at.
    TimeSpan accepted_span;
    std::uint64_t accepted_timed = 0;

    std::uint64_t lost() const {
        return lost_accepted + lost_fills + lost_cancelled + lost_replaced;
    }
};

// Reads `journal` line by line and writes each line the store holds to `kept`, so that the kept
// journal can go on being checked strictly (store verify, reconcile, verify) after the restart
// has reused the lost ids.
LostAcks find_lost_acks(std::istream& journal, const StoreRows& rows,
                        const engine::ShardLayout& layout, const ProfileNames& names,
                        const LossRules& rules, std::ostream& kept);

}  // namespace exchanged::tools
