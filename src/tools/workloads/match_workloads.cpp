#include "tools/workloads/match_workloads.hpp"

#include <algorithm>
#include <unordered_map>

#include "common/random.hpp"

namespace exchanged::tools {
namespace {

using book::Command;
using book::CommandType;
using book::Event;
using book::EventType;

// Live resting orders of the shadow book, so that cancels and replaces name real orders.
class LiveOrders {
  public:
    void add(OrderId id, AccountId account) {
        position_[id] = ids_.size();
        ids_.push_back({id, account});
    }
    void remove(OrderId id) {
        auto it = position_.find(id);
        if (it == position_.end()) {
            return;
        }
        const std::size_t at = it->second;
        position_.erase(it);
        if (at + 1 != ids_.size()) {
            ids_[at] = ids_.back();
            position_[ids_[at].first] = at;
        }
        ids_.pop_back();
    }
    bool empty() const { return ids_.empty(); }
    std::size_t size() const { return ids_.size(); }
    std::pair<OrderId, AccountId> pick(SplitMix64& rng) const {
        return ids_[rng.below(ids_.size())];
    }

  private:
    std::vector<std::pair<OrderId, AccountId>> ids_;
    std::unordered_map<OrderId, std::size_t> position_;
};

void track(const std::vector<Event>& events, const book::Matcher& shadow, LiveOrders& live) {
    for (const Event& event : events) {
        switch (event.type) {
            case EventType::Accepted:
                if (shadow.find_order(event.order_id)) {
                    live.add(event.order_id, event.account);
                }
                break;
            case EventType::Trade:
                if (event.maker_leaves == 0) {
                    live.remove(event.maker_order_id);
                }
                break;
            case EventType::Cancelled:
                live.remove(event.order_id);
                break;
            case EventType::Replaced:
                if (!shadow.find_order(event.order_id)) {
                    live.remove(event.order_id);
                }
                break;
            default:
                break;
        }
    }
}

constexpr Price kMixTick = 100;  // $0.01 in LOBSTER units (dollars x 10000)
constexpr Price kMixStart = 2'200'000;
constexpr std::uint32_t kMixAccounts = 64;
constexpr std::size_t kMixTargetResting = 20'000;

}  // namespace

Workload make_mix_workload(std::uint64_t commands, std::uint64_t seed) {
    Workload w;
    w.name = "mix";
    w.instruments.push_back(
        book::InstrumentSpec{1, "MIX", kMixTick, 1, 1'000'000, 4'000'000, 1'000'000});
    w.limits.max_orders = 1u << 18;
    w.limits.max_accounts = kMixAccounts;
    w.limits.client_order_id_window = 1u << 16;
    w.commands.reserve(commands);

    book::Matcher shadow(w.instruments, w.limits);
    std::vector<Event> events;
    events.reserve(1024);
    LiveOrders live;
    SplitMix64 rng(seed);
    Price mid = kMixStart;
    std::uint64_t adds = 0, cancels = 0, aggressive = 0, replaces = 0;
    std::vector<ClientOrderId> next_client_order_id(kMixAccounts, 0);

    for (std::uint64_t i = 0; i < commands; ++i) {
        Command c;
        c.seq = i + 1;
        c.timestamp_ns = static_cast<TimestampNs>(i) * 1000;
        c.instrument = 1;
        c.account = static_cast<AccountId>(rng.below(kMixAccounts));
        c.client_order_id = ++next_client_order_id[c.account];  // clients count per account
        const std::uint64_t roll = rng.below(100);
        // A bounded random walk of the reference price keeps the book moving like a real one.
        if (rng.below(64) == 0) {
            mid += rng.percent(50) ? kMixTick : -kMixTick;
            mid = std::clamp<Price>(mid, 1'500'000, 3'500'000);
        }
        const bool too_big = live.size() > 2 * kMixTargetResting;
        if ((roll < 60 && !too_big) || live.empty()) {
            // Passive add: most near the touch, a tail hundreds of ticks deep.
            c.type = CommandType::NewOrder;
            c.side = rng.percent(50) ? Side::Buy : Side::Sell;
            const std::int64_t depth = rng.percent(80) ? rng.between(1, 10) : rng.between(11, 400);
            c.price = c.side == Side::Buy ? mid - depth * kMixTick : mid + depth * kMixTick;
            c.quantity = rng.between(1, 20) * 100;
            if (rng.percent(5)) {
                c.flags = book::order_flags::kPostOnly;
            }
            ++adds;
        } else if (roll < 85 || too_big) {
            c.type = CommandType::Cancel;
            auto [id, account] = live.pick(rng);
            c.order_id = id;
            c.account = account;
            ++cancels;
        } else if (roll < 95) {
            c.type = CommandType::NewOrder;
            c.side = rng.percent(50) ? Side::Buy : Side::Sell;
            c.quantity = rng.between(1, 80) * 100;
            if (rng.percent(20)) {
                c.order_type = book::OrderType::Market;
                c.time_in_force = book::TimeInForce::ImmediateOrCancel;
            } else {
                const std::int64_t through = rng.between(0, 5);
                c.price = c.side == Side::Buy ? mid + through * kMixTick : mid - through * kMixTick;
                c.time_in_force = rng.percent(10) ? book::TimeInForce::FillOrKill
                                                  : book::TimeInForce::ImmediateOrCancel;
            }
            ++aggressive;
        } else {
            c.type = CommandType::Replace;
            auto [id, account] = live.pick(rng);
            const auto order = shadow.find_order(id);
            c.order_id = id;
            c.account = account;
            c.price = order->price + (rng.percent(50) ? 0 : rng.between(-3, 3) * kMixTick);
            c.quantity = std::max<Quantity>(100, order->leaves + rng.between(-5, 5) * 100);
            ++replaces;
        }
        events.clear();
        shadow.apply(c, events);
        track(events, shadow, live);
        w.commands.push_back(c);
    }
    const double n = static_cast<double>(std::max<std::uint64_t>(commands, 1));
    w.description = "adds " + std::to_string(static_cast<int>(100.0 * adds / n + 0.5)) +
                    "%, cancels " + std::to_string(static_cast<int>(100.0 * cancels / n + 0.5)) +
                    "%, aggressive " +
                    std::to_string(static_cast<int>(100.0 * aggressive / n + 0.5)) +
                    "%, replaces " + std::to_string(static_cast<int>(100.0 * replaces / n + 0.5)) +
                    "%, resting at end " + std::to_string(live.size());
    return w;
}

Workload make_liquibook_workload(std::uint64_t commands, std::uint64_t seed) {
    Workload w;
    w.name = "liquibook";
    w.instruments.push_back(book::InstrumentSpec{1, "LQB", 1, 100, 1, 4096, 1'000'000});
    // Insert-only: every non-crossing order rests, so the pool must hold them all.
    w.limits.max_orders = static_cast<std::uint32_t>(std::max<std::uint64_t>(commands, 1));
    w.limits.max_accounts = 2;
    w.limits.client_order_id_window = 1;
    w.commands.reserve(commands);
    SplitMix64 rng(seed);
    for (std::uint64_t i = 0; i < commands; ++i) {
        Command c;
        c.type = CommandType::NewOrder;
        c.seq = i + 1;
        c.timestamp_ns = static_cast<TimestampNs>(i);
        c.instrument = 1;
        // Liquibook has no self-trade prevention: buyers and sellers are different accounts.
        c.account = static_cast<AccountId>(i % 2);
        c.client_order_id = i + 1;
        c.side = i % 2 == 0 ? Side::Buy : Side::Sell;
        c.price = c.side == Side::Buy ? rng.between(1880, 1889) : rng.between(1884, 1893);
        c.quantity = rng.between(1, 10) * 100;
        w.commands.push_back(c);
    }
    w.description = "insert-only, alternating buy 1880..1889 / sell 1884..1893, qty 100..1000";
    return w;
}

}  // namespace exchanged::tools
