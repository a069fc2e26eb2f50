// The checks after each crash of the power-loss scenario: what recovery (store + WAL tail, as
// `exchanged --recover` does it) rebuilt must hold every acknowledged order and trade, nothing
// twice and nothing that was never logged, books that do not cross, executed quantities equal to
// their trades, positions and cash that trades conserve, and matchers equal to a fresh replay of
// exactly the logged prefix. The release gate is checked on the way: it must have sent the
// replies of exactly the commands the WAL held durably.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "book/command.hpp"
#include "engine/shard_layout.hpp"
#include "engine/store_recovery.hpp"
#include "tools/crash/power_loss_acks.hpp"
#include "tools/store/profile_names.hpp"
#include "tools/store/store_rows.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::tools {

// A command as its shard logged it: with the LSN, seq and timestamp it got.
struct LoggedCommand {
    wal::Lsn lsn = 0;
    engine::ShardId shard = 0;
    book::Command command;
};

// What the scenario knew when the power went.
struct CrashFacts {
    wal::Lsn durable_lsn = 0;   // the WAL's durable LSN: a command is acknowledged iff at or below
    wal::Lsn appended_lsn = 0;  // the last LSN handed to the WAL (records beyond were never made)
    // Scenario C's fault: a bit of synced data flipped. Recovery may then refuse, naming the place,
    // and a flip in the last record reads as a torn write (the WAL's documented limit).
    bool bit_flipped = false;
};

// What recovery left: its result (matchers, next seqs, log end) and the store's rows after it
// wrote the WAL tail.
struct RecoveredState {
    engine::StoreRecoveryResult recovery;
    StoreRows rows;
};

struct CycleEvidence {
    const engine::ShardLayout& layout;
    const ProfileNames& names;
    const std::vector<LoggedCommand>& logged;  // since the scenario began, in LSN order
    CrashFacts crash;
    const Acks& released;  // what the release gates sent before the power went
    const Acks& due;       // what the profile owes: replies of commands at or below durable_lsn
    // Every acknowledgement since the scenario began, each with its command's LSN: all must
    // survive this recovery too.
    const Acks& acked;
};

// Adds this crash's acknowledgements (`released`, with the LSNs `due` knows) to `acked`.
void remember_acks(const Acks& released, const Acks& due, Acks& acked);
// Forgets acknowledgements beyond `recovered_lsn`: only a flipped bit may lose them (the WAL's
// documented limit), and then they are gone for every later cycle too.
void forget_acks_after(wal::Lsn recovered_lsn, Acks& acked);

// Every problem found, as one line each (at most a few dozen); empty when the cycle passed.
// A refusal allowed after a flipped bit is not a problem: see recovery_refused().
std::vector<std::string> check_cycle(const CycleEvidence& evidence,
                                     const RecoveredState& recovered);

// Whether recovery refused to start in a way the fault allows: only after a flipped bit, and only
// with a message (a corrupt log names the segment and offset).
bool recovery_refused(const CrashFacts& crash, const RecoveredState& recovered);

// Fresh matchers fed the logged commands at or below `up_to`, by shard: the full replay the
// recovered state must equal. Also returns each shard's next seq.
struct ReferenceReplay {
    std::vector<book::Matcher> matchers;
    std::vector<SequenceNumber> next_seq;
    std::vector<store::StoreEvent> events;  // what the replay emitted, in LSN order
};
ReferenceReplay replay_logged(const engine::ShardLayout& layout,
                              const std::vector<LoggedCommand>& logged, wal::Lsn up_to);

}  // namespace exchanged::tools
