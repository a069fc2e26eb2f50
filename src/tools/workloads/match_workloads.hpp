// Seeded command streams for the matching benchmark. Each generator returns the instrument set,
// the limits the matcher needs and a pre-built vector of commands, so that generating inputs is
// never part of what a benchmark times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "book/command.hpp"
#include "book/instrument_spec.hpp"
#include "book/matcher.hpp"

namespace exchanged::tools {

struct Workload {
    std::string name;
    std::vector<book::InstrumentSpec> instruments;
    book::MatcherLimits limits;
    std::vector<book::Command> commands;
    std::string description;  // the mix actually produced, for the report
};

// About 60% passive limit adds near the touch (hundreds of levels deep), 25% cancels, 10%
// aggressive limit or market orders, 5% replaces, over many accounts so self-trades occur.
Workload make_mix_workload(std::uint64_t commands, std::uint64_t seed);

// The classic insert-only crossing workload of Liquibook's performance test: alternate buy and
// sell, buys uniform in 1880..1889, sells in 1884..1893, quantity 100..1000 in steps of 100.
Workload make_liquibook_workload(std::uint64_t commands, std::uint64_t seed);

}  // namespace exchanged::tools
