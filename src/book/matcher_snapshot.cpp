// Matcher::snapshot() and Matcher::restore(): the matcher's state as plain data and back. Neither
// is on the order path; both allocate freely.
#include <algorithm>
#include <cassert>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>

#include "book/matcher.hpp"

namespace exchanged::book {
namespace {

std::string side_name(Side side) {
    return side == Side::Buy ? "buy" : "sell";
}

std::string describe_key(AccountId account, ClientOrderId id) {
    return "(account " + std::to_string(account) + ", client order id " + std::to_string(id) + ")";
}

[[noreturn]] void bad(const std::string& what) {
    throw std::invalid_argument("matcher snapshot: " + what);
}

void check_counters(const MatcherSnapshot& snap, const MatcherLimits& limits) {
    if (snap.next_order_id == 0) {
        bad("next_order_id is 0 (order ids start at 1)");
    }
    if (snap.next_trade_id == 0) {
        bad("next_trade_id is 0 (trade ids start at 1)");
    }
    if (snap.resting.size() > limits.max_orders) {
        bad(std::to_string(snap.resting.size()) + " resting orders, more than max_orders " +
            std::to_string(limits.max_orders));
    }
}

void check_ids(const std::string& what, AccountId account, OrderId order_id, OrderId next_order_id,
               const MatcherLimits& limits) {
    if (account >= limits.max_accounts) {
        bad(what + ": account " + std::to_string(account) + " is out of range (max_accounts " +
            std::to_string(limits.max_accounts) + ")");
    }
    if (order_id == 0 || order_id >= next_order_id) {
        bad(what + ": order id " + std::to_string(order_id) +
            " was never assigned (next_order_id " + std::to_string(next_order_id) + ")");
    }
}

// Everything about a resting order but its instrument, which the caller has looked up as `spec`;
// `price_check` is the matcher's own verdict on the price, so that restore accepts exactly the
// prices an order could have rested at.
void check_resting_order(const std::string& what, const RestingOrderState& r,
                         const InstrumentSpec& spec, RejectReason price_check,
                         OrderId next_order_id, const MatcherLimits& limits) {
    check_ids(what, r.account, r.order_id, next_order_id, limits);
    if (r.side != Side::Buy && r.side != Side::Sell) {
        bad(what + ": invalid side " + std::to_string(static_cast<unsigned>(r.side)));
    }
    // A liquidation order never rests, and post-only with liquidation is never accepted.
    if ((r.flags & ~order_flags::kAll) != 0 || (r.flags & order_flags::kLiquidation) != 0) {
        bad(what + ": invalid flags " + std::to_string(static_cast<unsigned>(r.flags)));
    }
    switch (price_check) {
        case RejectReason::None:
            break;
        case RejectReason::PriceOffTick:
            bad(what + ": price " + std::to_string(r.price) + " is off the tick " +
                std::to_string(spec.tick_size));
        default:
            bad(what + ": price " + std::to_string(r.price) + " is outside the band [" +
                std::to_string(spec.min_price) + ", " + std::to_string(spec.max_price) + "]");
    }
    if (r.leaves <= 0) {
        bad(what + ": leaves " + std::to_string(r.leaves) + " is not positive");
    }
}

// Order ids and client keys are unique across resting and finished orders alike: a finished
// order's client order id stays reserved while it is remembered.
void check_unique_ids(const MatcherSnapshot& snap) {
    std::vector<OrderId> order_ids;
    std::vector<std::pair<AccountId, ClientOrderId>> keys;
    order_ids.reserve(snap.resting.size() + snap.finished.size());
    keys.reserve(snap.resting.size() + snap.finished.size());
    for (const RestingOrderState& r : snap.resting) {
        order_ids.push_back(r.order_id);
        keys.emplace_back(r.account, r.client_order_id);
    }
    for (const FinishedClientOrder& f : snap.finished) {
        order_ids.push_back(f.order_id);
        keys.emplace_back(f.account, f.client_order_id);
    }
    std::sort(order_ids.begin(), order_ids.end());
    if (auto dup = std::adjacent_find(order_ids.begin(), order_ids.end()); dup != order_ids.end()) {
        bad("duplicate order id " + std::to_string(*dup));
    }
    std::sort(keys.begin(), keys.end());
    if (auto dup = std::adjacent_find(keys.begin(), keys.end()); dup != keys.end()) {
        bad("duplicate " + describe_key(dup->first, dup->second));
    }
}

// Indexes into snap.resting in the FIFO order of each level: by (book, side, price, priority).
// Throws if two orders of a level share a priority, which would leave their order undefined.
std::vector<std::size_t> level_order(const MatcherSnapshot& snap,
                                     const std::vector<std::uint32_t>& book_index) {
    auto level_key = [&](std::size_t i) {
        const RestingOrderState& r = snap.resting[i];
        return std::make_tuple(book_index[i], static_cast<unsigned>(r.side), r.price, r.priority);
    };
    std::vector<std::size_t> by_level(snap.resting.size());
    std::iota(by_level.begin(), by_level.end(), std::size_t{0});
    std::sort(by_level.begin(), by_level.end(),
              [&](std::size_t a, std::size_t b) { return level_key(a) < level_key(b); });
    for (std::size_t i = 1; i < by_level.size(); ++i) {
        if (level_key(by_level[i - 1]) == level_key(by_level[i])) {
            const RestingOrderState& a = snap.resting[by_level[i - 1]];
            const RestingOrderState& b = snap.resting[by_level[i]];
            bad("orders " + std::to_string(a.order_id) + " and " + std::to_string(b.order_id) +
                " of instrument " + std::to_string(a.instrument) + " " + side_name(a.side) +
                " level " + std::to_string(a.price) + " share priority " +
                std::to_string(a.priority));
        }
    }
    return by_level;
}

// Account lists in order id order: that is how apply() keeps them (an order is appended when it
// first rests, with the newest order id; a replace never moves it in its list).
std::vector<std::size_t> order_id_order(const MatcherSnapshot& snap) {
    std::vector<std::size_t> by_id(snap.resting.size());
    std::iota(by_id.begin(), by_id.end(), std::size_t{0});
    std::sort(by_id.begin(), by_id.end(), [&](std::size_t a, std::size_t b) {
        return snap.resting[a].order_id < snap.resting[b].order_id;
    });
    return by_id;
}

RestingOrder resting_order_from(const RestingOrderState& r, std::uint32_t book_index) {
    RestingOrder order{};
    order.order_id = r.order_id;
    order.client_order_id = r.client_order_id;
    order.price = r.price;
    order.leaves = r.leaves;
    order.account = r.account;
    order.instrument_index = book_index;
    order.side = r.side;
    order.flags = r.flags;
    return order;
}

}  // namespace

MatcherSnapshot Matcher::snapshot() const {
    MatcherSnapshot snap;
    snap.next_order_id = next_order_id_;
    snap.next_trade_id = next_trade_id_;
    snap.resting.reserve(order_index_.size());
    std::uint64_t priority = 0;
    for_each_resting([&](const OrderView& order) {
        snap.resting.push_back(RestingOrderState{
            order.order_id, order.client_order_id, order.account, order.instrument, order.side,
            order.price, order.leaves, order.flags, priority++});
    });
    snap.finished.reserve(finished_count_);
    for (std::size_t i = 0; i < finished_count_; ++i) {
        const ClientKey& key = finished_ring_[(finished_head_ + i) % finished_ring_.size()];
        const OrderId* order_id = client_index_.find(key);
        assert(order_id != nullptr);
        snap.finished.push_back(
            FinishedClientOrder{key.account, key.id, order_id != nullptr ? *order_id : 0});
    }
    return snap;
}

void Matcher::restore(const MatcherSnapshot& snap) {
    if (order_index_.size() != 0 || finished_count_ != 0 || client_index_.size() != 0 ||
        next_order_id_ != 1 || next_trade_id_ != 1) {
        throw std::logic_error("Matcher::restore needs a freshly constructed matcher");
    }

    // Validate everything before touching anything, so that a bad snapshot leaves the matcher
    // fresh.
    check_counters(snap, limits_);
    std::vector<std::uint32_t> book_index(snap.resting.size());
    for (std::size_t i = 0; i < snap.resting.size(); ++i) {
        const RestingOrderState& r = snap.resting[i];
        const std::string what = "resting order " + std::to_string(r.order_id);
        const InstrumentBook* book = book_of(r.instrument);
        if (book == nullptr) {
            bad(what + ": unknown instrument " + std::to_string(r.instrument));
        }
        book_index[i] = static_cast<std::uint32_t>(book - books_.data());
        check_resting_order(what, r, book->spec, check_price(book->spec, r.price),
                            snap.next_order_id, limits_);
    }
    for (const FinishedClientOrder& f : snap.finished) {
        check_ids("finished order " + std::to_string(f.order_id), f.account, f.order_id,
                  snap.next_order_id, limits_);
    }
    check_unique_ids(snap);
    const std::vector<std::size_t> by_level = level_order(snap, book_index);

    // Build. Nothing below can fail: the limits were checked above.
    std::vector<Slot> slot_of(snap.resting.size(), kNoSlot);
    for (const std::size_t i : order_id_order(snap)) {
        const RestingOrderState& r = snap.resting[i];
        const Slot slot = allocate_slot();
        slot_of[i] = slot;
        pool_[slot] = resting_order_from(r, book_index[i]);
        [[maybe_unused]] const bool indexed = order_index_.insert(r.order_id, slot);
        assert(indexed);
        [[maybe_unused]] const bool keyed =
            client_index_.insert(ClientKey{r.account, r.client_order_id}, r.order_id);
        assert(keyed);
        append_to_account(slot);
    }
    for (const std::size_t i : by_level) {
        rest(books_[book_index[i]], slot_of[i]);
    }

    // The newest client_order_id_window finished orders, oldest first from the ring's start.
    const std::size_t keep = std::min(snap.finished.size(), finished_ring_.size());
    const std::size_t first = snap.finished.size() - keep;
    for (std::size_t i = 0; i < keep; ++i) {
        const FinishedClientOrder& f = snap.finished[first + i];
        const ClientKey key{f.account, f.client_order_id};
        [[maybe_unused]] const bool keyed = client_index_.insert(key, f.order_id);
        assert(keyed);
        finished_ring_[i] = key;
    }
    finished_head_ = 0;
    finished_count_ = keep;

    next_order_id_ = snap.next_order_id;
    next_trade_id_ = snap.next_trade_id;
}

}  // namespace exchanged::book
