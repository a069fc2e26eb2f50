#include "book/matcher.hpp"

#include <algorithm>
#include <cassert>
#include <stdexcept>
#include <string>

namespace exchanged::book {
namespace {

constexpr InstrumentId kMaxInstrumentId = 65535;

Event event_for(EventType type, const Command& command) {
    Event event;
    event.type = type;
    event.seq = command.seq;
    event.timestamp_ns = command.timestamp_ns;
    event.instrument = command.instrument;
    return event;
}

void reject(const Command& command, RejectReason reason, std::vector<Event>& out) {
    out.push_back(rejected_event(command, reason));
}

// The limits and instruments checked, the instruments sorted by id. Done before any pool is
// allocated: a bad profile is refused at once, not after touching max_orders slots.
std::vector<InstrumentSpec> checked_specs(std::span<const InstrumentSpec> instruments,
                                          const MatcherLimits& limits) {
    if (limits.max_orders == 0 || limits.max_orders >= kNoSlot) {
        throw std::invalid_argument("max_orders must be between 1 and " +
                                    std::to_string(kNoSlot - 1));
    }
    if (limits.max_accounts == 0) {
        throw std::invalid_argument("max_accounts must be at least 1");
    }
    std::vector<InstrumentSpec> specs(instruments.begin(), instruments.end());
    std::sort(specs.begin(), specs.end(),
              [](const InstrumentSpec& a, const InstrumentSpec& b) { return a.id < b.id; });
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const InstrumentSpec& spec = specs[i];
        if (std::string problem = validate(spec); !problem.empty()) {
            throw std::invalid_argument("instrument " + std::to_string(spec.id) + " (" +
                                        spec.symbol + "): " + problem);
        }
        if (spec.id > kMaxInstrumentId) {
            throw std::invalid_argument("instrument id " + std::to_string(spec.id) + " is above " +
                                        std::to_string(kMaxInstrumentId));
        }
        if (i > 0 && specs[i - 1].id == spec.id) {
            throw std::invalid_argument("instrument id " + std::to_string(spec.id) +
                                        " is configured twice");
        }
    }
    return specs;
}

}  // namespace

Event rejected_event(const Command& command, RejectReason reason) {
    Event event = event_for(EventType::Rejected, command);
    event.reject_reason = reason;
    event.side = command.side;
    event.account = command.account;
    event.order_id = command.order_id;
    event.client_order_id = command.client_order_id;
    event.price = command.price;
    event.quantity = command.quantity;
    event.critical = (command.flags & order_flags::kLiquidation) != 0;
    return event;
}

Matcher::Matcher(std::span<const InstrumentSpec> instruments, const MatcherLimits& limits)
    : limits_(limits),
      specs_(checked_specs(instruments, limits)),
      pool_(limits.max_orders),
      order_index_(limits.max_orders),
      client_index_(std::size_t{limits.max_orders} + limits.client_order_id_window + 1,
                    ClientKeyHash{limits.client_index_seed}),
      finished_ring_(limits.client_order_id_window),
      account_head_(limits.max_accounts, kNoSlot),
      account_tail_(limits.max_accounts, kNoSlot) {
    book_by_instrument_.assign(specs_.empty() ? 0 : specs_.back().id + 1, -1);
    books_.reserve(specs_.size());
    for (const InstrumentSpec& spec : specs_) {
        book_by_instrument_[spec.id] = static_cast<std::int32_t>(books_.size());
        const auto level_count =
            static_cast<std::size_t>((spec.max_price - spec.min_price) / spec.tick_size + 1);
        books_.emplace_back(spec, level_count);
    }
    // Thread the free list so that slot 0 is handed out first.
    for (Slot s = 0; s < limits.max_orders; ++s) {
        pool_[s].level_next = s + 1 < limits.max_orders ? s + 1 : kNoSlot;
    }
    free_head_ = 0;
}

Matcher::InstrumentBook* Matcher::book_of(InstrumentId instrument) {
    if (instrument >= book_by_instrument_.size() || book_by_instrument_[instrument] < 0) {
        return nullptr;
    }
    return &books_[static_cast<std::size_t>(book_by_instrument_[instrument])];
}

const Matcher::InstrumentBook* Matcher::book_of(InstrumentId instrument) const {
    return const_cast<Matcher*>(this)->book_of(instrument);
}

void Matcher::apply(const Command& command, std::vector<Event>& out) {
    switch (command.type) {
        case CommandType::NewOrder:
            new_order(command, out);
            return;
        case CommandType::Cancel:
            cancel(command, out);
            return;
        case CommandType::Replace:
            replace(command, out);
            return;
        case CommandType::MassCancel:
            mass_cancel(command, out);
            return;
    }
    reject(command, RejectReason::InvalidCommand, out);
}

RejectReason Matcher::check_price(const InstrumentSpec& spec, Price price) const {
    if (price <= 0) {
        return RejectReason::InvalidPrice;
    }
    if (price % spec.tick_size != 0) {
        return RejectReason::PriceOffTick;
    }
    if (price < spec.min_price || price > spec.max_price) {
        return RejectReason::PriceOutsideBand;
    }
    return RejectReason::None;
}

RejectReason Matcher::check_quantity(const InstrumentSpec& spec, Quantity quantity) const {
    if (quantity <= 0) {
        return RejectReason::InvalidQuantity;
    }
    if (quantity % spec.lot_size != 0) {
        return RejectReason::QuantityOffLot;
    }
    if (quantity > spec.max_order_quantity) {
        return RejectReason::QuantityTooLarge;
    }
    return RejectReason::None;
}

RejectReason Matcher::validate_new_order(const Command& command, const InstrumentBook* book) const {
    if (book == nullptr) {
        return RejectReason::UnknownInstrument;
    }
    if (command.account >= limits_.max_accounts) {
        return RejectReason::UnknownAccount;
    }
    if (command.side != Side::Buy && command.side != Side::Sell) {
        return RejectReason::InvalidSide;
    }
    if (command.order_type != OrderType::Limit && command.order_type != OrderType::Market) {
        return RejectReason::InvalidOrderType;
    }
    if (command.time_in_force > TimeInForce::FillOrKill) {
        return RejectReason::InvalidTimeInForce;
    }
    if (command.self_trade > SelfTradePrevention::CancelBoth) {
        return RejectReason::InvalidSelfTradePrevention;
    }
    if ((command.flags & ~order_flags::kAll) != 0) {
        return RejectReason::InvalidFlags;
    }
    const bool post_only = (command.flags & order_flags::kPostOnly) != 0;
    const bool liquidation = (command.flags & order_flags::kLiquidation) != 0;
    if (post_only && liquidation) {
        return RejectReason::InvalidFlags;
    }
    if (RejectReason r = check_quantity(book->spec, command.quantity); r != RejectReason::None) {
        return r;
    }
    if (command.order_type == OrderType::Market) {
        if (post_only) {
            return RejectReason::InvalidFlags;
        }
        if (command.time_in_force == TimeInForce::GoodTillCancel && !liquidation) {
            return RejectReason::InvalidTimeInForce;
        }
    } else {
        if (RejectReason r = check_price(book->spec, command.price); r != RejectReason::None) {
            return r;
        }
        if (post_only && command.time_in_force != TimeInForce::GoodTillCancel) {
            return RejectReason::InvalidTimeInForce;
        }
    }
    if (client_index_.find(ClientKey{command.account, command.client_order_id}) != nullptr) {
        return RejectReason::DuplicateClientOrderId;
    }
    const bool may_rest = command.order_type == OrderType::Limit && !liquidation &&
                          command.time_in_force == TimeInForce::GoodTillCancel;
    if (may_rest && free_head_ == kNoSlot) {
        return RejectReason::BookFull;
    }
    if (post_only && crosses(*book, command.side, false, command.price)) {
        return RejectReason::PostOnlyWouldCross;
    }
    if (command.order_type == OrderType::Market) {
        const BookSide& opposite_side = command.side == Side::Buy ? book->asks : book->bids;
        if (opposite_side.best == LevelBitmap::kNone) {
            return RejectReason::NoLiquidity;
        }
    }
    return RejectReason::None;
}

bool Matcher::crosses(const InstrumentBook& book, Side side, bool is_market, Price price) const {
    const BookSide& opposite_side = side == Side::Buy ? book.asks : book.bids;
    if (opposite_side.best == LevelBitmap::kNone) {
        return false;
    }
    if (is_market) {
        return true;
    }
    const Price best = level_price(book, opposite_side.best);
    return side == Side::Buy ? best <= price : best >= price;
}

void Matcher::new_order(const Command& command, std::vector<Event>& out) {
    InstrumentBook* book = book_of(command.instrument);
    if (RejectReason r = validate_new_order(command, book); r != RejectReason::None) {
        reject(command, r, out);
        return;
    }
    const bool liquidation = (command.flags & order_flags::kLiquidation) != 0;
    const bool is_market = command.order_type == OrderType::Market;
    const TimeInForce tif = liquidation ? TimeInForce::ImmediateOrCancel : command.time_in_force;
    Taker taker{next_order_id_++,   command.client_order_id,
                command.account,    command.side,
                is_market,          liquidation,
                command.self_trade, is_market ? 0 : command.price,
                command.quantity};
    const ClientKey key{command.account, command.client_order_id};
    const bool inserted = client_index_.insert(key, taker.order_id);
    assert(inserted);
    (void)inserted;

    Event accepted = event_for(EventType::Accepted, command);
    accepted.side = taker.side;
    accepted.critical = taker.critical;
    accepted.account = taker.account;
    accepted.order_id = taker.order_id;
    accepted.client_order_id = taker.client_order_id;
    accepted.price = taker.price;
    accepted.quantity = command.quantity;
    accepted.leaves = command.quantity;
    out.push_back(accepted);

    auto finish = [&](CancelReason reason) {
        Event cancelled = accepted;
        cancelled.type = EventType::Cancelled;
        cancelled.cancel_reason = reason;
        cancelled.quantity = taker.leaves;
        cancelled.leaves = 0;
        out.push_back(cancelled);
        remember_finished(key);
    };

    if (tif == TimeInForce::FillOrKill && fillable_quantity(*book, taker) < taker.leaves) {
        finish(CancelReason::FillOrKill);
        return;
    }
    const bool stopped = match(*book, taker, command, out);
    if (taker.leaves == 0) {
        remember_finished(key);
    } else if (stopped) {
        finish(CancelReason::SelfTrade);
    } else if (tif != TimeInForce::GoodTillCancel || is_market) {
        finish(CancelReason::ImmediateOrCancel);
    } else {
        const Slot slot = allocate_slot();
        RestingOrder& order = pool_[slot];
        order = RestingOrder{};
        order.order_id = taker.order_id;
        order.client_order_id = taker.client_order_id;
        order.price = taker.price;
        order.leaves = taker.leaves;
        order.account = taker.account;
        order.instrument_index = static_cast<std::uint32_t>(book - books_.data());
        order.side = taker.side;
        order.flags = command.flags;
        const bool indexed = order_index_.insert(order.order_id, slot);
        assert(indexed);
        (void)indexed;
        append_to_account(slot);
        rest(*book, slot);
    }
}

Quantity Matcher::fillable_quantity(const InstrumentBook& book, const Taker& taker) const {
    const BookSide& opposite_side = taker.side == Side::Buy ? book.asks : book.bids;
    const bool stops_at_own = taker.self_trade != SelfTradePrevention::CancelResting;
    Quantity available = 0;
    for (std::int64_t level = opposite_side.best; level != LevelBitmap::kNone;
         level = taker.side == Side::Buy ? opposite_side.occupied.next_at_or_above(level + 1)
                                         : opposite_side.occupied.next_at_or_below(level - 1)) {
        if (!taker.is_market) {
            const Price price = level_price(book, level);
            if (taker.side == Side::Buy ? price > taker.price : price < taker.price) {
                break;
            }
        }
        for (Slot s = opposite_side.levels[static_cast<std::size_t>(level)].head; s != kNoSlot;
             s = pool_[s].level_next) {
            const RestingOrder& maker = pool_[s];
            if (maker.account == taker.account) {
                if (stops_at_own) {
                    return available;
                }
                continue;
            }
            available += maker.leaves;
            if (available >= taker.leaves) {
                return available;
            }
        }
    }
    return available;
}

bool Matcher::match(InstrumentBook& book, Taker& taker, const Command& command,
                    std::vector<Event>& out) {
    BookSide& opposite_side = taker.side == Side::Buy ? book.asks : book.bids;
    while (taker.leaves > 0 && opposite_side.best != LevelBitmap::kNone) {
        const std::int64_t level_at = opposite_side.best;
        const Price price = level_price(book, level_at);
        if (!taker.is_market &&
            (taker.side == Side::Buy ? price > taker.price : price < taker.price)) {
            return false;
        }
        PriceLevel& level = opposite_side.levels[static_cast<std::size_t>(level_at)];
        Slot s = level.head;
        while (s != kNoSlot && taker.leaves > 0) {
            RestingOrder& maker = pool_[s];
            const Slot next = maker.level_next;
            // The walk is a chain of dependent loads through the pool; start the next one early.
            if (next != kNoSlot) {
                __builtin_prefetch(&pool_[next]);
            }
            if (maker.account == taker.account) {
                if (taker.self_trade == SelfTradePrevention::CancelIncoming) {
                    return true;
                }
                out.push_back(
                    cancelled_event(command, maker, CancelReason::SelfTrade, taker.critical));
                retire(book, s);
                if (taker.self_trade == SelfTradePrevention::CancelBoth) {
                    return true;
                }
                s = next;
                continue;
            }
            const Quantity traded = std::min(taker.leaves, maker.leaves);
            if (traded == maker.leaves) {
                // It will be retired: fetch what retiring touches while the trade is built.
                prefetch_for_retire(maker);
            }
            taker.leaves -= traded;
            maker.leaves -= traded;
            level.total -= traded;

            Event trade = event_for(EventType::Trade, command);
            trade.side = taker.side;
            trade.critical = taker.critical;
            trade.account = taker.account;
            trade.order_id = taker.order_id;
            trade.client_order_id = taker.client_order_id;
            trade.price = price;
            trade.quantity = traded;
            trade.leaves = taker.leaves;
            trade.trade_id = next_trade_id_++;
            trade.maker_order_id = maker.order_id;
            trade.maker_client_order_id = maker.client_order_id;
            trade.maker_account = maker.account;
            trade.maker_leaves = maker.leaves;
            out.push_back(trade);

            if (maker.leaves == 0) {
                retire(book, s);
            }
            s = next;
        }
    }
    return false;
}

void Matcher::prefetch_for_retire(const RestingOrder& order) const {
    order_index_.prefetch(order.order_id);
    if (order.account_prev != kNoSlot) {
        __builtin_prefetch(&pool_[order.account_prev]);
    }
    if (order.account_next != kNoSlot) {
        __builtin_prefetch(&pool_[order.account_next]);
    }
}

void Matcher::append_to_account(Slot slot) {
    RestingOrder& order = pool_[slot];
    Slot& tail = account_tail_[order.account];
    order.account_prev = tail;
    if (tail != kNoSlot) {
        pool_[tail].account_next = slot;
    } else {
        account_head_[order.account] = slot;
    }
    tail = slot;
}

void Matcher::rest(InstrumentBook& book, Slot slot) {
    RestingOrder& order = pool_[slot];
    BookSide& side = order.side == Side::Buy ? book.bids : book.asks;
    const std::int64_t index = level_index(book, order.price);
    PriceLevel& level = side.levels[static_cast<std::size_t>(index)];
    order.level_prev = level.tail;
    order.level_next = kNoSlot;
    if (level.tail != kNoSlot) {
        pool_[level.tail].level_next = slot;
    } else {
        level.head = slot;
        side.occupied.set(index);
        if (side.best == LevelBitmap::kNone ||
            (order.side == Side::Buy ? index > side.best : index < side.best)) {
            side.best = index;
        }
    }
    level.tail = slot;
    level.total += order.leaves;
    ++level.count;
}

void Matcher::unlink_from_level(InstrumentBook& book, Slot slot) {
    RestingOrder& order = pool_[slot];
    BookSide& side = order.side == Side::Buy ? book.bids : book.asks;
    const std::int64_t index = level_index(book, order.price);
    PriceLevel& level = side.levels[static_cast<std::size_t>(index)];
    if (order.level_prev != kNoSlot) {
        pool_[order.level_prev].level_next = order.level_next;
    } else {
        level.head = order.level_next;
    }
    if (order.level_next != kNoSlot) {
        pool_[order.level_next].level_prev = order.level_prev;
    } else {
        level.tail = order.level_prev;
    }
    level.total -= order.leaves;
    --level.count;
    if (level.count == 0) {
        assert(level.total == 0 && level.head == kNoSlot);
        side.occupied.clear(index);
        if (side.best == index) {
            side.best = order.side == Side::Buy ? side.occupied.next_at_or_below(index - 1)
                                                : side.occupied.next_at_or_above(index + 1);
        }
    }
}

void Matcher::retire(InstrumentBook& book, Slot slot) {
    unlink_from_level(book, slot);
    forget(slot);
}

void Matcher::forget(Slot slot) {
    RestingOrder& order = pool_[slot];
    if (order.account_prev != kNoSlot) {
        pool_[order.account_prev].account_next = order.account_next;
    } else {
        account_head_[order.account] = order.account_next;
    }
    if (order.account_next != kNoSlot) {
        pool_[order.account_next].account_prev = order.account_prev;
    } else {
        account_tail_[order.account] = order.account_prev;
    }
    const bool erased = order_index_.erase(order.order_id);
    assert(erased);
    (void)erased;
    remember_finished(ClientKey{order.account, order.client_order_id});
    order.level_next = free_head_;
    free_head_ = slot;
}

void Matcher::remember_finished(const ClientKey& key) {
    if (finished_ring_.empty()) {
        client_index_.erase(key);
        return;
    }
    const std::size_t capacity = finished_ring_.size();
    // The key evicted a few finishes from now sits in a cold part of the table: start fetching it.
    constexpr std::size_t kPrefetchAhead = 64;
    if (finished_count_ > kPrefetchAhead) {
        client_index_.prefetch(finished_ring_[(finished_head_ + kPrefetchAhead) % capacity]);
    }
    if (finished_count_ == capacity) {
        client_index_.erase(finished_ring_[finished_head_]);
        finished_head_ = (finished_head_ + 1) % capacity;
        --finished_count_;
    }
    finished_ring_[(finished_head_ + finished_count_) % capacity] = key;
    ++finished_count_;
}

Slot Matcher::allocate_slot() {
    assert(free_head_ != kNoSlot);
    const Slot slot = free_head_;
    free_head_ = pool_[slot].level_next;
    return slot;
}

RejectReason Matcher::find_target(const Command& command, Slot& slot) const {
    const InstrumentBook* book = book_of(command.instrument);
    if (book == nullptr) {
        return RejectReason::UnknownInstrument;
    }
    if (command.account >= limits_.max_accounts) {
        return RejectReason::UnknownAccount;
    }
    const Slot* found = order_index_.find(command.order_id);
    if (found == nullptr || pool_[*found].instrument_index != book - books_.data()) {
        return RejectReason::UnknownOrder;
    }
    if (pool_[*found].account != command.account) {
        return RejectReason::NotYourOrder;
    }
    slot = *found;
    return RejectReason::None;
}

void Matcher::cancel(const Command& command, std::vector<Event>& out) {
    Slot slot = kNoSlot;
    if (RejectReason r = find_target(command, slot); r != RejectReason::None) {
        reject(command, r, out);
        return;
    }
    const RestingOrder& order = pool_[slot];
    out.push_back(cancelled_event(command, order, CancelReason::ClientRequest, false));
    retire(books_[order.instrument_index], slot);
}

void Matcher::replace(const Command& command, std::vector<Event>& out) {
    Slot slot = kNoSlot;
    if (RejectReason r = find_target(command, slot); r != RejectReason::None) {
        reject(command, r, out);
        return;
    }
    RestingOrder& order = pool_[slot];
    InstrumentBook& book = books_[order.instrument_index];
    if (command.self_trade > SelfTradePrevention::CancelBoth) {
        reject(command, RejectReason::InvalidSelfTradePrevention, out);
        return;
    }
    if (RejectReason r = check_quantity(book.spec, command.quantity); r != RejectReason::None) {
        reject(command, r, out);
        return;
    }
    if (RejectReason r = check_price(book.spec, command.price); r != RejectReason::None) {
        reject(command, r, out);
        return;
    }
    Event replaced = event_for(EventType::Replaced, command);
    replaced.side = order.side;
    replaced.account = order.account;
    replaced.order_id = order.order_id;
    replaced.client_order_id = order.client_order_id;
    replaced.price = command.price;
    replaced.quantity = command.quantity;
    replaced.leaves = command.quantity;

    if (command.price == order.price && command.quantity <= order.leaves) {
        // Shrinking in place keeps time priority.
        BookSide& side = order.side == Side::Buy ? book.bids : book.asks;
        side.levels[static_cast<std::size_t>(level_index(book, order.price))].total -=
            order.leaves - command.quantity;
        order.leaves = command.quantity;
        out.push_back(replaced);
        return;
    }
    const bool post_only = (order.flags & order_flags::kPostOnly) != 0;
    if (post_only && crosses(book, order.side, false, command.price)) {
        reject(command, RejectReason::PostOnlyWouldCross, out);
        return;
    }
    unlink_from_level(book, slot);
    out.push_back(replaced);
    Taker taker{order.order_id, order.client_order_id, order.account, order.side,      false,
                false,          command.self_trade,    command.price, command.quantity};
    const bool stopped = match(book, taker, command, out);
    RestingOrder& moved = pool_[slot];
    moved.price = command.price;
    moved.leaves = taker.leaves;
    if (taker.leaves > 0 && !stopped) {
        rest(book, slot);
        return;
    }
    if (taker.leaves > 0) {
        Event cancelled = replaced;
        cancelled.type = EventType::Cancelled;
        cancelled.cancel_reason = CancelReason::SelfTrade;
        cancelled.quantity = taker.leaves;
        cancelled.leaves = 0;
        out.push_back(cancelled);
    }
    forget(slot);
}

void Matcher::mass_cancel(const Command& command, std::vector<Event>& out) {
    if (command.account >= limits_.max_accounts) {
        reject(command, RejectReason::UnknownAccount, out);
        return;
    }
    if (command.instrument != kAllInstruments && book_of(command.instrument) == nullptr) {
        reject(command, RejectReason::UnknownInstrument, out);
        return;
    }
    Quantity cancelled_orders = 0;
    for (Slot s = account_head_[command.account]; s != kNoSlot;) {
        const RestingOrder& order = pool_[s];
        const Slot next = order.account_next;
        InstrumentBook& book = books_[order.instrument_index];
        if (command.instrument == kAllInstruments || book.spec.id == command.instrument) {
            out.push_back(cancelled_event(command, order, CancelReason::MassCancel, false));
            retire(book, s);
            ++cancelled_orders;
        }
        s = next;
    }
    Event done = event_for(EventType::MassCancelled, command);
    done.account = command.account;
    done.client_order_id = command.client_order_id;
    done.quantity = cancelled_orders;
    out.push_back(done);
}

Event Matcher::cancelled_event(const Command& command, const RestingOrder& order,
                               CancelReason reason, bool critical) const {
    Event cancelled = event_for(EventType::Cancelled, command);
    cancelled.instrument = books_[order.instrument_index].spec.id;
    cancelled.cancel_reason = reason;
    cancelled.critical = critical;
    cancelled.side = order.side;
    cancelled.account = order.account;
    cancelled.order_id = order.order_id;
    cancelled.client_order_id = order.client_order_id;
    cancelled.price = order.price;
    cancelled.quantity = order.leaves;
    cancelled.leaves = 0;
    return cancelled;
}

OrderView Matcher::view_of(const RestingOrder& order) const {
    return OrderView{order.order_id, order.client_order_id,
                     order.account,  books_[order.instrument_index].spec.id,
                     order.side,     order.price,
                     order.leaves,   order.flags};
}

std::optional<Price> Matcher::best_bid(InstrumentId instrument) const {
    const InstrumentBook* book = book_of(instrument);
    if (book == nullptr || book->bids.best == LevelBitmap::kNone) {
        return std::nullopt;
    }
    return level_price(*book, book->bids.best);
}

std::optional<Price> Matcher::best_ask(InstrumentId instrument) const {
    const InstrumentBook* book = book_of(instrument);
    if (book == nullptr || book->asks.best == LevelBitmap::kNone) {
        return std::nullopt;
    }
    return level_price(*book, book->asks.best);
}

std::optional<OrderView> Matcher::find_order(OrderId order_id) const {
    const Slot* slot = order_index_.find(order_id);
    if (slot == nullptr) {
        return std::nullopt;
    }
    return view_of(pool_[*slot]);
}

ClientOrderLookup Matcher::find_by_client_order_id(AccountId account, ClientOrderId id) const {
    ClientOrderLookup lookup;
    const OrderId* order_id = client_index_.find(ClientKey{account, id});
    if (order_id == nullptr) {
        return lookup;
    }
    lookup.order_id = *order_id;
    lookup.resting = find_order(*order_id);
    lookup.state =
        lookup.resting ? ClientOrderLookup::State::Resting : ClientOrderLookup::State::Finished;
    return lookup;
}

std::vector<LevelView> Matcher::levels(InstrumentId instrument, Side side_wanted,
                                       std::size_t max_levels) const {
    std::vector<LevelView> result;
    const InstrumentBook* book = book_of(instrument);
    if (book == nullptr) {
        return result;
    }
    const BookSide& side = side_wanted == Side::Buy ? book->bids : book->asks;
    for (std::int64_t level = side.best; level != LevelBitmap::kNone && result.size() < max_levels;
         level = side_wanted == Side::Buy ? side.occupied.next_at_or_below(level - 1)
                                          : side.occupied.next_at_or_above(level + 1)) {
        const PriceLevel& l = side.levels[static_cast<std::size_t>(level)];
        result.push_back(LevelView{level_price(*book, level), l.total, l.count});
    }
    return result;
}

std::uint64_t Matcher::state_hash() const {
    std::uint64_t hash = 0x6a09e667f3bcc908ULL;
    auto feed = [&hash](std::uint64_t value) {
        hash = mix64(hash ^ (value + 0x9e3779b97f4a7c15ULL));
    };
    feed(next_order_id_);
    feed(next_trade_id_);
    for_each_resting([&](const OrderView& order) {
        feed(order.order_id);
        feed(order.client_order_id);
        feed(order.account);
        feed(order.instrument);
        feed(static_cast<std::uint64_t>(order.side));
        feed(static_cast<std::uint64_t>(order.price));
        feed(static_cast<std::uint64_t>(order.leaves));
        feed(order.flags);
    });
    return hash;
}

}  // namespace exchanged::book
