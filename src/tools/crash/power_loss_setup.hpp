// The exchange a power-loss scenario runs, made from its seed alone: one to three shards, two to
// four instruments with small price bands (so books are dense and orders cross), three to five
// accounts with their self-trade modes, and a WAL with small segments and batch buffers, so that
// crashes often fall on a rotation or cut a commit in two.
#pragma once

#include <cstdint>
#include <vector>

#include "config/config.hpp"
#include "engine/shard_layout.hpp"
#include "tools/crash/power_loss_flow.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::tools {

struct PowerLossSetup {
    engine::ShardLayout layout;
    std::vector<FlowAccount> accounts;
    exchanged::Config
        profile;  // the standard profile's ack points, with these instruments and accounts
    wal::WalOptions wal;
    std::uint64_t checkpoint_every = 0;
    std::uint64_t disk_seed = 0;  // the simulated disk's own randomness (torn prefixes)
};

PowerLossSetup make_power_loss_setup(std::uint64_t seed);

// The generator of cycle `cycle`'s choices: a function of (seed, cycle) only.
SplitMix64 cycle_random(std::uint64_t seed, std::uint32_t cycle);

}  // namespace exchanged::tools
