#include "repl/follower_start.hpp"

#include <algorithm>
#include <stdexcept>

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
    const auto after = std::upper_bound(terms_.begin(), terms_.end(), lsn,
                                        [](wal::Lsn l, const Term& t) { return l < t.first_lsn; });
    return after == terms_.begin() ? 0 : std::prev(after)->epoch;
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
    if (at > leader.last_lsn) {
        return refuse(leader.epoch, RefuseReason::DivergedLog,
                      who + " holds LSN " + std::to_string(at) + " beyond the leader's last " +
                          std::to_string(leader.last_lsn));
    }
    const Epoch leader_epoch_at = leader.history == nullptr ? 0 : leader.history->epoch_of(at);
    if (at > 0 && leader_epoch_at != hello.last_record_epoch) {
        return refuse(leader.epoch, RefuseReason::DivergedLog,
                      who + "'s LSN " + std::to_string(at) + " was written in epoch " +
                          std::to_string(hello.last_record_epoch) + ", the leader's in epoch " +
                          std::to_string(leader_epoch_at));
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
