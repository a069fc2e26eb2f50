// The clients of the power-loss scenario (`exchangectl crash power-loss`): a seeded stream of new
// orders, cancels, replaces and mass cancels over a few instruments and accounts. Prices sit
// around a drifting mid, mostly passive so that books build up, and about a fifth of the orders
// reach across it, so trades happen in every step. The flow learns from the events which orders
// rest, so that most cancels and replaces name live orders, and after a crash it relearns them from
// the recovered books (what it had seen beyond the crash may be gone).
//
// Client order ids count up per account and are never reused by next(): the scenario checks that
// no (account, client order id) is stored twice. Only a resend reuses one, as a client does that
// got no acknowledgement before the crash.
//
// Every random choice comes from the caller's generator, so that each cycle's stream follows from
// (seed, cycle) and from what earlier cycles left, nothing else.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "book/command.hpp"
#include "book/instrument_spec.hpp"
#include "book/matcher.hpp"
#include "common/random.hpp"
#include "engine/shard.hpp"

namespace exchanged::tools {

struct FlowAccount {
    AccountId id = 0;
    book::SelfTradePrevention self_trade = book::SelfTradePrevention::CancelResting;
};

class OrderFlow {
  public:
    OrderFlow(std::vector<book::InstrumentSpec> instruments, std::vector<FlowAccount> accounts);

    // The next command (seq and timestamp are the shard's to stamp).
    book::Command next(SplitMix64& rng);
    // The events one command produced, on whichever shards it went to.
    void observe(std::span<const engine::ShardEvent> events);
    // Forgets what it knew of resting orders and reads them from the recovered matchers.
    void relearn(const std::vector<book::Matcher>& matchers);

    std::size_t resting() const { return live_.size(); }

  private:
    struct Live {
        InstrumentId instrument;
        OrderId order_id;
        AccountId account;
        Side side;
    };
    struct Market {
        book::InstrumentSpec spec;
        Price mid;
    };
    // Order ids are per shard, and an instrument lives on one shard, so this names one order.
    using LiveKey = std::pair<InstrumentId, OrderId>;
    struct LiveKeyHash {
        std::size_t operator()(const LiveKey& key) const {
            return std::hash<std::uint64_t>()((std::uint64_t{key.first} << 40) ^ key.second);
        }
    };

    Market& pick_market(SplitMix64& rng);
    const FlowAccount& pick_account(SplitMix64& rng);
    Price clamp_price(const Market& market, Price price) const;
    book::Command new_order(SplitMix64& rng);
    book::Command cancel(SplitMix64& rng);
    book::Command replace(SplitMix64& rng);
    book::Command mass_cancel(SplitMix64& rng);
    book::Command invalid(SplitMix64& rng);

    void add_live(const Live& live);
    void forget(InstrumentId instrument, OrderId order_id);

    std::vector<Market> markets_;
    std::vector<FlowAccount> accounts_;
    std::unordered_map<AccountId, ClientOrderId> next_client_id_;
    std::vector<Live> live_;
    std::unordered_map<LiveKey, std::size_t, LiveKeyHash> live_index_;
};

}  // namespace exchanged::tools
