#include "random_stream.hpp"

#include <algorithm>
#include <sstream>

namespace exchanged::book::testing {

namespace {

constexpr std::size_t kFinishedRing = 256;
constexpr TimestampNs kEpochNs = 1'700'000'000'000'000'000;

template <typename E>
E raw_enum(std::uint64_t value) {
    return static_cast<E>(static_cast<std::uint8_t>(value));
}

}  // namespace

StreamConfig make_stream_config(std::uint64_t seed) {
    StreamConfig config;
    config.seed = seed;
    // Ids are sparse on purpose so that unknown ids sit between known ones.
    config.instruments = {
        InstrumentSpec{1, "PLAIN", 1, 1, 1, 400, 500},
        InstrumentSpec{2, "COARSE", 5, 10, 1'000, 6'000, 2'000},
        // Six price levels: orders pile up on a few levels, so queues are long.
        InstrumentSpec{5, "NARROW", 2, 1, 100, 110, 40},
        InstrumentSpec{9, "BIGLOT", 25, 100, 10'000, 12'500, 5'000},
        // Rarely traded, so its sides are often empty and market orders find no liquidity.
        InstrumentSpec{12, "SPARSE", 1, 1, 1, 100, 100},
    };
    switch (seed % 3) {
        case 0:
            config.limits.max_orders = 48;
            config.limits.max_accounts = 5;
            config.limits.client_order_id_window = 12;
            config.target_resting = 60;
            break;
        case 1:
            config.limits.max_orders = 120;
            config.limits.max_accounts = 6;
            config.limits.client_order_id_window = 150;
            config.target_resting = 215;
            break;
        default:
            config.limits.max_orders = 4'096;
            config.limits.max_accounts = 4;
            config.limits.client_order_id_window = 4'096;
            config.target_resting = 250;
            break;
    }
    config.limits.client_index_seed = seed * 0x9e3779b97f4a7c15ULL + 1;
    return config;
}

RandomStream::RandomStream(const StreamConfig& config)
    : config_(config), rng_(config.seed ^ 0x5eed5eed5eedULL) {
    const std::uint32_t weights[] = {30, 25, 30, 13, 2};
    for (std::size_t i = 0; i < config_.instruments.size(); ++i) {
        const InstrumentSpec& s = config_.instruments[i];
        const Price middle =
            s.min_price + ((s.max_price - s.min_price) / s.tick_size / 2) * s.tick_size;
        const std::uint32_t w = i < std::size(weights) ? weights[i] : 10;
        markets_.push_back(Market{s, middle, w});
        total_weight_ += w;
    }
    finished_.reserve(kFinishedRing);
    next_client_id_.assign(config_.limits.max_accounts, 1);
}

Command RandomStream::stamp(Command c) {
    ++index_;
    c.seq = index_;
    c.timestamp_ns = kEpochNs + static_cast<TimestampNs>(index_) * 1'000 +
                     static_cast<TimestampNs>(rng_.below(1'000));
    last_flags_ = c.flags;
    return c;
}

const RandomStream::Market& RandomStream::pick_market() {
    std::uint64_t r = rng_.below(total_weight_);
    for (Market& m : markets_) {
        if (r < m.weight) {
            // Drift the mid now and then so that levels empty out and new ones fill.
            if (rng_.percent(5)) {
                const Price step = rng_.percent(50) ? m.spec.tick_size : -m.spec.tick_size;
                m.mid = std::clamp(m.mid + step, m.spec.min_price, m.spec.max_price);
            }
            return m;
        }
        r -= m.weight;
    }
    return markets_.back();
}

AccountId RandomStream::pick_account() {
    return static_cast<AccountId>(rng_.below(config_.limits.max_accounts));
}

Price RandomStream::near_mid(const Market& m, std::int64_t ticks) {
    const Price p = m.mid + rng_.between(-ticks, ticks) * m.spec.tick_size;
    return std::clamp(p, m.spec.min_price, m.spec.max_price);
}

Quantity RandomStream::valid_quantity(const InstrumentSpec& spec) {
    const Quantity max_lots = spec.max_order_quantity / spec.lot_size;
    if (rng_.percent(4)) {
        return spec.lot_size * rng_.between(1, max_lots);  // sweeps several levels
    }
    return spec.lot_size * std::min<Quantity>(rng_.between(1, 8), max_lots);
}

ClientOrderId RandomStream::fresh_client_id(AccountId account) {
    if (account < next_client_id_.size()) {
        return next_client_id_[account]++;
    }
    return 1'000'000 + rng_.below(1'000);
}

const RandomStream::Live* RandomStream::random_live() {
    if (live_.empty()) {
        return nullptr;
    }
    return &live_[rng_.below(live_.size())];
}

Command RandomStream::next() {
    // Below the target the mix favours new orders so books fill; above it, cancels take over.
    const bool crowded = live_.size() > config_.target_resting;
    const std::uint64_t r = rng_.below(1'000);
    if (r < 50) {
        return stamp(invalid_command());
    }
    if (r < 55) {
        return stamp(valid_mass_cancel());
    }
    if (r < 150 || (crowded && r < 500)) {
        return stamp(valid_cancel());
    }
    if (r < 270 || (crowded && r < 600)) {
        return stamp(valid_replace());
    }
    return stamp(valid_new_order());
}

Command RandomStream::valid_new_order() {
    const Market& m = pick_market();
    Command c;
    c.type = CommandType::NewOrder;
    c.instrument = m.spec.id;
    c.account = pick_account();
    c.side = rng_.percent(50) ? Side::Buy : Side::Sell;
    c.self_trade = raw_enum<SelfTradePrevention>(rng_.below(3));
    c.quantity = valid_quantity(m.spec);
    c.client_order_id = fresh_client_id(c.account);
    if (rng_.percent(3)) {
        // Reuse a client order id: live ones are duplicates, finished ones may have expired.
        if (!finished_.empty() && rng_.percent(60)) {
            const Finished& f = finished_[rng_.below(finished_.size())];
            c.account = f.account;
            c.client_order_id = f.client_order_id;
        } else if (const Live* l = random_live()) {
            c.account = l->account;
            c.client_order_id = l->client_order_id;
        }
    }
    const bool liquidation = rng_.percent(4);
    if (rng_.percent(12)) {
        c.order_type = OrderType::Market;
        c.time_in_force =
            rng_.percent(60) ? TimeInForce::ImmediateOrCancel : TimeInForce::FillOrKill;
        if (liquidation) {
            c.flags = order_flags::kLiquidation;
            if (rng_.percent(40)) {
                c.time_in_force = TimeInForce::GoodTillCancel;
            }
        }
        // The price of a market order is ignored; sometimes leave garbage in it.
        c.price = rng_.percent(50) ? 0 : near_mid(m, 5);
        return c;
    }
    c.order_type = OrderType::Limit;
    // Mostly passive prices (buys below the mid, sells above) so that books build up; the rest
    // reach across the mid and trade.
    const std::int64_t away = rng_.percent(78) ? rng_.between(1, 7) : -rng_.between(0, 4);
    const Price toward = c.side == Side::Buy ? -away : away;
    c.price = std::clamp(m.mid + toward * m.spec.tick_size, m.spec.min_price, m.spec.max_price);
    const std::uint64_t t = rng_.below(100);
    c.time_in_force = t < 65   ? TimeInForce::GoodTillCancel
                      : t < 85 ? TimeInForce::ImmediateOrCancel
                               : TimeInForce::FillOrKill;
    if (liquidation) {
        c.flags = order_flags::kLiquidation;
    } else if (c.time_in_force == TimeInForce::GoodTillCancel && rng_.percent(12)) {
        c.flags = order_flags::kPostOnly;
    }
    return c;
}

Command RandomStream::valid_cancel() {
    Command c;
    c.type = CommandType::Cancel;
    const Live* l = random_live();
    if (l == nullptr || rng_.percent(6)) {
        return odd_target(c);
    }
    c.instrument = l->instrument;
    c.account = l->account;
    c.order_id = l->order_id;
    return c;
}

Command RandomStream::valid_replace() {
    Command c;
    c.type = CommandType::Replace;
    c.self_trade = raw_enum<SelfTradePrevention>(rng_.below(3));
    const Live* l = random_live();
    if (l == nullptr || rng_.percent(6)) {
        return odd_target(c);
    }
    const Market* m = nullptr;
    for (const Market& candidate : markets_) {
        if (candidate.spec.id == l->instrument) {
            m = &candidate;
        }
    }
    c.instrument = l->instrument;
    c.account = l->account;
    c.order_id = l->order_id;
    const std::uint64_t shape = rng_.below(100);
    if (shape < 35) {
        // Same price, no larger: keeps priority (including an unchanged quantity).
        c.price = l->price;
        c.quantity = m->spec.lot_size * rng_.between(1, l->leaves / m->spec.lot_size);
    } else if (shape < 50) {
        c.price = l->price;  // same price, larger: loses priority
        c.quantity =
            std::min(l->leaves + m->spec.lot_size * rng_.between(1, 4), m->spec.max_order_quantity);
    } else {
        c.price = near_mid(*m, 5);  // may cross and trade
        c.quantity = valid_quantity(m->spec);
    }
    return c;
}

Command RandomStream::valid_mass_cancel() {
    Command c;
    c.type = CommandType::MassCancel;
    c.account = pick_account();
    c.instrument = rng_.percent(20) ? kAllInstruments : pick_market().spec.id;
    c.client_order_id = rng_.below(1'000);  // not used by a mass cancel; clients may still set it
    return c;
}

Command RandomStream::odd_target(Command c) {
    c.instrument = pick_market().spec.id;
    c.account = pick_account();
    c.price = near_mid(markets_[0], 3);
    c.quantity = 1;
    const std::uint64_t kind = rng_.below(6);
    if (kind == 5) {
        // An instrument the shard does not have: the order cannot rest there.
        const InstrumentId unknown[] = {0, 3, 4, kAllInstruments};
        c.instrument = unknown[rng_.below(4)];
        c.order_id = live_.empty() ? 1 : random_live()->order_id;
    } else if (kind == 0 || live_.empty()) {
        c.order_id = rng_.percent(50) ? 0 : 1'000'000'000 + rng_.below(1'000);  // never assigned
    } else if (kind == 1 && !finished_.empty()) {
        const Finished& f = finished_[rng_.below(finished_.size())];  // no longer resting
        c.order_id = f.order_id;
        c.instrument = f.instrument;
        c.account = f.account;
    } else if (kind == 2) {
        const Live& l = *random_live();  // right order, wrong instrument
        c.order_id = l.order_id;
        c.account = l.account;
        c.instrument = l.instrument == 1 ? 2 : 1;
    } else {
        const Live& l = *random_live();  // someone else's order
        c.order_id = l.order_id;
        c.instrument = l.instrument;
        c.account =
            static_cast<AccountId>((l.account + 1 + rng_.below(config_.limits.max_accounts - 1)) %
                                   config_.limits.max_accounts);
    }
    if (c.type == CommandType::Replace) {
        for (const Market& m : markets_) {
            if (m.spec.id == c.instrument) {
                c.price = near_mid(m, 3);
                c.quantity = m.spec.lot_size;
            }
        }
    }
    return c;
}

// One command that breaks exactly one rule (the one named by `kind`); the other fields are valid
// so that the expected reason is the one the validation order picks.
Command RandomStream::invalid_command() {
    Command c = valid_new_order();
    c.flags = 0;
    c.order_type = OrderType::Limit;
    c.time_in_force = TimeInForce::GoodTillCancel;
    const Market* m = nullptr;
    for (const Market& candidate : markets_) {
        if (candidate.spec.id == c.instrument) {
            m = &candidate;
        }
    }
    const InstrumentSpec& spec = m->spec;
    const AccountId n_accounts = config_.limits.max_accounts;
    switch (rng_.below(27)) {
        case 0: {
            const InstrumentId unknown[] = {0, 3, 77, kAllInstruments};
            c.instrument = unknown[rng_.below(4)];
            break;
        }
        case 1:
            c.account = rng_.percent(50) ? n_accounts + static_cast<AccountId>(rng_.below(5))
                                         : 0xFFFF'FFFFu;
            break;
        case 2:
            c.side = raw_enum<Side>(rng_.between(2, 255));
            break;
        case 3:
            c.order_type = raw_enum<OrderType>(rng_.between(2, 255));
            break;
        case 4:
            c.time_in_force = raw_enum<TimeInForce>(rng_.between(3, 255));
            break;
        case 5:
            c.self_trade = raw_enum<SelfTradePrevention>(rng_.between(3, 255));
            break;
        case 6:
            c.flags = rng_.percent(50) ? order_flags::kPostOnly | order_flags::kLiquidation
                                       : static_cast<std::uint8_t>(rng_.between(4, 255));
            break;
        case 7:
            c.quantity = rng_.percent(50) ? 0 : -spec.lot_size * rng_.between(1, 5);
            break;
        case 8:
            // Off lot needs a lot above 1; the coarse instrument has one.
            c.instrument = 2;
            c.price = 3'000;
            c.quantity = 10 * rng_.between(1, 5) + rng_.between(1, 9);
            break;
        case 9:
            c.quantity = spec.max_order_quantity + spec.lot_size * rng_.between(1, 3);
            break;
        case 10:
            c.order_type = OrderType::Market;
            c.time_in_force = TimeInForce::ImmediateOrCancel;
            c.flags = order_flags::kPostOnly;
            break;
        case 11:
            c.order_type = OrderType::Market;
            break;  // market + GTC, not a liquidation
        case 12:
            c.price = rng_.percent(50) ? 0 : -spec.tick_size * rng_.between(1, 5);
            break;
        case 13:
            c.instrument = 9;
            c.quantity = 100;
            c.price = 11'000 + rng_.between(1, 24);
            break;
        case 14:
            c.price = rng_.percent(50) ? spec.min_price - spec.tick_size * rng_.between(1, 3)
                                       : spec.max_price + spec.tick_size * rng_.between(1, 3);
            if (c.price <= 0) {
                c.price = spec.max_price + spec.tick_size;
            }
            break;
        case 15:
            c.flags = order_flags::kPostOnly;
            c.time_in_force =
                rng_.percent(50) ? TimeInForce::ImmediateOrCancel : TimeInForce::FillOrKill;
            break;
        case 16:
            if (const Live* l = random_live()) {
                c.account = l->account;
                c.client_order_id = l->client_order_id;
            }
            break;
        case 17:
            c.type = raw_enum<CommandType>(rng_.between(4, 255));
            break;
        case 18: {
            // A market order on the rarely used instrument: often nothing to meet.
            c.instrument = 12;
            c.order_type = OrderType::Market;
            c.time_in_force = TimeInForce::ImmediateOrCancel;
            c.quantity = 1;
            break;
        }
        case 19:
            return odd_target(Command{.type = CommandType::Cancel});
        case 20:
            return odd_target(Command{.type = CommandType::Replace});
        case 21:
        case 22:
        case 23: {
            const Live* l = random_live();
            if (l == nullptr) {
                break;
            }
            Command r;
            r.type = CommandType::Replace;
            r.instrument = l->instrument;
            r.account = l->account;
            r.order_id = l->order_id;
            r.price = l->price;
            r.quantity = l->leaves;
            for (const Market& candidate : markets_) {
                if (candidate.spec.id == l->instrument) {
                    m = &candidate;
                }
            }
            const std::uint64_t k = rng_.below(3);
            if (rng_.percent(30)) {
                r.self_trade = raw_enum<SelfTradePrevention>(rng_.between(3, 255));
            } else if (k == 0) {
                r.quantity = rng_.percent(30) ? 0 : m->spec.max_order_quantity + m->spec.lot_size;
                if (m->spec.lot_size > 1 && rng_.percent(50)) {
                    r.quantity = m->spec.lot_size + 1;
                }
            } else if (k == 1) {
                r.price = rng_.percent(30) ? 0 : m->spec.max_price + m->spec.tick_size;
                if (m->spec.tick_size > 1 && rng_.percent(50)) {
                    r.price = l->price + 1;
                }
            } else {
                r.price = m->spec.min_price - m->spec.tick_size;  // may also be <= 0
            }
            return r;
        }
        case 24: {
            Command mc;
            mc.type = CommandType::MassCancel;
            mc.account = n_accounts + static_cast<AccountId>(rng_.below(3));
            mc.instrument = rng_.percent(50) ? kAllInstruments : 1;
            return mc;
        }
        case 25: {
            Command mc;
            mc.type = CommandType::MassCancel;
            mc.account = pick_account();
            mc.instrument = rng_.percent(50) ? 4 : 1'000;
            return mc;
        }
        default: {
            // Cancel or replace naming an account the shard does not know.
            Command x;
            x.type = rng_.percent(50) ? CommandType::Cancel : CommandType::Replace;
            if (const Live* l = random_live()) {
                x.instrument = l->instrument;
                x.order_id = l->order_id;
                x.price = l->price;
                x.quantity = l->leaves;
            }
            x.account = n_accounts + static_cast<AccountId>(rng_.below(3));
            return x;
        }
    }
    return c;
}

void RandomStream::forget(OrderId id) {
    const auto it = live_pos_.find(id);
    if (it == live_pos_.end()) {
        return;
    }
    const std::size_t pos = it->second;
    const Live gone = live_[pos];
    live_pos_.erase(it);
    if (pos + 1 != live_.size()) {
        live_[pos] = live_.back();
        live_pos_[live_[pos].order_id] = pos;
    }
    live_.pop_back();
    const Finished f{gone.order_id, gone.client_order_id, gone.account, gone.instrument};
    if (finished_.size() < kFinishedRing) {
        finished_.push_back(f);
    } else {
        finished_[finished_next_] = f;
        finished_next_ = (finished_next_ + 1) % kFinishedRing;
    }
}

void RandomStream::observe(const std::vector<Event>& events) {
    for (const Event& e : events) {
        switch (e.type) {
            case EventType::Accepted:
                live_pos_[e.order_id] = live_.size();
                live_.push_back(Live{e.order_id, e.client_order_id, e.account, e.instrument, e.side,
                                     e.price, e.leaves, last_flags_});
                break;
            case EventType::Trade:
                if (const auto it = live_pos_.find(e.order_id); it != live_pos_.end()) {
                    live_[it->second].leaves = e.leaves;
                }
                if (e.leaves == 0) {
                    forget(e.order_id);
                }
                if (const auto it = live_pos_.find(e.maker_order_id); it != live_pos_.end()) {
                    live_[it->second].leaves = e.maker_leaves;
                }
                if (e.maker_leaves == 0) {
                    forget(e.maker_order_id);
                }
                break;
            case EventType::Cancelled:
                forget(e.order_id);
                break;
            case EventType::Replaced:
                if (const auto it = live_pos_.find(e.order_id); it != live_pos_.end()) {
                    live_[it->second].price = e.price;
                    live_[it->second].leaves = e.leaves;
                }
                break;
            case EventType::Rejected:
            case EventType::MassCancelled:
                break;
        }
    }
}

// ---------------------------------------------------------------------------------------------

std::string describe(const Command& c) {
    std::ostringstream s;
    s << "seq=" << c.seq << " type=" << static_cast<unsigned>(c.type)
      << " instrument=" << c.instrument << " account=" << c.account
      << " side=" << static_cast<unsigned>(c.side)
      << " order_type=" << static_cast<unsigned>(c.order_type)
      << " tif=" << static_cast<unsigned>(c.time_in_force)
      << " stp=" << static_cast<unsigned>(c.self_trade)
      << " flags=" << static_cast<unsigned>(c.flags) << " cid=" << c.client_order_id
      << " order_id=" << c.order_id << " price=" << c.price << " qty=" << c.quantity
      << " ts=" << c.timestamp_ns;
    return s.str();
}

std::string describe(const Event& e) {
    std::ostringstream s;
    s << to_string(e.type);
    if (e.type == EventType::Rejected || e.reject_reason != RejectReason::None) {
        s << "(" << to_string(e.reject_reason) << ")";
    }
    if (e.type == EventType::Cancelled || e.cancel_reason != CancelReason::None) {
        s << "(" << to_string(e.cancel_reason) << ")";
    }
    s << " seq=" << e.seq << " ts=" << e.timestamp_ns << " instrument=" << e.instrument
      << " side=" << static_cast<unsigned>(e.side) << " critical=" << e.critical
      << " account=" << e.account << " order_id=" << e.order_id << " cid=" << e.client_order_id
      << " price=" << e.price << " qty=" << e.quantity << " leaves=" << e.leaves;
    s << " trade_id=" << e.trade_id << " maker_order_id=" << e.maker_order_id
      << " maker_cid=" << e.maker_client_order_id << " maker_account=" << e.maker_account
      << " maker_leaves=" << e.maker_leaves;
    return s.str();
}

}  // namespace exchanged::book::testing
