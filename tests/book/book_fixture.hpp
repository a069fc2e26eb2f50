// A small language for hand-written book scenarios: each helper sends one command with the next
// sequence number and returns the events it produced.
#pragma once

#include <vector>

#include "book/matcher.hpp"

namespace exchanged::book::testing {

inline constexpr InstrumentId kBtc = 1;
inline constexpr InstrumentId kEth = 2;

inline std::vector<InstrumentSpec> default_instruments() {
    return {
        InstrumentSpec{kBtc, "BTC", 5, 10, 100, 100'000, 1'000'000},
        InstrumentSpec{kEth, "ETH", 1, 1, 1, 10'000, 1'000},
    };
}

struct OrderOptions {
    OrderType type = OrderType::Limit;
    TimeInForce tif = TimeInForce::GoodTillCancel;
    std::uint8_t flags = 0;
    SelfTradePrevention stp = SelfTradePrevention::CancelResting;
    InstrumentId instrument = kBtc;
};

class BookFixture {
public:
    explicit BookFixture(MatcherLimits limits = small_limits(),
                         std::vector<InstrumentSpec> instruments = default_instruments())
        : matcher(instruments, limits) {}

    static MatcherLimits small_limits() {
        MatcherLimits limits;
        limits.max_orders = 64;
        limits.max_accounts = 8;
        limits.client_order_id_window = 16;
        return limits;
    }

    std::vector<Event> send(Command command) {
        command.seq = ++seq;
        command.timestamp_ns = static_cast<TimestampNs>(seq) * 1'000;
        std::vector<Event> events;
        matcher.apply(command, events);
        return events;
    }

    std::vector<Event> order(AccountId account, Side side, Price price, Quantity quantity,
                             OrderOptions options = {}) {
        Command c;
        c.type = CommandType::NewOrder;
        c.account = account;
        c.side = side;
        c.price = price;
        c.quantity = quantity;
        c.order_type = options.type;
        c.time_in_force = options.tif;
        c.flags = options.flags;
        c.self_trade = options.stp;
        c.instrument = options.instrument;
        c.client_order_id = ++client_order_id;
        return send(c);
    }
    std::vector<Event> buy(AccountId account, Price price, Quantity quantity, OrderOptions o = {}) {
        return order(account, Side::Buy, price, quantity, o);
    }
    std::vector<Event> sell(AccountId account, Price price, Quantity quantity, OrderOptions o = {}) {
        return order(account, Side::Sell, price, quantity, o);
    }
    // Places a resting order and returns its order id.
    OrderId rest(AccountId account, Side side, Price price, Quantity quantity,
                 OrderOptions options = {}) {
        auto events = order(account, side, price, quantity, options);
        return events.front().order_id;
    }

    std::vector<Event> cancel(AccountId account, OrderId id, InstrumentId instrument = kBtc) {
        Command c;
        c.type = CommandType::Cancel;
        c.account = account;
        c.order_id = id;
        c.instrument = instrument;
        c.client_order_id = ++client_order_id;
        return send(c);
    }

    std::vector<Event> replace(AccountId account, OrderId id, Price price, Quantity quantity,
                               InstrumentId instrument = kBtc,
                               SelfTradePrevention stp = SelfTradePrevention::CancelResting) {
        Command c;
        c.type = CommandType::Replace;
        c.account = account;
        c.order_id = id;
        c.price = price;
        c.quantity = quantity;
        c.instrument = instrument;
        c.self_trade = stp;
        c.client_order_id = ++client_order_id;
        return send(c);
    }

    std::vector<Event> mass_cancel(AccountId account, InstrumentId instrument = kAllInstruments) {
        Command c;
        c.type = CommandType::MassCancel;
        c.account = account;
        c.instrument = instrument;
        c.client_order_id = ++client_order_id;
        return send(c);
    }

    // Resting order ids of one instrument in priority order (bids first).
    std::vector<OrderId> resting(InstrumentId instrument = kBtc) const {
        std::vector<OrderId> ids;
        matcher.for_each_resting([&](const OrderView& o) {
            if (o.instrument == instrument) {
                ids.push_back(o.order_id);
            }
        });
        return ids;
    }

    Matcher matcher;
    SequenceNumber seq = 0;
    ClientOrderId client_order_id = 0;
};

inline std::vector<EventType> types(const std::vector<Event>& events) {
    std::vector<EventType> result;
    for (const Event& e : events) {
        result.push_back(e.type);
    }
    return result;
}

}  // namespace exchanged::book::testing
