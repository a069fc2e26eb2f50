// The rules of `exchangectl verify` without the network: what an acknowledgement journal promises
// about the daemon's state after a restart (docs/tools.md). The journal is read first, which finds
// the faults visible in the journal alone (a fill seen twice, a trade id or order id used for two
// different things); then each accepted order is compared with the daemon's OrderStatus for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
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
    Quantity filled = 0;     // sum of the journal's fills for it
    bool cancelled = false;  // a Cancelled for it is in the journal
};

class JournalCheck {
  public:
    // Feeds the journal line by line (numbers from 1); an unparsable line is a failure.
    void add_line(std::size_t line_number, std::string_view line);
    // Attributes fills to their orders; call once after the last line.
    void finish_journal();

    const std::vector<JournaledOrder>& orders() const { return orders_; }
    // Checks one order against the daemon's answer to an OrderStatusRequest for it.
    void check_status(const JournaledOrder& order, const net::OrderStatus& status);
    // The order could not be checked (for example the status request was rejected).
    void fail_order(const JournaledOrder& order, const std::string& reason);

    std::uint64_t passed() const { return passed_; }
    const std::vector<std::string>& failures() const { return failures_; }

  private:
    struct FillSeen {  // the first fill with a given trade key
        std::size_t line;
        OrderId order_id;
    };
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
    };
    std::vector<CompactFill> fills_;
    std::vector<std::pair<InstrumentId, OrderId>> cancels_;
    // (account, instrument, client order id) and (instrument, order id) -> index in orders_.
    std::map<std::tuple<std::string, InstrumentId, ClientOrderId>, std::size_t> by_client_id_;
    std::map<std::pair<InstrumentId, OrderId>, std::size_t> by_order_id_;
    // (instrument, trade id, liquidity) -> the first fill seen with it.
    std::map<std::tuple<InstrumentId, TradeId, net::Liquidity>, FillSeen> trades_;
    std::uint64_t passed_ = 0;
    std::vector<std::string> failures_;
};

}  // namespace exchanged::tools
