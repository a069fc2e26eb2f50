#include "repl/follower_start.hpp"

#include <algorithm>
#include <stdexcept>

#include "repl/log_divergence.hpp"

namespace exchanged::repl {

void EpochHistory::begin(Epoch epoch, wal::Lsn first_lsn) {
    if (!terms_.empty() && (epoch <= terms_.back().epoch || first_lsn <= terms_.back().first_lsn)) {
        throw std::invalid_argument("epoch history: term " + std::to_string(epoch) + " at LSN " +
                                    std::to_string(first_lsn) + " does not follow term " +
                                    std::to_string(terms_.back().epoch) + " at LSN " +
                                    std::to_string(terms_.back().first_lsn));
    }
    terms_.push_back({epoch, first_lsn});
}

Epoch EpochHistory::epoch_of(wal::Lsn lsn) const {
    const auto after =
        std::upper_bound(terms_.begin(), terms_.end(), lsn,
                         [](wal::Lsn l, const TermStart& t) { return l < t.first_lsn; });
    return after == terms_.begin() ? 0 : std::prev(after)->epoch;
}

void EpochHistory::truncate_after(wal::Lsn lsn) {
    while (!terms_.empty() && terms_.back().first_lsn > lsn) {
        terms_.pop_back();
    }
}

namespace {

FollowerStart refuse(Epoch epoch, RefuseReason reason, std::string text) {
    FollowerStart start;
    start.refused = true;
    start.refusal = {epoch, reason, std::move(text)};
    return start;
}

}  // namespace

FollowerStart plan_follower_start(const LeaderLog& leader, const Hello& hello) {
    const std::string who = "node " + std::to_string(hello.node);
    if (hello.epoch > leader.epoch) {
        FollowerStart start = refuse(leader.epoch, RefuseReason::StaleEpoch,
                                     who + " promised epoch " + std::to_string(hello.epoch) +
                                         " above this leader's " + std::to_string(leader.epoch));
        start.leader_deposed = true;
        return start;
    }
    const wal::Lsn at = hello.durable_lsn;
    if (hello.terms.empty() && hello.last_record_epoch != 0) {
        return refuse(leader.epoch, RefuseReason::DivergedLog,
                      who + "'s Hello names epoch " + std::to_string(hello.last_record_epoch) +
                          " for its last record but carries no terms");
    }
    static const EpochHistory kNoTerms;
    const EpochHistory& history = leader.history == nullptr ? kNoTerms : *leader.history;
    const Divergence divergence = find_divergence(history.terms(), leader.last_lsn, hello.terms, at,
                                                  hello.terms.size() >= kMaxHelloTerms);
    if (divergence.common_lsn < at) {
        const wal::Lsn keep = divergence.common_lsn;
        const std::string held = who + " holds LSN " + std::to_string(keep + 1) + ".." +
                                 std::to_string(at) + " (its last in epoch " +
                                 std::to_string(hello.last_record_epoch) + ")";
        const std::string leaders =
            keep + 1 > leader.last_lsn
                ? "beyond the leader's last " + std::to_string(leader.last_lsn)
                : "where the leader's log has LSN " + std::to_string(keep + 1) + " in epoch " +
                      std::to_string(history.epoch_of(keep + 1));
        // Records of this leader's own term that its log lacks: it lost them (a restart under
        // the same epoch), and they may have been acknowledged. Never cut those.
        if (hello.last_record_epoch >= leader.epoch) {
            return refuse(leader.epoch, RefuseReason::DivergedLog,
                          held + " " + leaders + "; it is this leader's epoch " +
                              std::to_string(leader.epoch) + ", so they are kept");
        }
        // Records logged before terms were: no term says they were never acknowledged.
        if (hello.last_record_epoch == 0) {
            return refuse(
                leader.epoch, RefuseReason::DivergedLog,
                held + " " + leaders + "; they precede any term record, so they are kept");
        }
        if (!divergence.known) {
            return refuse(leader.epoch, RefuseReason::DivergedLog,
                          held + " " + leaders + "; the logs depart before the oldest of the " +
                              std::to_string(hello.terms.size()) +
                              " terms its Hello carries: re-sync by snapshot");
        }
        FollowerStart start;
        start.truncated = true;
        start.truncate = {leader.epoch, keep, history.epoch_of(keep + 1), leader.last_lsn};
        // Cut, the follower continues from keep + 1: the retention rule applies to it then.
        return start;
    }
    if (at + 1 < leader.oldest_lsn) {
        return refuse(leader.epoch, RefuseReason::OutOfDate,
                      who + " needs LSN " + std::to_string(at + 1) + "; the leader holds LSN " +
                          std::to_string(leader.oldest_lsn) + " onwards: re-sync by snapshot");
    }
    FollowerStart start;
    start.stream_from = at + 1;
    return start;
}

}  // namespace exchanged::repl
