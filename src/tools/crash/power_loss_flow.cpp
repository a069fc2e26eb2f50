#include "tools/crash/power_loss_flow.hpp"

#include <algorithm>

namespace exchanged::tools {
namespace {

// Above this many resting orders the flow cancels more than it adds, so books stay small and a
// cycle's checks stay cheap however long a scenario runs.
constexpr std::size_t kCrowded = 160;

}  // namespace

OrderFlow::OrderFlow(std::vector<book::InstrumentSpec> instruments,
                     std::vector<FlowAccount> accounts)
    : accounts_(std::move(accounts)) {
    for (const book::InstrumentSpec& spec : instruments) {
        const Price middle = spec.min_price + (spec.max_price - spec.min_price) / spec.tick_size /
                                                  2 * spec.tick_size;
        markets_.push_back(Market{spec, middle});
    }
    for (const FlowAccount& account : accounts_) {
        next_client_id_[account.id] = 1;
    }
}

OrderFlow::Market& OrderFlow::pick_market(SplitMix64& rng) {
    Market& market = markets_[rng.below(markets_.size())];
    // The mid wanders, so levels empty out and new ones fill.
    if (rng.percent(6)) {
        const Price step = rng.percent(50) ? market.spec.tick_size : -market.spec.tick_size;
        market.mid = clamp_price(market, market.mid + step);
    }
    return market;
}

const FlowAccount& OrderFlow::pick_account(SplitMix64& rng) {
    return accounts_[rng.below(accounts_.size())];
}

Price OrderFlow::clamp_price(const Market& market, Price price) const {
    return std::clamp(price, market.spec.min_price, market.spec.max_price);
}

book::Command OrderFlow::next(SplitMix64& rng) {
    const bool crowded = live_.size() > kCrowded;
    const std::uint64_t r = rng.below(1000);
    if (r < 25) {
        return invalid(rng);
    }
    if (r < 35) {
        return mass_cancel(rng);
    }
    if (r < 200 || (crowded && r < 550)) {
        return cancel(rng);
    }
    if (r < 320 || (crowded && r < 650)) {
        return replace(rng);
    }
    return new_order(rng);
}

book::Command OrderFlow::new_order(SplitMix64& rng) {
    const Market& market = pick_market(rng);
    const FlowAccount& account = pick_account(rng);
    book::Command c;
    c.type = book::CommandType::NewOrder;
    c.instrument = market.spec.id;
    c.account = account.id;
    c.self_trade = account.self_trade;
    c.client_order_id = next_client_id_[account.id]++;
    c.side = rng.percent(50) ? Side::Buy : Side::Sell;
    const Quantity max_lots = market.spec.max_order_quantity / market.spec.lot_size;
    // Now and then a big one that sweeps several levels.
    const Quantity lots = rng.percent(5) ? rng.between(1, max_lots) : rng.between(1, 10);
    c.quantity = std::min(lots, max_lots) * market.spec.lot_size;
    const std::uint64_t kind = rng.below(100);
    if (kind < 4) {
        c.order_type = book::OrderType::Market;
        c.time_in_force =
            rng.percent(70) ? book::TimeInForce::ImmediateOrCancel : book::TimeInForce::FillOrKill;
        return c;
    }
    if (kind < 6) {
        // A liquidation: critical, and acknowledged at the profile's critical point.
        c.order_type = book::OrderType::Market;
        c.time_in_force = book::TimeInForce::ImmediateOrCancel;
        c.flags = book::order_flags::kLiquidation;
        return c;
    }
    // Mostly passive (buys below the mid, sells above); about a fifth cross it and trade.
    const std::int64_t away = rng.percent(78) ? rng.between(1, 6) : -rng.between(0, 3);
    const Price toward = c.side == Side::Buy ? -away : away;
    c.price = clamp_price(market, market.mid + toward * market.spec.tick_size);
    if (kind < 14) {
        c.time_in_force =
            rng.percent(60) ? book::TimeInForce::ImmediateOrCancel : book::TimeInForce::FillOrKill;
    } else if (kind < 22) {
        c.flags = book::order_flags::kPostOnly;
    }
    return c;
}

book::Command OrderFlow::cancel(SplitMix64& rng) {
    book::Command c;
    c.type = book::CommandType::Cancel;
    if (live_.empty() || rng.percent(5)) {
        // An order that does not exist (any more): rejected, and logged all the same.
        const Market& market = pick_market(rng);
        c.instrument = market.spec.id;
        c.account = pick_account(rng).id;
        c.order_id = 1 + rng.below(100'000);
        return c;
    }
    const Live& live = live_[rng.below(live_.size())];
    c.instrument = live.instrument;
    c.account = live.account;
    c.order_id = live.order_id;
    return c;
}

book::Command OrderFlow::replace(SplitMix64& rng) {
    if (live_.empty()) {
        return new_order(rng);
    }
    const Live& live = live_[rng.below(live_.size())];
    const auto market = std::find_if(markets_.begin(), markets_.end(),
                                     [&](const Market& m) { return m.spec.id == live.instrument; });
    book::Command c;
    c.type = book::CommandType::Replace;
    c.instrument = live.instrument;
    c.account = live.account;
    c.order_id = live.order_id;
    // A new price near the mid (sometimes across it, which trades) and a new open quantity.
    const std::int64_t away = rng.percent(85) ? rng.between(1, 6) : -rng.between(0, 2);
    const Price toward = live.side == Side::Buy ? -away : away;
    c.price = clamp_price(*market, market->mid + toward * market->spec.tick_size);
    c.quantity = rng.between(1, 10) * market->spec.lot_size;
    return c;
}

book::Command OrderFlow::mass_cancel(SplitMix64& rng) {
    book::Command c;
    c.type = book::CommandType::MassCancel;
    c.account = pick_account(rng).id;
    // Over every instrument: the one command each shard logs a copy of.
    c.instrument = rng.percent(40) ? book::kAllInstruments : pick_market(rng).spec.id;
    return c;
}

book::Command OrderFlow::invalid(SplitMix64& rng) {
    book::Command c = new_order(rng);
    if (c.order_type == book::OrderType::Limit && rng.percent(50)) {
        const Market& market =
            *std::find_if(markets_.begin(), markets_.end(),
                          [&](const Market& m) { return m.spec.id == c.instrument; });
        if (market.spec.tick_size > 1) {
            c.price += 1;  // off the tick
            return c;
        }
    }
    c.quantity = 0;
    return c;
}

void OrderFlow::observe(std::span<const engine::ShardEvent> events) {
    for (const engine::ShardEvent& shard_event : events) {
        const book::Event& e = shard_event.event;
        switch (e.type) {
            case book::EventType::Accepted:
                add_live(Live{e.instrument, e.order_id, e.account, e.side});
                break;
            case book::EventType::Trade:
                if (e.maker_leaves == 0) {
                    forget(e.instrument, e.maker_order_id);
                }
                if (e.leaves == 0) {
                    forget(e.instrument, e.order_id);
                }
                break;
            case book::EventType::Cancelled:
                forget(e.instrument, e.order_id);
                break;
            default:
                break;
        }
    }
}

void OrderFlow::relearn(const std::vector<book::Matcher>& matchers) {
    live_.clear();
    live_index_.clear();
    for (const book::Matcher& matcher : matchers) {
        matcher.for_each_resting([&](const book::OrderView& o) {
            add_live(Live{o.instrument, o.order_id, o.account, o.side});
        });
    }
}

void OrderFlow::add_live(const Live& live) {
    live_index_[{live.instrument, live.order_id}] = live_.size();
    live_.push_back(live);
}

void OrderFlow::forget(InstrumentId instrument, OrderId order_id) {
    const auto it = live_index_.find({instrument, order_id});
    if (it == live_index_.end()) {
        return;
    }
    const std::size_t at = it->second;
    live_index_.erase(it);
    if (at + 1 != live_.size()) {
        live_[at] = live_.back();
        live_index_[{live_[at].instrument, live_[at].order_id}] = at;
    }
    live_.pop_back();
}

}  // namespace exchanged::tools
