#include "common/test_fault.hpp"

#include <cstdio>

namespace exchanged::test_fault {

namespace detail {
std::atomic<std::uint32_t> armed_mask{0};
}

const char* name(Fault fault) {
    switch (fault) {
        case Fault::SkipWalFdatasync:
            return "skip_wal_fdatasync";
        case Fault::SkipDirectorySync:
            return "skip_dir_fsync";
        case Fault::EarlyAcks:
            return "early_acks";
        case Fault::StoreAckBeforeCommit:
            return "store_ack_before_commit";
        case Fault::QuorumLeaderOnly:
            return "quorum_leader_only";
        case Fault::MirrorAckBeforeReply:
            return "mirror_ack_before_reply";
        case Fault::StandbyApplySkip:
            return "standby_apply_skip";
        case Fault::SkipDivergenceTruncate:
            return "skip_divergence_truncate";
        case Fault::DamageSnapshotChunk:
            return "damage_snapshot_chunk";
        case Fault::SkipSnapshotInstall:
            return "skip_snapshot_install";
        case Fault::PromoteAnyLog:
            return "promote_any_log";
        case Fault::LeaseIgnoreExpiry:
            return "lease_ignore_expiry";
        case Fault::EtcdTokenNotRenewed:
            return "etcd_token_not_renewed";
        case Fault::StandbyApplyUncommitted:
            return "standby_apply_uncommitted";
        case Fault::RestartResumeTerm:
            return "restart_resume_term";
        case Fault::RefuseNewerEpoch:
            return "refuse_newer_epoch";
        case Fault::AdoptWithoutPersist:
            return "adopt_without_persist";
        case Fault::SkipPgSnapshotRestore:
            return "skip_pg_snapshot_restore";
        case Fault::MirrorNoHoldLimit:
            return "mirror_no_hold_limit";
        case Fault::EtcdTlsNoVerify:
            return "etcd_tls_no_verify";
    }
    return "?";
}

std::optional<Fault> parse(std::string_view text) {
    for (const Fault fault : kAllFaults) {
        if (text == name(fault)) {
            return fault;
        }
    }
    return std::nullopt;
}

std::string names() {
    std::string out;
    for (const Fault fault : kAllFaults) {
        out += out.empty() ? "" : ", ";
        out += name(fault);
    }
    return out;
}

void arm(Fault fault) {
    std::fprintf(stderr,
                 "WARNING: TEST FAULT '%s' ARMED: durability is broken on purpose; this run "
                 "proves nothing except that the checks catch it\n",
                 name(fault));
    std::fflush(stderr);
    detail::armed_mask.fetch_or(1u << static_cast<unsigned>(fault), std::memory_order_relaxed);
}

void disarm_all() {
    detail::armed_mask.store(0, std::memory_order_relaxed);
}

}  // namespace exchanged::test_fault
