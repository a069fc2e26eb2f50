// A seeded generator of matching commands for the differential and determinism tests. It watches
// the events each command produced (observe()) to know which orders rest, so that most cancels and
// replaces hit live orders, while a small share of commands is deliberately invalid in every way
// the spec rejects. Built on SplitMix64 only, so a seed gives the same stream on every platform.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "book/command.hpp"
#include "book/event.hpp"
#include "book/instrument_spec.hpp"
#include "book/matcher.hpp"
#include "common/random.hpp"

namespace exchanged::book::testing {

struct StreamConfig {
    std::uint64_t seed = 0;
    std::vector<InstrumentSpec> instruments;
    MatcherLimits limits;
    // Above this many resting orders the generator prefers cancels, which keeps books small.
    std::size_t target_resting = 200;
};

// The instruments and limits depend on the seed: some seeds get a small max_orders and
// client_order_id_window so that book_full and window expiry happen often.
StreamConfig make_stream_config(std::uint64_t seed);

class RandomStream {
  public:
    explicit RandomStream(const StreamConfig& config);

    // The next command; seq is its index + 1.
    Command next();
    // Feeds back the events of the command last returned by next().
    void observe(const std::vector<Event>& events);

    std::size_t live_orders() const { return live_.size(); }

  private:
    // What the stream knows of a resting order, as the matcher describes one.
    using Live = OrderView;
    struct Finished {
        OrderId order_id;
        ClientOrderId client_order_id;
        AccountId account;
        InstrumentId instrument;
    };
    struct Market {
        InstrumentSpec spec;
        Price mid;  // a random walk that centres the prices generated for this instrument
        std::uint32_t weight;
    };

    Command stamp(Command c);
    const Market& pick_market();
    AccountId pick_account();
    Price near_mid(const Market& m, std::int64_t ticks);
    Quantity valid_quantity(const InstrumentSpec& spec);
    ClientOrderId fresh_client_id(AccountId account);

    Command valid_new_order();
    Command valid_cancel();
    Command valid_replace();
    Command valid_mass_cancel();
    Command invalid_command();
    Command odd_target(Command c);  // a cancel/replace of an unknown, foreign or finished order

    void forget(OrderId id);
    const Live* random_live();

    StreamConfig config_;
    SplitMix64 rng_;
    std::vector<Market> markets_;
    std::uint32_t total_weight_ = 0;
    std::uint64_t index_ = 0;
    std::uint8_t last_flags_ = 0;  // Accepted does not carry flags; remember the command's

    std::vector<Live> live_;
    std::unordered_map<OrderId, std::size_t> live_pos_;
    std::vector<Finished> finished_;  // ring of recently finished orders
    std::size_t finished_next_ = 0;
    std::vector<ClientOrderId> next_client_id_;  // per account
};

std::string describe(const Command& c);
std::string describe(const Event& e);

}  // namespace exchanged::book::testing
