// A leader restarted over a replicated log begins a new term (docs/replication.md: A leader's
// restart). Its log may end below records of its old term that the followers hold and that were
// acknowledged (it ships records before its own group commit syncs them, and a power cut loses
// its unsynced tail), so resuming that term would write other records under the same (epoch, LSN)
// and lose those acknowledgements. It starts as a follower instead (refusing logins) and runs the
// promotion rule of `exchangectl cluster promote` in-process: a promise round for an epoch above
// every epoch a member reports, a majority (itself included) promising, the records it lacks
// fetched from the longest log, then the lead. Until then it retries with a bounded back-off.
//
// With etcd failover (failover_loop.hpp) every start is a follower's already and the epoch comes
// from etcd: this round is for the manual mode only.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/failover_loop.hpp"
#include "config/config.hpp"
#include "ops/metrics.hpp"
#include "tools/cluster/promise_round.hpp"

namespace exchanged::app {

// Whether `config` (after apply_replication_state) starts a replicated leader whose log holds
// records or terms already: such a start must begin a new term through the round below. A first
// start on an empty log leads the profile's epoch at once. Throws std::runtime_error naming the
// missing key when the round cannot run ([replication] admins, [server] admin_listen).
bool must_begin_new_term(const Config& config);

class NewTermRound {
  public:
    // `hooks`: the running follower's (the paths of POST /replication/promise and /lead).
    // `waiting`: called with the login refusal's text after each round that found no majority.
    NewTermRound(const Config& config, FailoverFollowerHooks hooks,
                 std::function<void(const std::string& refusal)> waiting);
    ~NewTermRound();  // stops the thread (within one round's timeouts)
    NewTermRound(const NewTermRound&) = delete;
    NewTermRound& operator=(const NewTermRound&) = delete;

    void start();
    // exchanged_replication_new_term_*: the epoch it waits to begin (0 once it leads or follows
    // another leader), the members that answered its last round, its rounds. Before the admin
    // starts.
    void register_metrics(ops::Metrics& metrics) const;
    // The refusal text while no majority answered.
    std::string waiting_text(repl::Epoch epoch, std::size_t answered) const;

  private:
    void run();
    // One round: true when it is over (this node leads, or follows a leader it found).
    bool round();
    bool sleep_for(std::chrono::milliseconds pause);  // false once stopping

    const repl::NodeId node_;
    const std::vector<tools::AdminMember> admins_;
    const FailoverFollowerHooks hooks_;
    const std::function<void(const std::string&)> waiting_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
    std::atomic<std::uint64_t> waiting_epoch_{0};
    std::atomic<std::uint64_t> answered_{0};
    std::atomic<std::uint64_t> rounds_{0};
    std::string last_logged_;  // the thread's only: a failed round repeats its line once
};

}  // namespace exchanged::app
