// The rules of `exchangectl verify` without the network: what an acknowledgement journal promises
// about the daemon's state after a restart (docs/tools.md). The journal is read first, which finds
// the faults visible in the journal alone (one trade journaled twice with different contents, a
// trade id or order id used for two different things, a mass cancel whose count differs from its
// cancels); then each accepted order, with every fill, cancel and replace the journal has for it,
// is compared with the daemon's OrderStatus for it.
//
// Several sessions of one account each receive the account's maker fills, so the same fill can be
// journaled once per session: an identical repeat is the same effect, seen again, and counts once.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "common/types.hpp"
#include "net/protocol.hpp"
#include "tools/client/ack_journal.hpp"

namespace exchanged::tools {

// An accepted order with what the journal says happened to it since.
struct JournaledOrder {
    std::size_t line = 0;  // of its accepted record, for messages
    std::string account;
    InstrumentId instrument = 0;
    ClientOrderId client_order_id = 0;
    OrderId order_id = 0;
    Side side = Side::Buy;
    Price price = 0;
    Quantity quantity = 0;
    Quantity filled = 0;        // sum of the journal's distinct fills for it
    bool cancelled = false;     // a Cancelled for it is in the journal
    bool fully_filled = false;  // a fill left it no open quantity
    // The last Replaced for it, in journal order (one session sends an order's replaces, and a
    // session's lines keep their order): the price and open quantity it set.
    bool replaced = false;
    Price replaced_price = 0;
    Quantity replaced_leaves = 0;

    // Replaces sent for it that got no answer (the kill took it): the daemon may have applied
    // any of them.
    std::vector<Price> unanswered_prices;
    Quantity unanswered_leaves = 0;  // the largest of them

    // At least client_order_id_window orders were accepted on its shard after it: once finished,
    // the daemon may have forgotten it (it remembers only that many finished orders per shard).
    bool may_be_forgotten = false;

    // The largest open quantity the order may still have: fills after the journal ended can only
    // lower it.
    Quantity open_at_most() const {
        return std::max(replaced ? replaced_leaves : quantity - filled, unanswered_leaves);
    }
    // Only then do its fills add up to at most its quantity, and to all of it once filled: a
    // replace (even one whose answer a kill took) can raise the open quantity.
    bool never_replaced() const { return !replaced && unanswered_prices.empty(); }
    // The price it rests at if it still rests, unless an unanswered replace moved it.
    Price resting_price() const { return replaced ? replaced_price : price; }
    bool may_rest_at(Price at) const {
        return at == resting_price() ||
               std::find(unanswered_prices.begin(), unanswered_prices.end(), at) !=
                   unanswered_prices.end();
    }
};

// What one journal line added.
enum class LineEffect : std::uint8_t {
    New,        // a new effect (or a line that promises nothing, a Rejected)
    Duplicate,  // the same effect already journaled by another session: counted once
    Failed,     // unreadable or contradicting an earlier line: a failure was recorded
};

class JournalCheck {
  public:
    // Feeds the journal line by line (numbers from 1); an unparsable line is a failure.
    LineEffect add_line(std::size_t line_number, std::string_view line);
    // Attributes fills, cancels and replaces to their orders and checks each mass cancel's count;
    // call once after the last line.
    void finish_journal();

    const std::vector<JournaledOrder>& orders() const { return orders_; }
    // Marks the orders a daemon that remembers `window` finished orders per shard may have
    // forgotten. The journal undercounts what the daemon saw after an order (acks a kill took,
    // replaces), so the mark is taken early: at three quarters of the window of later accepted
    // orders on the same shard. `store verify` checks those orders against the store instead.
    template <typename ShardOf>
    void mark_forgettable(std::size_t window, ShardOf shard_of) {
        std::map<std::uint64_t, std::size_t> later;
        for (auto it = orders_.rbegin(); it != orders_.rend(); ++it) {
            std::size_t& count = later[shard_of(it->instrument)];
            it->may_be_forgotten = count >= window - window / 4;
            ++count;
        }
    }
    // Checks one order against the daemon's answer to an OrderStatusRequest for it.
    void check_status(const JournaledOrder& order, const net::OrderStatus& status);
    // The order could not be checked (for example the status request was rejected).
    void fail_order(const JournaledOrder& order, const std::string& reason);

    std::uint64_t passed() const { return passed_; }
    // Orders the daemon did not know that it may have forgotten (mark_forgettable): neither
    // passed nor failed here; `store verify` checks them against the store.
    std::uint64_t forgotten() const { return forgotten_; }
    const std::vector<std::string>& failures() const { return failures_; }
    // Lines that repeated an effect already journaled (the other sessions' copies of maker fills).
    std::uint64_t duplicates() const { return duplicates_; }

  private:
    struct FillSeen {  // the first fill with a given trade key
        std::size_t line;
        OrderId order_id;
        std::string account;
        Side side;
        Price price;
        Quantity quantity;
        Quantity leaves;
    };
    struct CancelSeen {
        std::size_t line;
        Quantity quantity;
    };
    struct MassCancelSeen {
        std::size_t line;
        InstrumentId instrument;
        Quantity count;  // summed over the shards' MassCancelled lines of one request
    };
    LineEffect add_fill(std::size_t line, const JournalRecord& record);
    LineEffect add_cancel(std::size_t line, const JournalRecord& record);
    void check_mass_cancels();
    void fail(std::size_t line, const std::string& reason);
    std::string describe(const JournaledOrder& order) const;

    std::vector<JournaledOrder> orders_;
    // Fills and cancels wait for finish_journal, which attributes them whatever the line order.
    struct CompactFill {
        std::size_t line;
        InstrumentId instrument;
        OrderId order_id;
        Side side;
        Quantity quantity;
        Quantity leaves;
    };
    std::vector<CompactFill> fills_;
    struct CompactReplace {
        std::size_t line;
        InstrumentId instrument;
        OrderId order_id;
        Price price;
        Quantity leaves;
    };
    std::vector<CompactReplace> replaces_;
    struct ReplaceRequest {
        std::string account;
        std::uint64_t request_id;
        InstrumentId instrument;
        OrderId order_id;
        Price price;
        Quantity quantity;
    };
    std::vector<ReplaceRequest> replace_requests_;
    // (account, request id) of each Replaced, and of each Rejected of a replace.
    std::set<std::pair<std::string, std::uint64_t>> answered_replaces_;
    // (instrument, order id) -> its Cancelled.
    std::map<std::pair<InstrumentId, OrderId>, CancelSeen> cancels_;
    // (account, request id) -> the cancels that named it, and the MassCancelled lines for it.
    std::map<std::pair<std::string, std::uint64_t>, Quantity> cancels_by_request_;
    std::map<std::pair<std::string, std::uint64_t>, MassCancelSeen> mass_cancels_;
    // (account, instrument, client order id) and (instrument, order id) -> index in orders_.
    std::map<std::tuple<std::string, InstrumentId, ClientOrderId>, std::size_t> by_client_id_;
    std::map<std::pair<InstrumentId, OrderId>, std::size_t> by_order_id_;
    // (instrument, trade id, liquidity) -> the first fill seen with it.
    std::map<std::tuple<InstrumentId, TradeId, net::Liquidity>, FillSeen> trades_;
    std::uint64_t passed_ = 0;
    std::uint64_t forgotten_ = 0;
    std::uint64_t duplicates_ = 0;
    std::vector<std::string> failures_;
};

}  // namespace exchanged::tools
