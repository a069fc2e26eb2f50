// The leader's answer to a follower's Hello: from which LSN to stream, or why not (the epoch rule,
// docs/replication.md). Pure; the leader's sender calls it once per connection.
//
// The leader knows the epoch every LSN of its log was written under as an EpochHistory: the first
// LSN of each term, ascending. A follower's log agrees with the leader's up to its durable LSN when
// the leader's record at that LSN has the epoch of the follower's last record (each (epoch, LSN)
// pair is written by one leader only); then it continues from the next LSN. Otherwise the two
// histories say where the logs depart (log_divergence.hpp), and the follower is told to cut its
// log there when what it holds above is of older terms than the leader's (never acknowledged:
// docs/replication.md, "Divergence repair").
#pragma once

#include <string>
#include <vector>

#include "repl/frame_format.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::repl {

class EpochHistory {
  public:
    // Term `epoch` wrote its first record at `first_lsn`. Epochs and LSNs must both increase
    // (throws std::invalid_argument naming the values otherwise); a term that wrote nothing is not
    // recorded.
    void begin(Epoch epoch, wal::Lsn first_lsn);
    // The epoch that wrote `lsn` (0 for LSN 0 or an LSN before the first term).
    Epoch epoch_of(wal::Lsn lsn) const;
    bool empty() const { return terms_.empty(); }
    const std::vector<TermStart>& terms() const { return terms_; }
    // The newest term's epoch (0 when there is none).
    Epoch last_epoch() const { return terms_.empty() ? 0 : terms_.back().epoch; }
    // Forgets the terms that begin after `lsn` (the log was cut to end there).
    void truncate_after(wal::Lsn lsn);

  private:
    std::vector<TermStart> terms_;
};

struct LeaderLog {
    Epoch epoch = 0;          // the leader's current term
    wal::Lsn oldest_lsn = 1;  // the oldest record it still holds (retention)
    wal::Lsn last_lsn = 0;    // its newest record
    const EpochHistory* history = nullptr;
};

struct FollowerStart {
    bool refused = false;  // send `refusal` and close
    Refuse refusal;
    // The follower's log departs from the leader's after `truncate.keep_lsn`, above it only in
    // older epochs than the leader's: send `truncate` and close (the follower cuts its log there
    // and reconnects).
    bool truncated = false;
    Truncate truncate;
    bool leader_deposed = false;  // the follower has promised a newer epoch
    wal::Lsn stream_from = 0;     // when not refused: the first LSN to send
};

FollowerStart plan_follower_start(const LeaderLog& leader, const Hello& hello);

}  // namespace exchanged::repl
