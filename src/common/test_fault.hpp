// Test-only fault switches for the mutation checks (docs/tools.md, "Mutation checks"). Each one
// removes one step that a durability promise rests on, so that a test can show the power-loss
// checks catch its absence; a checker that passes with the step gone proves nothing.
//
// All are off unless a test harness arms one by name (`exchangectl crash power-loss --test-fault
// NAME`, or a test calling arm()); arming prints a loud warning to stderr. Nothing reads them from
// the environment, the configuration or the daemon's flags, so a production start cannot switch
// one on. Reading a switch is one relaxed atomic load.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace exchanged::test_fault {

enum class Fault : std::uint8_t {
    SkipWalFdatasync,      // the WAL's group commit (and its other data syncs) do not sync
    SkipDirectorySync,     // no directory fsync after a segment is created or renamed
    EarlyAcks,             // a batch's acks are released when it is submitted, before it is durable
    StoreAckBeforeCommit,  // the store point advances before the store batch commits
    QuorumLeaderOnly,      // the quorum frontier follows the leader's own durable LSN alone
    MirrorAckBeforeReply,  // the Redis mirror's point advances before Redis replied to the batch
    StandbyApplySkip,      // a follower's standby applier drops its first command
    SkipDivergenceTruncate,   // a follower told to cut its departed log tail keeps it
    DamageSnapshotChunk,      // a leader flips a byte of the first chunk of its first snapshot
    SkipSnapshotInstall,      // a follower checks a received snapshot but never swaps it in
    PromoteAnyLog,            // `cluster promote` lets a candidate lead without the longest log
    StandbyApplyUncommitted,  // a follower's standby applies past the leader's commit LSN
    LeaseIgnoreExpiry,        // an etcd-elected leader keeps leading after its lease lapsed
    EtcdTokenNotRenewed,      // the etcd client keeps a token etcd rejected
    RestartResumeTerm,        // a leader restarted over a replicated log resumes its old term
    RefuseNewerEpoch,         // a follower refuses a newer leader's frames instead of adopting
    AdoptWithoutPersist,      // a follower adopts a newer epoch without persisting it first
    SkipPgSnapshotRestore,    // a PostgreSQL follower installs a snapshot's WAL, not its store
    MirrorNoHoldLimit,        // the Redis mirror holds acks for a dead Redis without a bound
    EtcdTlsNoVerify,          // the etcd client trusts any certificate a member shows
};
inline constexpr std::array kAllFaults{
    Fault::SkipWalFdatasync,     Fault::SkipDirectorySync,      Fault::EarlyAcks,
    Fault::StoreAckBeforeCommit, Fault::QuorumLeaderOnly,       Fault::MirrorAckBeforeReply,
    Fault::StandbyApplySkip,     Fault::SkipDivergenceTruncate, Fault::DamageSnapshotChunk,
    Fault::SkipSnapshotInstall,  Fault::PromoteAnyLog,          Fault::StandbyApplyUncommitted,
    Fault::LeaseIgnoreExpiry,    Fault::EtcdTokenNotRenewed,    Fault::RestartResumeTerm,
    Fault::RefuseNewerEpoch,     Fault::AdoptWithoutPersist,    Fault::SkipPgSnapshotRestore,
    Fault::MirrorNoHoldLimit,    Fault::EtcdTlsNoVerify};

const char* name(Fault fault);
// The fault called `text`, or nullopt.
std::optional<Fault> parse(std::string_view text);
// Every name, comma-separated, for error messages.
std::string names();

namespace detail {
extern std::atomic<std::uint32_t> armed_mask;
}

// Arms `fault` for the whole process and warns on stderr that durability is broken on purpose.
void arm(Fault fault);
void disarm_all();
inline bool armed(Fault fault) noexcept {
    return (detail::armed_mask.load(std::memory_order_relaxed) &
            (1u << static_cast<unsigned>(fault))) != 0;
}

// Arms a fault for one scope (tests).
class ScopedFault {
  public:
    explicit ScopedFault(Fault fault) { arm(fault); }
    ~ScopedFault() { disarm_all(); }
    ScopedFault(const ScopedFault&) = delete;
    ScopedFault& operator=(const ScopedFault&) = delete;
};

}  // namespace exchanged::test_fault
