// An independent, deliberately naive model of docs/matching.md, used as the oracle of the
// differential test. It keeps resting orders in plain vectors and finds the best order by a linear
// scan every time, so that each rule of the spec maps onto a few obvious lines; speed is irrelevant
// as long as the books stay small (a few hundred orders).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "book/command.hpp"
#include "book/event.hpp"
#include "book/instrument_spec.hpp"
#include "book/matcher.hpp"

namespace exchanged::book::reference {

class ReferenceBook {
  public:
    ReferenceBook(std::vector<InstrumentSpec> instruments, const MatcherLimits& limits);

    // Same contract as Matcher::apply: appends the command's events to `out`.
    void apply(const Command& command, std::vector<Event>& out);

    // Instruments by id; bids best to worst, then asks best to worst; each level oldest first.
    std::vector<OrderView> resting_in_priority_order() const;

    OrderId next_order_id() const { return next_order_id_; }
    TradeId next_trade_id() const { return next_trade_id_; }
    std::size_t resting_count() const;

  private:
    struct Order {
        OrderId order_id = 0;
        ClientOrderId client_order_id = 0;
        AccountId account = 0;
        InstrumentId instrument = 0;
        Side side = Side::Buy;
        Price price = 0;
        Quantity leaves = 0;
        std::uint8_t flags = 0;
        // Time priority: a counter stamped when the order (re-)enters its level; smaller is older.
        std::uint64_t arrival = 0;
    };

    struct Book {
        InstrumentSpec spec;
        std::vector<Order> bids;
        std::vector<Order> asks;
        std::vector<Order>& side(Side s) { return s == Side::Buy ? bids : asks; }
        const std::vector<Order>& side(Side s) const { return s == Side::Buy ? bids : asks; }
    };

    // The incoming side of matching: a new order, or a replaced order re-entering.
    struct Taker {
        OrderId order_id = 0;
        ClientOrderId client_order_id = 0;
        AccountId account = 0;
        Side side = Side::Buy;
        bool is_market = false;
        bool critical = false;
        SelfTradePrevention self_trade = SelfTradePrevention::CancelResting;
        Price price = 0;
        Quantity leaves = 0;
        std::uint8_t flags = 0;
    };

    using ClientKey = std::pair<AccountId, ClientOrderId>;

    void new_order(const Command& c, std::vector<Event>& out);
    void cancel(const Command& c, std::vector<Event>& out);
    void replace(const Command& c, std::vector<Event>& out);
    void mass_cancel(const Command& c, std::vector<Event>& out);

    RejectReason validate_new_order(const Command& c) const;
    RejectReason find_target(const Command& c, Book*& book, Side& side, std::size_t& index);
    static RejectReason check_quantity(const InstrumentSpec& spec, Quantity q);
    static RejectReason check_price(const InstrumentSpec& spec, Price p);
    bool client_id_in_use(AccountId account, ClientOrderId id) const;

    // Index into side(s) of the best order (best price, then oldest), or -1 when empty.
    static long best_index(const std::vector<Order>& orders, Side s);
    static bool price_acceptable(const Taker& t, Price resting_price);
    Quantity fill_or_kill_available(const Book& book, const Taker& t) const;
    // Runs the matching loop, then disposes of the remainder (rest when `may_rest`, else cancel).
    void execute(Book& book, Taker& t, bool may_rest, const Command& c, std::vector<Event>& out);
    void rest(Book& book, const Taker& t, InstrumentId instrument);
    void finish(AccountId account, ClientOrderId id);

    Book* book_of(InstrumentId id);
    // Locates a resting order by id anywhere in the shard.
    bool locate(OrderId id, Book*& book, Side& side, std::size_t& index);

    static Event base_event(const Command& c, EventType type);
    static Event rejected(const Command& c, RejectReason reason);
    static Event cancelled(const Command& c, const Order& o, CancelReason reason, bool critical);

    std::vector<Book> books_;  // sorted by instrument id
    MatcherLimits limits_;
    std::deque<ClientKey> finished_;                     // oldest first, at most the window
    std::map<ClientKey, std::uint32_t> finished_count_;  // the same keys, for a quick lookup
    OrderId next_order_id_ = 1;
    TradeId next_trade_id_ = 1;
    std::uint64_t next_arrival_ = 1;
};

}  // namespace exchanged::book::reference
