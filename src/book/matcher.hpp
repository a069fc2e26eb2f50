// The matching core of one shard: the books of its instruments, the pool of resting orders and the
// indices over them. apply() is a pure function of the command sequence: no clock, no I/O, no
// locks, and after construction no allocation (the caller's event vector aside, which keeps its
// capacity). The rules it implements are written down in docs/matching.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "book/book_side.hpp"
#include "book/command.hpp"
#include "book/event.hpp"
#include "book/instrument_spec.hpp"
#include "book/matcher_snapshot.hpp"
#include "common/fixed_hash_map.hpp"

namespace exchanged::book {

struct MatcherLimits {
    std::uint32_t max_orders = 1u << 20;  // resting orders across the shard
    std::uint32_t max_accounts = 1024;    // account ids are 0 .. max_accounts-1
    // How many finished orders' client order ids stay remembered for duplicate detection, besides
    // those of all resting orders.
    std::uint32_t client_order_id_window = 1u << 20;
    // Seeds the client order id index's hash; any value gives the same events.
    std::uint64_t client_index_seed = 0x2545f4914f6cdd1dULL;
};

struct OrderView {
    OrderId order_id;
    ClientOrderId client_order_id;
    AccountId account;
    InstrumentId instrument;
    Side side;
    Price price;
    Quantity leaves;
    std::uint8_t flags;
};

// What the shard knows of an account's client order id: a resting order, a finished one still
// inside the client order id window (only its order id is kept), or nothing.
struct ClientOrderLookup {
    enum class State : std::uint8_t { Unknown, Resting, Finished };
    State state = State::Unknown;
    OrderId order_id = 0;
    std::optional<OrderView> resting;  // set when state == Resting
};

struct LevelView {
    Price price;
    Quantity total;
    std::uint32_t count;
};

// The Rejected event for a command. It echoes the command's ids, price and quantity so that the
// client can match the reject to its request; the shard uses it for refusals of its own too.
Event rejected_event(const Command& command, RejectReason reason);

class Matcher {
  public:
    // Throws std::invalid_argument naming the bad instrument or limit.
    Matcher(std::span<const InstrumentSpec> instruments, const MatcherLimits& limits);

    // Applies one sequenced command and appends its events to `out`.
    void apply(const Command& command, std::vector<Event>& out);

    // A 64-bit hash of every resting order in priority order plus the id counters.
    std::uint64_t state_hash() const;

    // The whole state as plain data (docs/matching.md, "Snapshots"). Resting orders come in
    // for_each_resting order with priority = their index in that visit; finished client order ids
    // oldest first. Not for the order path: it allocates.
    MatcherSnapshot snapshot() const;
    // Loads a snapshot into this matcher, which must be freshly constructed (no order accepted
    // yet; std::logic_error otherwise). Throws std::invalid_argument naming the first problem for
    // a snapshot that this matcher's instruments and limits cannot hold or that no matcher could
    // have produced; the matcher is unchanged then. Keeps only the newest client_order_id_window
    // finished entries. Not for the order path: it allocates.
    void restore(const MatcherSnapshot& snapshot);

    std::optional<Price> best_bid(InstrumentId instrument) const;
    std::optional<Price> best_ask(InstrumentId instrument) const;
    std::optional<OrderView> find_order(OrderId order_id) const;
    ClientOrderLookup find_by_client_order_id(AccountId account, ClientOrderId id) const;
    // Levels of one side, best first, at most `max_levels`.
    std::vector<LevelView> levels(InstrumentId instrument, Side side, std::size_t max_levels) const;
    std::size_t resting_orders() const { return order_index_.size(); }
    OrderId next_order_id() const { return next_order_id_; }
    TradeId next_trade_id() const { return next_trade_id_; }
    const std::vector<InstrumentSpec>& instruments() const { return specs_; }

    // Visits every resting order: instruments by id, bids best to worst then asks best to worst,
    // each level oldest first.
    template <typename Visitor>
    void for_each_resting(Visitor&& visit) const {
        for (std::size_t i = 0; i < books_.size(); ++i) {
            for (const BookSide* side : {&books_[i].bids, &books_[i].asks}) {
                const bool bids = side == &books_[i].bids;
                for (std::int64_t level = side->best; level != LevelBitmap::kNone;
                     level = bids ? side->occupied.next_at_or_below(level - 1)
                                  : side->occupied.next_at_or_above(level + 1)) {
                    for (Slot s = side->levels[static_cast<std::size_t>(level)].head; s != kNoSlot;
                         s = pool_[s].level_next) {
                        visit(view_of(pool_[s]));
                    }
                }
            }
        }
    }

  private:
    struct InstrumentBook {
        InstrumentBook(const InstrumentSpec& s, std::size_t level_count)
            : spec(s), bids(level_count), asks(level_count) {}
        InstrumentSpec spec;
        BookSide bids;
        BookSide asks;
    };

    // The incoming side of a match: a new order, or a resting order re-entering after a replace.
    struct Taker {
        OrderId order_id;
        ClientOrderId client_order_id;
        AccountId account;
        Side side;
        bool is_market;
        bool critical;
        SelfTradePrevention self_trade;
        Price price;
        Quantity leaves;
    };

    struct ClientKey {
        AccountId account;
        ClientOrderId id;
        friend bool operator==(const ClientKey&, const ClientKey&) = default;
    };
    // Client order ids are chosen by clients, usually counting up per account. Runs of
    // kClientIdRun consecutive ids share one random base, so a client's recent ids sit in
    // neighbouring slots; the seed keeps the bases unpredictable, so a client cannot pile its keys
    // onto one probe run. The table's layout never changes what apply() does, only its speed.
    static constexpr unsigned kClientIdRunBits = 3;
    struct ClientKeyHash {
        std::uint64_t seed;
        std::uint64_t operator()(const ClientKey& key) const {
            const std::uint64_t base =
                mix64(mix64(seed ^ key.account) + (key.id >> kClientIdRunBits));
            return (base << kClientIdRunBits) | (key.id & ((1u << kClientIdRunBits) - 1));
        }
    };

    void new_order(const Command& command, std::vector<Event>& out);
    void cancel(const Command& command, std::vector<Event>& out);
    void replace(const Command& command, std::vector<Event>& out);
    void mass_cancel(const Command& command, std::vector<Event>& out);

    RejectReason validate_new_order(const Command& command, const InstrumentBook* book) const;
    RejectReason check_price(const InstrumentSpec& spec, Price price) const;
    RejectReason check_quantity(const InstrumentSpec& spec, Quantity quantity) const;
    // Finds the resting order a cancel or replace names, or says why it cannot.
    RejectReason find_target(const Command& command, Slot& slot) const;

    // Returns true when self-trade prevention stopped the taker.
    bool match(InstrumentBook& book, Taker& taker, const Command& command, std::vector<Event>& out);
    bool crosses(const InstrumentBook& book, Side side, bool is_market, Price price) const;
    Quantity fillable_quantity(const InstrumentBook& book, const Taker& taker) const;

    // Appends a newly resting order to its account's list (mass cancel walks it in this order).
    void append_to_account(Slot slot);
    void rest(InstrumentBook& book, Slot slot);
    void prefetch_for_retire(const RestingOrder& order) const;
    void unlink_from_level(InstrumentBook& book, Slot slot);
    // Takes a resting order out of the book and every index, and frees its slot.
    void retire(InstrumentBook& book, Slot slot);
    // The same for an order already unlinked from its level.
    void forget(Slot slot);
    void remember_finished(const ClientKey& key);

    Slot allocate_slot();
    std::int64_t level_index(const InstrumentBook& book, Price price) const {
        return (price - book.spec.min_price) / book.spec.tick_size;
    }
    Price level_price(const InstrumentBook& book, std::int64_t level) const {
        return book.spec.min_price + level * book.spec.tick_size;
    }
    InstrumentBook* book_of(InstrumentId instrument);
    const InstrumentBook* book_of(InstrumentId instrument) const;
    OrderView view_of(const RestingOrder& order) const;
    // The Cancelled event for a resting order about to be retired, with all it had open.
    Event cancelled_event(const Command& command, const RestingOrder& order, CancelReason reason,
                          bool critical) const;

    MatcherLimits limits_;
    std::vector<InstrumentSpec> specs_;
    std::vector<InstrumentBook> books_;
    std::vector<std::int32_t> book_by_instrument_;  // instrument id -> index into books_, or -1

    std::vector<RestingOrder> pool_;
    Slot free_head_ = kNoSlot;

    // Order ids are ours and sequential, so the identity hash keeps recent orders in neighbouring
    // slots (few cache misses) and cannot be steered by a client.
    struct OrderIdHash {
        std::uint64_t operator()(OrderId id) const { return id; }
    };
    FixedHashMap<OrderId, Slot, OrderIdHash> order_index_;
    // (account, client order id) -> order id, for resting orders and the last
    // client_order_id_window finished ones. Holding the order id rather than a slot means that
    // finishing an order never has to touch this table.
    FixedHashMap<ClientKey, OrderId, ClientKeyHash> client_index_;
    std::vector<ClientKey> finished_ring_;
    std::size_t finished_head_ = 0;
    std::size_t finished_count_ = 0;

    std::vector<Slot> account_head_;
    std::vector<Slot> account_tail_;

    OrderId next_order_id_ = 1;
    TradeId next_trade_id_ = 1;
};

}  // namespace exchanged::book
