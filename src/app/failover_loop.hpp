// Automatic failover through etcd (docs/failover.md): one thread that drives this node's
// ha::LeaderLease (single-threaded, so only this thread touches it) and the existing promotion
// hooks, never the order path.
//
//   follower  polls the leader key about every 50 ms. Held by another node at an epoch above what
//             this node promised: it promises that epoch to the holder (as the holder's promise
//             round would ask), so its receiver follows the holder's frames and its login refusal
//             names it. Absent (the leader's lease lapsed): the takeover. Campaign (etcd's create-
//             if-absent txn: one candidate wins) -> epoch = the revision etcd gave the write,
//             refused unless above every epoch this node promised or ran -> the promise round to
//             every node's admin endpoint -> decide_promotion (majority, longest log; the
//             missing records fetched within one epoch) -> lead in-process (the path of POST
//             /replication/lead). No majority, or a longer log elsewhere: resign the key and try
//             again after a back-off, so that the node with the longest log can win.
//   leader    renews every TTL/4. Once holds() is false it calls the leader's `lost` hook once
//             (the daemon deposes its quorum point and steps down to a follower). A second
//             thread (the watchdog) does the same at the instant the published validity ends,
//             so that an etcd call the loop waits in cannot stretch the term.
//
// A node waits to campaign until it has seen a holder, unless it starts as the configured leader
// (or after a grace of three TTLs): a cluster starting up elects the node its profiles name.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "ha/etcd_client.hpp"
#include "ha/leader_lease.hpp"
#include "ops/metrics.hpp"
#include "repl/frame_format.hpp"
#include "tools/cluster/promise_round.hpp"

namespace exchanged::app {

// What a running follower offers the loop; set by the follower's run, cleared before its parts go.
struct FailoverFollowerHooks {
    std::function<repl::Epoch()> promised_epoch;
    // A promise of `epoch` to `candidate` through the node's PromotionEndpoints; false with why.
    std::function<bool(repl::Epoch epoch, repl::NodeId candidate, std::string& why)> promise;
    // POST /replication/lead's path, in-process; false with why.
    std::function<bool(repl::Epoch epoch, std::string& why)> lead;
};

class FailoverLoop {
  public:
    // `configured_leader`: this node starts as the leader its profile (or state file) names, so
    // it campaigns at once. Throws std::invalid_argument for an endpoint the etcd client refuses.
    FailoverLoop(const Config& config, bool configured_leader);
    ~FailoverLoop();  // stops the thread; a node still holding the key resigns it
    FailoverLoop(const FailoverLoop&) = delete;
    FailoverLoop& operator=(const FailoverLoop&) = delete;

    // Reads the leader key once, as the loop will, to find what no retry would change before
    // anything starts: a refusal (a wrong etcd password, a user whose role does not cover the
    // key, or no user where etcd wants one) throws std::runtime_error naming it. etcd not
    // answering is logged and not an error: the loop waits for it.
    void check_etcd_access();
    // What check_etcd_access finds, for --check-config: `refused` with etcd's answer, or a line.
    struct EtcdAccess {
        bool refused = false;
        std::string line;
    };
    EtcdAccess probe_etcd_access();

    void start();

    void attach_follower(FailoverFollowerHooks hooks);
    void detach_follower();
    // The leader's run of `epoch`: `lost` is called once, on the loop thread, when the lease is
    // no longer held (at once, if it was lost before this call).
    void attach_leader(repl::Epoch epoch, std::function<void(const std::string& why)> lost);
    // The lease's validity end as the loop publishes it (LeaseClock ticks since its epoch; 0:
    // none): what a leader's quorum point is limited by (QuorumPoint::limit_by_lease).
    const std::atomic<ha::LeaseClock::rep>& lease_valid_until() const { return valid_until_; }
    void detach_leader();

    // exchanged_failover_*: lease held, its epoch, leases lost. Before the admin starts.
    void register_metrics(ops::Metrics& metrics) const;

  private:
    enum class Mode { Following, Leading, Lost };

    void run();
    void follow_step();
    void lead_step();
    void publish_validity();
    // Ends the term once (either thread): the leader's `lost` hook, the log line, the metrics.
    void step_down(const std::string& why);
    void watch_validity();
    void resign_quietly();
    void takeover();
    bool still_holds(const char* step, std::int64_t epoch);
    void give_up(std::int64_t epoch, const std::string& why, std::chrono::milliseconds back_off);
    bool sleep_for(std::chrono::milliseconds pause);  // false once stopping

    const Config config_;
    const repl::NodeId node_;
    const std::chrono::milliseconds ttl_;
    const std::vector<tools::AdminMember> admins_;
    const ha::LeaderRecord self_;
    std::unique_ptr<ha::EtcdClient> etcd_;
    std::unique_ptr<ha::LeaderLease> lease_;  // the loop thread's only
    bool eligible_;                           // may campaign when the key is absent
    const std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point back_off_until_{};
    bool etcd_down_logged_ = false;

    mutable std::mutex mutex_;  // the mode and the stop flag
    std::condition_variable wake_;
    bool stopping_ = false;
    Mode mode_ = Mode::Following;
    std::string lost_why_;  // the loss not yet told to a leader's run
    // Held while the loop calls a hook, so that a run's detach waits until the call returned
    // before the run's parts go. Taken before mutex_, never after it.
    std::mutex hooks_mutex_;
    std::optional<FailoverFollowerHooks> follower_;
    std::function<void(const std::string&)> lost_;
    std::thread thread_;
    std::thread watchdog_;
    // The lease's validity end (LeaseClock ticks since its epoch; 0: none), which the loop thread
    // publishes after each renewal and the watchdog compares with the clock.
    std::atomic<ha::LeaseClock::rep> valid_until_{0};

    std::atomic<bool> held_{false};
    std::atomic<std::int64_t> epoch_{0};
    std::atomic<std::uint64_t> losses_{0};
};

}  // namespace exchanged::app
