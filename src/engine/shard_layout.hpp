// Which shard owns which instrument. The daemon routes live commands with it and recovery routes
// replayed ones with it, so both must come from this one place: if they disagreed, replay would
// hand a command to a matcher that never saw it live.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "book/command.hpp"
#include "book/instrument_spec.hpp"
#include "book/matcher.hpp"
#include "common/types.hpp"

namespace exchanged {
struct Config;
}  // namespace exchanged

namespace exchanged::engine {

using ShardId = std::uint32_t;

// Instruments are dealt to shards round-robin in configuration order ([instruments] lines), so
// adding an instrument at the end never moves an existing one. An instrument that is not
// configured goes to shard 0, whose matcher rejects it as unknown_instrument like any other.
ShardId shard_of(InstrumentId instrument, std::span<const book::InstrumentSpec> instruments,
                 std::uint32_t shard_count);

// A mass cancel over all instruments is the one command every shard must see: the gateway hands
// it to each shard, and each logs and applies its own copy. Every other command goes to the
// shard_of() its instrument.
inline bool for_every_shard(const book::Command& command) {
    return command.type == book::CommandType::MassCancel &&
           command.instrument == book::kAllInstruments;
}

// The shard layout and matcher limits recovery and the daemon build their matchers from.
struct ShardLayout {
    std::uint32_t shard_count = 1;
    std::vector<book::InstrumentSpec> instruments;  // configuration order
    book::MatcherLimits limits;

    ShardId shard_of(InstrumentId instrument) const {
        return engine::shard_of(instrument, instruments, shard_count);
    }
    std::vector<book::InstrumentSpec> instruments_of(ShardId shard) const;
    // Throws std::invalid_argument when the matcher refuses the instruments or limits.
    book::Matcher make_matcher(ShardId shard) const;
};

ShardLayout make_shard_layout(const exchanged::Config& config);

}  // namespace exchanged::engine
