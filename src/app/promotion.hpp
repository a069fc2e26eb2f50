// A node's part in a manual promotion (docs/replication.md: Promotion). Every replicated node
// answers POST /replication/promise (`epoch=E candidate=N`): it persists the promise in
// data_dir/replication.state before answering with its durable LSN, then refuses everything of an
// older epoch. The candidate then gets POST /replication/lead (`epoch=E`) and switches from
// follower to leader in-process. At start, the state file's role and epoch replace the INI's when
// its epoch is higher.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "config/config.hpp"
#include "ops/admin_server.hpp"
#include "repl/replication_state.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::app {

// The config this node runs with: the INI's, or, when data_dir/replication.state holds a higher
// epoch, that epoch and role (a leader then acknowledges after a quorum). Logs which and why.
// Throws repl::ReplicationStateError naming the file when it is damaged.
Config apply_replication_state(const Config& ini);

// A follower's login refusal, which a promise changes to name the candidate (from [replication]
// clients) while the gateway's io threads read it.
class LoginRefusal {
  public:
    explicit LoginRefusal(const Config& config);
    std::string text() const;
    // `candidate` 0: the leader of the epoch it adopted is not known yet.
    void promised(repl::NodeId candidate);
    // Any other reason (a restarted leader waiting for a majority, app/new_term.hpp).
    void set(std::string text);

  private:
    const Config& config_;
    mutable std::mutex mutex_;
    std::string text_;
};

// `key=value` pairs separated by spaces, newlines or '&'; nullopt when `key` is absent.
std::optional<std::string> body_field(const std::string& body, const std::string& key);

struct PromotionHooks {
    // This node's durable LSN, read after `promised` returned.
    std::function<wal::Lsn()> durable_lsn;
    // The epoch of its last durable record (its log's term history). Empty: the epoch this process
    // runs in (a leader's log ends in its own term).
    std::function<repl::Epoch()> last_epoch;
    // After the promise is on disk: a follower stops taking older records, a leader is deposed.
    std::function<void(repl::Epoch epoch, repl::NodeId candidate)> promised;
    // After an epoch adopted from the leader's frames is on disk (leader 0: not known yet), and
    // again once its term start record named the leader. The follower's receiver raised its
    // epoch itself; this is for the login refusal.
    std::function<void(repl::Epoch epoch, repl::NodeId leader)> adopted;
    // After role=leader is on disk: switch to leading `epoch`. Empty on a leader (it answers 409).
    std::function<void(repl::Epoch epoch)> lead;
    // GET /replication/records?from=LSN: this node's records from `from` (repl::read_records).
    std::function<std::string(wal::Lsn from)> read_records;
    // POST /replication/append (a candidate only): appends fetched records and returns the
    // durable LSN once they are durable; nullopt with `why` when refused. Empty on a leader.
    std::function<std::optional<wal::Lsn>(const std::string& records, std::string& why)>
        append_fetched;
};

class PromotionEndpoints {
  public:
    PromotionEndpoints(const Config& config, PromotionHooks hooks);

    // Registers /replication/promise, /replication/lead, /replication/records (GET) and
    // /replication/append; raises the body limit for the appended records.
    void add_to(ops::AdminOptions& options);

    // {HTTP status, body}. A failed write of the state file is fatal (logged, exit 1), as a
    // failed WAL fdatasync: what it would have promised might not survive a crash.
    std::pair<unsigned, std::string> promise(const std::string& body);
    std::pair<unsigned, std::string> lead(const std::string& body);
    std::pair<unsigned, std::string> records(const std::string& query);
    std::pair<unsigned, std::string> append(const std::string& records);
    repl::Epoch promised_epoch() const;
    // A follower's receiver got a frame of `epoch`, above what it follows, from its leader
    // (docs/replication.md: Adopting a newer epoch): persisted as a promise to a leader not known
    // yet, as promise() persists, before the receiver takes the frame. False when this node
    // promised `epoch` or a higher one, or leads (the frame is then refused as stale); true
    // without a write when it promised `epoch` as a follower already. A failed write is fatal.
    bool adopt(repl::Epoch epoch);
    // The term start record of `epoch` names `leader`: recorded when the state file does not
    // know that epoch's leader yet (an adoption), so that the login refusal and a restart name it.
    void leader_named(repl::Epoch epoch, repl::NodeId leader);
    // A leader learnt from a follower that a newer epoch exists (it promised a candidate this
    // leader never heard from): recorded as role=follower, so that the next run follows. False
    // when this node had promised that epoch (or a higher one) itself: nothing new.
    bool deposed(repl::Epoch epoch);
    // exchanged_replication_promised_epoch, which `cluster promote` reads. Before the admin starts.
    void register_metrics(ops::Metrics& metrics) const;

  private:
    void persist(const repl::ReplicationState& state);

    const std::filesystem::path path_;
    const repl::NodeId node_;
    const repl::Epoch running_epoch_;  // the epoch this process serves or follows
    const PromotionHooks hooks_;
    mutable std::mutex mutex_;
    repl::ReplicationState state_;
    bool leading_ = false;
    // The state file holds an epoch adopted from the frames (leader=0) whose leader is not named
    // yet: leader_named() completes it.
    bool leader_unknown_ = false;
};

}  // namespace exchanged::app
