#include "reference_book.hpp"

#include <algorithm>

namespace exchanged::book::reference {

namespace {

bool is_post_only(std::uint8_t flags) {
    return (flags & order_flags::kPostOnly) != 0;
}
bool is_liquidation(std::uint8_t flags) {
    return (flags & order_flags::kLiquidation) != 0;
}

// True when `a` has priority over `b` on side `s`: better price, then older.
bool before(Side s, Price a_price, std::uint64_t a_arrival, Price b_price,
            std::uint64_t b_arrival) {
    if (a_price != b_price) {
        return s == Side::Buy ? a_price > b_price : a_price < b_price;
    }
    return a_arrival < b_arrival;
}

}  // namespace

ReferenceBook::ReferenceBook(std::vector<InstrumentSpec> instruments, const MatcherLimits& limits)
    : limits_(limits) {
    std::sort(instruments.begin(), instruments.end(),
              [](const InstrumentSpec& a, const InstrumentSpec& b) { return a.id < b.id; });
    for (const InstrumentSpec& spec : instruments) {
        books_.push_back(Book{spec, {}, {}});
    }
}

std::size_t ReferenceBook::resting_count() const {
    std::size_t n = 0;
    for (const Book& b : books_) {
        n += b.bids.size() + b.asks.size();
    }
    return n;
}

ReferenceBook::Book* ReferenceBook::book_of(InstrumentId id) {
    for (Book& b : books_) {
        if (b.spec.id == id) {
            return &b;
        }
    }
    return nullptr;
}

bool ReferenceBook::locate(OrderId id, Book*& book, Side& side, std::size_t& index) {
    for (Book& b : books_) {
        for (Side s : {Side::Buy, Side::Sell}) {
            const std::vector<Order>& orders = b.side(s);
            for (std::size_t i = 0; i < orders.size(); ++i) {
                if (orders[i].order_id == id) {
                    book = &b;
                    side = s;
                    index = i;
                    return true;
                }
            }
        }
    }
    return false;
}

std::vector<OrderView> ReferenceBook::resting_in_priority_order() const {
    std::vector<OrderView> views;
    for (const Book& b : books_) {
        for (Side s : {Side::Buy, Side::Sell}) {
            std::vector<Order> sorted = b.side(s);
            std::sort(sorted.begin(), sorted.end(), [s](const Order& x, const Order& y) {
                return before(s, x.price, x.arrival, y.price, y.arrival);
            });
            for (const Order& o : sorted) {
                views.push_back(OrderView{o.order_id, o.client_order_id, o.account, o.instrument,
                                          o.side, o.price, o.leaves, o.flags});
            }
        }
    }
    return views;
}

// ---------------------------------------------------------------------------------------------
// Event construction. Every event carries the command's seq, timestamp and instrument.

Event ReferenceBook::base_event(const Command& c, EventType type) {
    Event e;
    e.type = type;
    e.seq = c.seq;
    e.timestamp_ns = c.timestamp_ns;
    e.instrument = c.instrument;
    return e;
}

Event ReferenceBook::rejected(const Command& c, RejectReason reason) {
    Event e = base_event(c, EventType::Rejected);
    e.reject_reason = reason;
    e.account = c.account;
    e.side = c.side;
    e.client_order_id = c.client_order_id;
    e.order_id = c.order_id;
    // The spec leaves the other fields of Rejected open; echoing the command is what a gateway
    // needs to match the reject to its request. A refused liquidation is still one of the events
    // a liquidation causes, so it is critical too.
    e.price = c.price;
    e.quantity = c.quantity;
    e.critical = is_liquidation(c.flags);
    return e;
}

Event ReferenceBook::cancelled(const Command& c, const Order& o, CancelReason reason,
                               bool critical) {
    Event e = base_event(c, EventType::Cancelled);
    e.instrument = o.instrument;
    e.cancel_reason = reason;
    e.critical = critical;
    e.side = o.side;
    e.account = o.account;
    e.order_id = o.order_id;
    e.client_order_id = o.client_order_id;
    e.price = o.price;
    e.quantity = o.leaves;  // the quantity removed is what was still open
    e.leaves = 0;
    return e;
}

// ---------------------------------------------------------------------------------------------

void ReferenceBook::apply(const Command& c, std::vector<Event>& out) {
    switch (c.type) {
        case CommandType::NewOrder:
            new_order(c, out);
            return;
        case CommandType::Cancel:
            cancel(c, out);
            return;
        case CommandType::Replace:
            replace(c, out);
            return;
        case CommandType::MassCancel:
            mass_cancel(c, out);
            return;
    }
    // The spec lists four command kinds; anything else cannot change the book.
    out.push_back(rejected(c, RejectReason::InvalidCommand));
}

RejectReason ReferenceBook::check_quantity(const InstrumentSpec& spec, Quantity q) {
    if (q <= 0) {
        return RejectReason::InvalidQuantity;
    }
    if (q % spec.lot_size != 0) {
        return RejectReason::QuantityOffLot;
    }
    if (q > spec.max_order_quantity) {
        return RejectReason::QuantityTooLarge;
    }
    return RejectReason::None;
}

RejectReason ReferenceBook::check_price(const InstrumentSpec& spec, Price p) {
    if (p <= 0) {
        return RejectReason::InvalidPrice;
    }
    if (p % spec.tick_size != 0) {
        return RejectReason::PriceOffTick;
    }
    if (p < spec.min_price || p > spec.max_price) {
        return RejectReason::PriceOutsideBand;
    }
    return RejectReason::None;
}

bool ReferenceBook::client_id_in_use(AccountId account, ClientOrderId id) const {
    for (const Book& b : books_) {
        for (Side s : {Side::Buy, Side::Sell}) {
            for (const Order& o : b.side(s)) {
                if (o.account == account && o.client_order_id == id) {
                    return true;
                }
            }
        }
    }
    return finished_count_.count(ClientKey{account, id}) != 0;
}

// An order left the shard (filled, cancelled, killed): its client order id stays reserved while
// it is among the last `client_order_id_window` such orders.
void ReferenceBook::finish(AccountId account, ClientOrderId id) {
    if (limits_.client_order_id_window == 0) {
        return;
    }
    const ClientKey key{account, id};
    finished_.push_back(key);
    ++finished_count_[key];
    if (finished_.size() > limits_.client_order_id_window) {
        const ClientKey old = finished_.front();
        finished_.pop_front();
        if (--finished_count_[old] == 0) {
            finished_count_.erase(old);
        }
    }
}

// Validation steps 1-9 of the spec, first failing check wins.
RejectReason ReferenceBook::validate_new_order(const Command& c) const {
    const Book* book = nullptr;
    for (const Book& b : books_) {
        if (b.spec.id == c.instrument) {
            book = &b;
        }
    }
    if (book == nullptr) {
        return RejectReason::UnknownInstrument;
    }
    if (c.account >= limits_.max_accounts) {
        return RejectReason::UnknownAccount;
    }
    if (static_cast<unsigned>(c.side) > 1) {
        return RejectReason::InvalidSide;
    }
    if (static_cast<unsigned>(c.order_type) > 1) {
        return RejectReason::InvalidOrderType;
    }
    if (static_cast<unsigned>(c.time_in_force) > 2) {
        return RejectReason::InvalidTimeInForce;
    }
    if (static_cast<unsigned>(c.self_trade) > 2) {
        return RejectReason::InvalidSelfTradePrevention;
    }
    if ((c.flags & ~order_flags::kAll) != 0 || (is_post_only(c.flags) && is_liquidation(c.flags))) {
        return RejectReason::InvalidFlags;
    }
    if (const RejectReason r = check_quantity(book->spec, c.quantity); r != RejectReason::None) {
        return r;
    }
    const bool market = c.order_type == OrderType::Market;
    if (market) {
        if (is_post_only(c.flags)) {
            return RejectReason::InvalidFlags;
        }
        if (c.time_in_force == TimeInForce::GoodTillCancel && !is_liquidation(c.flags)) {
            return RejectReason::InvalidTimeInForce;
        }
    } else {
        if (const RejectReason r = check_price(book->spec, c.price); r != RejectReason::None) {
            return r;
        }
        if (is_post_only(c.flags) && c.time_in_force != TimeInForce::GoodTillCancel) {
            return RejectReason::InvalidTimeInForce;
        }
    }
    if (client_id_in_use(c.account, c.client_order_id)) {
        return RejectReason::DuplicateClientOrderId;
    }
    const bool could_rest =
        !market && c.time_in_force == TimeInForce::GoodTillCancel && !is_liquidation(c.flags);
    if (could_rest && resting_count() >= limits_.max_orders) {
        return RejectReason::BookFull;
    }
    const std::vector<Order>& resting_opposite = book->side(opposite(c.side));
    const long best = best_index(resting_opposite, opposite(c.side));
    if (is_post_only(c.flags) && best >= 0) {
        const Price best_price = resting_opposite[static_cast<std::size_t>(best)].price;
        if (c.side == Side::Buy ? c.price >= best_price : c.price <= best_price) {
            return RejectReason::PostOnlyWouldCross;
        }
    }
    if (market && best < 0) {
        return RejectReason::NoLiquidity;
    }
    return RejectReason::None;
}

long ReferenceBook::best_index(const std::vector<Order>& orders, Side s) {
    long best = -1;
    for (std::size_t i = 0; i < orders.size(); ++i) {
        if (best < 0) {
            best = static_cast<long>(i);
            continue;
        }
        const Order& b = orders[static_cast<std::size_t>(best)];
        if (before(s, orders[i].price, orders[i].arrival, b.price, b.arrival)) {
            best = static_cast<long>(i);
        }
    }
    return best;
}

bool ReferenceBook::price_acceptable(const Taker& t, Price resting_price) {
    if (t.is_market) {
        return true;
    }
    return t.side == Side::Buy ? resting_price <= t.price : resting_price >= t.price;
}

// Fill-or-kill availability: the opposite orders at acceptable prices in priority order, other
// accounts only; with cancel-incoming or cancel-both the first own order ends the count, because
// matching would stop there.
Quantity ReferenceBook::fill_or_kill_available(const Book& book, const Taker& t) const {
    const Side s = opposite(t.side);
    std::vector<Order> sorted = book.side(s);
    std::sort(sorted.begin(), sorted.end(), [s](const Order& x, const Order& y) {
        return before(s, x.price, x.arrival, y.price, y.arrival);
    });
    Quantity available = 0;
    for (const Order& o : sorted) {
        if (!price_acceptable(t, o.price)) {
            break;
        }
        if (o.account == t.account) {
            if (t.self_trade == SelfTradePrevention::CancelResting) {
                continue;
            }
            break;
        }
        available += o.leaves;
    }
    return available;
}

void ReferenceBook::execute(Book& book, Taker& t, bool may_rest, const Command& c,
                            std::vector<Event>& out) {
    const Side maker_side = opposite(t.side);
    std::vector<Order>& makers = book.side(maker_side);
    bool stopped_by_self_trade = false;
    while (t.leaves > 0) {
        const long bi = best_index(makers, maker_side);
        if (bi < 0) {
            break;
        }
        const std::size_t i = static_cast<std::size_t>(bi);
        if (!price_acceptable(t, makers[i].price)) {
            break;
        }
        if (makers[i].account == t.account) {
            const SelfTradePrevention mode = t.self_trade;
            if (mode == SelfTradePrevention::CancelIncoming) {
                stopped_by_self_trade = true;
                break;
            }
            // Cancel resting and cancel both remove the resting order first.
            const Order gone = makers[i];
            makers.erase(makers.begin() + bi);
            out.push_back(cancelled(c, gone, CancelReason::SelfTrade, t.critical));
            finish(gone.account, gone.client_order_id);
            if (mode == SelfTradePrevention::CancelBoth) {
                stopped_by_self_trade = true;
                break;
            }
            continue;
        }
        Order& maker = makers[i];
        const Quantity q = std::min(t.leaves, maker.leaves);
        t.leaves -= q;
        maker.leaves -= q;
        Event e = base_event(c, EventType::Trade);
        e.instrument = book.spec.id;
        e.critical = t.critical;
        e.side = t.side;
        e.account = t.account;
        e.order_id = t.order_id;
        e.client_order_id = t.client_order_id;
        e.price = maker.price;  // trades happen at the resting order's price
        e.quantity = q;
        e.leaves = t.leaves;
        e.trade_id = next_trade_id_++;
        e.maker_order_id = maker.order_id;
        e.maker_client_order_id = maker.client_order_id;
        e.maker_account = maker.account;
        e.maker_leaves = maker.leaves;
        out.push_back(e);
        if (maker.leaves == 0) {
            const Order done = maker;
            makers.erase(makers.begin() + bi);
            finish(done.account, done.client_order_id);
        }
    }

    if (t.leaves == 0) {
        finish(t.account, t.client_order_id);
        return;
    }
    if (!stopped_by_self_trade && may_rest) {
        rest(book, t, book.spec.id);
        return;
    }
    Order remainder;
    remainder.order_id = t.order_id;
    remainder.client_order_id = t.client_order_id;
    remainder.account = t.account;
    remainder.instrument = book.spec.id;
    remainder.side = t.side;
    remainder.price = t.price;
    remainder.leaves = t.leaves;
    out.push_back(
        cancelled(c, remainder,
                  stopped_by_self_trade ? CancelReason::SelfTrade : CancelReason::ImmediateOrCancel,
                  t.critical));
    finish(t.account, t.client_order_id);
}

void ReferenceBook::rest(Book& book, const Taker& t, InstrumentId instrument) {
    Order o;
    o.order_id = t.order_id;
    o.client_order_id = t.client_order_id;
    o.account = t.account;
    o.instrument = instrument;
    o.side = t.side;
    o.price = t.price;
    o.leaves = t.leaves;
    o.flags = t.flags;
    o.arrival = next_arrival_++;  // behind every order already at its price
    book.side(t.side).push_back(o);
}

// ---------------------------------------------------------------------------------------------

void ReferenceBook::new_order(const Command& c, std::vector<Event>& out) {
    if (const RejectReason r = validate_new_order(c); r != RejectReason::None) {
        out.push_back(rejected(c, r));
        return;
    }
    Book& book = *book_of(c.instrument);
    const bool market = c.order_type == OrderType::Market;
    const bool liquidation = is_liquidation(c.flags);

    Taker t;
    t.order_id = next_order_id_++;
    t.client_order_id = c.client_order_id;
    t.account = c.account;
    t.side = c.side;
    t.is_market = market;
    t.critical = liquidation;
    t.self_trade = c.self_trade;
    t.price = market ? 0 : c.price;  // a market order's price field is ignored
    t.leaves = c.quantity;
    t.flags = c.flags;

    Event accepted = base_event(c, EventType::Accepted);
    accepted.critical = liquidation;
    accepted.side = c.side;
    accepted.account = c.account;
    accepted.order_id = t.order_id;
    accepted.client_order_id = c.client_order_id;
    accepted.price = t.price;
    accepted.quantity = c.quantity;
    accepted.leaves = c.quantity;
    out.push_back(accepted);

    // Liquidations act as immediate-or-cancel whatever time in force they carry, so the
    // fill-or-kill pre-check does not apply to them.
    if (c.time_in_force == TimeInForce::FillOrKill && !liquidation &&
        fill_or_kill_available(book, t) < t.leaves) {
        Order killed;
        killed.order_id = t.order_id;
        killed.client_order_id = t.client_order_id;
        killed.account = t.account;
        killed.instrument = c.instrument;
        killed.side = t.side;
        killed.price = t.price;
        killed.leaves = t.leaves;
        out.push_back(cancelled(c, killed, CancelReason::FillOrKill, t.critical));
        finish(t.account, t.client_order_id);
        return;
    }
    const bool may_rest = !market && !liquidation && c.time_in_force == TimeInForce::GoodTillCancel;
    execute(book, t, may_rest, c, out);
}

// Cancel and replace name a configured instrument and account, then a resting order of that
// instrument that belongs to the account.
RejectReason ReferenceBook::find_target(const Command& c, Book*& book, Side& side,
                                        std::size_t& index) {
    if (book_of(c.instrument) == nullptr) {
        return RejectReason::UnknownInstrument;
    }
    if (c.account >= limits_.max_accounts) {
        return RejectReason::UnknownAccount;
    }
    if (!locate(c.order_id, book, side, index) || book->spec.id != c.instrument) {
        return RejectReason::UnknownOrder;
    }
    if (book->side(side)[index].account != c.account) {
        return RejectReason::NotYourOrder;
    }
    return RejectReason::None;
}

void ReferenceBook::cancel(const Command& c, std::vector<Event>& out) {
    Book* book = nullptr;
    Side side = Side::Buy;
    std::size_t index = 0;
    if (const RejectReason r = find_target(c, book, side, index); r != RejectReason::None) {
        out.push_back(rejected(c, r));
        return;
    }
    std::vector<Order>& orders = book->side(side);
    const Order gone = orders[index];
    orders.erase(orders.begin() + static_cast<long>(index));
    out.push_back(cancelled(c, gone, CancelReason::ClientRequest, false));
    finish(gone.account, gone.client_order_id);
}

void ReferenceBook::replace(const Command& c, std::vector<Event>& out) {
    Book* book = nullptr;
    Side side = Side::Buy;
    std::size_t index = 0;
    if (const RejectReason r = find_target(c, book, side, index); r != RejectReason::None) {
        out.push_back(rejected(c, r));
        return;
    }
    std::vector<Order>& orders = book->side(side);
    if (static_cast<unsigned>(c.self_trade) > 2) {
        out.push_back(rejected(c, RejectReason::InvalidSelfTradePrevention));
        return;
    }
    if (const RejectReason r = check_quantity(book->spec, c.quantity); r != RejectReason::None) {
        out.push_back(rejected(c, r));
        return;
    }
    if (const RejectReason r = check_price(book->spec, c.price); r != RejectReason::None) {
        out.push_back(rejected(c, r));
        return;
    }
    Order& o = orders[index];
    auto replaced_event = [&](const Order& order) {
        Event e = base_event(c, EventType::Replaced);
        e.side = order.side;
        e.account = order.account;
        e.order_id = order.order_id;
        e.client_order_id = order.client_order_id;
        e.price = c.price;
        e.quantity = c.quantity;
        e.leaves = c.quantity;
        return e;
    };

    if (c.price == o.price && c.quantity <= o.leaves) {
        o.leaves = c.quantity;  // keeps its time priority
        out.push_back(replaced_event(o));
        return;
    }
    if (is_post_only(o.flags)) {
        const Side opp = opposite(side);
        const long best = best_index(book->side(opp), opp);
        if (best >= 0) {
            const Price best_price = book->side(opp)[static_cast<std::size_t>(best)].price;
            if (side == Side::Buy ? c.price >= best_price : c.price <= best_price) {
                out.push_back(rejected(c, RejectReason::PostOnlyWouldCross));
                return;
            }
        }
    }
    const Order old = o;
    orders.erase(orders.begin() + static_cast<long>(index));
    out.push_back(replaced_event(old));

    Taker t;
    t.order_id = old.order_id;
    t.client_order_id = old.client_order_id;
    t.account = old.account;
    t.side = old.side;
    t.is_market = false;
    t.critical = false;
    t.self_trade = c.self_trade;
    t.price = c.price;
    t.leaves = c.quantity;
    t.flags = old.flags;
    execute(*book, t, true, c, out);
}

void ReferenceBook::mass_cancel(const Command& c, std::vector<Event>& out) {
    if (c.account >= limits_.max_accounts) {
        out.push_back(rejected(c, RejectReason::UnknownAccount));
        return;
    }
    if (c.instrument != kAllInstruments && book_of(c.instrument) == nullptr) {
        out.push_back(rejected(c, RejectReason::UnknownInstrument));
        return;
    }
    std::vector<Order> victims;
    for (Book& b : books_) {
        if (c.instrument != kAllInstruments && b.spec.id != c.instrument) {
            continue;
        }
        for (Side s : {Side::Buy, Side::Sell}) {
            std::vector<Order>& orders = b.side(s);
            for (const Order& o : orders) {
                if (o.account == c.account) {
                    victims.push_back(o);
                }
            }
            std::erase_if(orders, [&](const Order& o) { return o.account == c.account; });
        }
    }
    std::sort(victims.begin(), victims.end(),
              [](const Order& a, const Order& b) { return a.order_id < b.order_id; });
    for (const Order& o : victims) {
        out.push_back(cancelled(c, o, CancelReason::MassCancel, false));
        finish(o.account, o.client_order_id);
    }
    Event done = base_event(c, EventType::MassCancelled);
    done.account = c.account;
    // Not named by the spec; echoing it lets a client match the summary to its request.
    done.client_order_id = c.client_order_id;
    done.quantity = static_cast<Quantity>(victims.size());
    out.push_back(done);
}

}  // namespace exchanged::book::reference
