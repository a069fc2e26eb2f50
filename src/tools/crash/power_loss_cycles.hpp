// The seed's scenario B, power loss, as seeded cycles in one process (`exchangectl crash
// power-loss`, docs/recovery.md). One scenario is one exchange, built from its seed: a few
// instruments on one to three shards, a WAL on simulated storage (wal::SimStorage) and an SQLite
// primary store. Each cycle then runs the daemon's order path single-threaded (shards that log
// before they match, the WAL's group commit, the release gate of the standard profile, a flush
// of some durable prefix into the store with WAL segments recycled below it), loses power at a
// chosen group commit (dropping the unsynced bytes, or keeping a random sector-cut prefix of
// them), recovers from the store plus the WAL tail as `exchanged --recover` does, checks the
// result (power_loss_check.hpp), and continues on the recovered state, so that later cycles
// test recovery after recovery.
//
// Reproducible: every choice of cycle c comes from (seed, c) and from what cycles before it left,
// and the WAL writer commits only where the cycle says (SteppedStorage), so the same seed gives
// the same crashes, the same torn tails and the same failure.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "tools/crash/power_loss_check.hpp"

namespace exchanged::tools {

enum class PowerLossMode : std::uint8_t {
    Drop,  // every unsynced byte is lost
    Torn,  // a random prefix of the unsynced writes survives, cut at a sector boundary
    Flip,  // scenario C's fault: unsynced bytes lost and a bit of synced data flipped
};
const char* to_string(PowerLossMode mode);

struct PowerLossOptions {
    std::uint32_t cycles = 10;  // crashes of the one exchange, each recovered from and checked
    std::vector<PowerLossMode> modes{PowerLossMode::Drop, PowerLossMode::Torn};  // one per cycle
    // Where the store's file goes; empty: /dev/shm when it exists (no disk sync per batch),
    // otherwise the system's temporary directory.
    std::filesystem::path scratch_dir;
    // Tests: called after recovery and before the checks, with every acknowledgement so far, to
    // prove that the checks can fail.
    std::function<void(std::uint32_t cycle, const Acks& acked, RecoveredState&)> tamper;
};

struct PowerLossStats {
    std::uint64_t cycles = 0;             // crashes recovered from and checked
    std::uint64_t commands_logged = 0;    // commands handed to the WAL, lost ones included
    std::uint64_t commands_acked = 0;     // of them, durable when the power went
    std::uint64_t orders_acked = 0;       // acceptances the release gate sent
    std::uint64_t trades_acked = 0;       // trades whose fills it sent
    std::uint64_t beyond_durable = 0;     // records recovery kept beyond the durable LSN
    std::uint64_t crashes_beyond = 0;     // crashes that kept any such record
    std::uint64_t torn_tails = 0;         // crashes whose log ended in a torn tail
    std::uint64_t resent = 0;             // unacknowledged new orders sent again after recovery
    std::uint64_t resent_duplicates = 0;  // of them, refused because the order had survived
    std::uint64_t refusals = 0;           // Flip: recovery refused, naming the damage
    std::uint64_t store_batches = 0;      // flushes of a durable prefix into the store
    // A digest of every crash (durable, appended and recovered LSNs, recovered state hashes):
    // the same seed must give the same digest, whatever the threads' timing.
    std::uint64_t fingerprint = 0;

    void add(const PowerLossStats& other);
};

struct PowerLossOutcome {
    std::uint64_t seed = 0;
    bool passed = true;
    std::uint32_t failed_cycle = 0;  // 1-based; 0 when it passed
    PowerLossMode failed_mode = PowerLossMode::Drop;
    std::vector<std::string> problems;  // what was wrong, one line each
    PowerLossStats stats;
    // True when a refusal after a flipped bit ended the scenario before options.cycles.
    bool ended_by_refusal = false;
};

// Runs one scenario. Never throws for what the exchange does wrong: store and WAL errors become
// problems of the cycle they happened in.
PowerLossOutcome run_power_loss(std::uint64_t seed, const PowerLossOptions& options);

}  // namespace exchanged::tools
