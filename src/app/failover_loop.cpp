#include "app/failover_loop.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/test_fault.hpp"
#include "ha/etcd_endpoint.hpp"
#include "ha/etcd_tls.hpp"
#include "ops/logging.hpp"

namespace exchanged::app {

namespace {

// A follower's look at the leader key. etcd deletes a lapsed lease's key up to 0.5 s late (its
// expiry check), so what a poll adds to a failover is half of this on average; a range on one
// etcd member costs about a millisecond, so 20 a second per follower is little load for it.
constexpr std::chrono::milliseconds kPollInterval{50};
// A promise round's HTTP calls: a node that accepts but does not answer (paused) costs this.
constexpr std::chrono::milliseconds kPromiseTimeout{500};
// The access check before the start: one call, with time for a loaded etcd's bcrypt.
constexpr std::chrono::milliseconds kAccessCheckDeadline{5000};
// How often the watchdog compares the clock with the lease's validity.
constexpr std::chrono::milliseconds kWatchInterval{10};

std::string endpoint_list(const std::vector<std::string>& urls) {
    std::string list;
    for (const std::string& url : urls) {
        list += (list.empty() ? "" : ",") + url;
    }
    return list;
}

ha::EtcdClientOptions client_options(const ReplicationConfig& r, std::chrono::milliseconds ttl) {
    ha::EtcdClientOptions options;
    // A renewal is a keepalive plus a txn. The watchdog ends a term on time whatever a call
    // waits for, so a call may take a loaded machine's while: half the TTL, at most 1 s.
    options.call_deadline = std::min(std::chrono::milliseconds(1000), ttl / 2);
    if (!r.etcd_user.empty()) {
        options.credentials = ha::EtcdCredentials{r.etcd_user, r.etcd_password};
    }
    if (r.etcd_tls()) {
        options.tls =
            ha::make_etcd_tls_context({r.etcd_ca_file, r.etcd_cert_file, r.etcd_key_file});
    }
    return options;
}

std::string as_user(const ReplicationConfig& r) {
    return r.etcd_user.empty() ? "without an etcd user" : "as etcd user " + r.etcd_user;
}

}  // namespace

FailoverLoop::FailoverLoop(const Config& config, bool configured_leader)
    : config_(config),
      node_(config.replication.node_id),
      ttl_(config.replication.lease_ttl_ms),
      admins_(tools::admin_members(config.replication)),
      self_{std::to_string(config.replication.node_id), to_string(config.server.listen)},
      etcd_(std::make_unique<ha::EtcdClient>(
          ha::parse_etcd_endpoints(endpoint_list(config.replication.etcd_endpoints)),
          client_options(config.replication, ttl_))),
      eligible_(configured_leader),
      started_(std::chrono::steady_clock::now()) {
    ha::LeaderLeaseOptions options;
    options.key = config.replication.etcd_key;
    options.ttl = std::chrono::duration_cast<std::chrono::seconds>(ttl_);
    lease_ =
        std::make_unique<ha::LeaderLease>(*etcd_, options, [] { return ha::LeaseClock::now(); });
}

FailoverLoop::~FailoverLoop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread* thread : {&thread_, &watchdog_}) {
        if (thread->joinable()) {
            thread->join();
        }
    }
    if (lease_->lease_id() != 0) {
        // A clean stop hands the key on at once instead of after the TTL.
        try {
            lease_->resign();
            ops::log_milestone("failover: node {} resigned the leader key of epoch {} (stopping)",
                               node_, lease_->epoch());
        } catch (const std::exception& error) {
            spdlog::warn(
                "failover: node {} could not resign the leader key ({}); it lapses "
                "after the lease's TTL",
                node_, error.what());
        }
    }
}

FailoverLoop::EtcdAccess FailoverLoop::probe_etcd_access() {
    const ReplicationConfig& r = config_.replication;
    // A client of its own with a longer deadline than the loop's: an etcd slow to check a
    // password (bcrypt) still gets its refusal through, which is the answer this is for.
    ha::EtcdClientOptions options = client_options(r, ttl_);
    options.call_deadline = kAccessCheckDeadline;
    ha::EtcdClient etcd(etcd_->endpoints(), options);
    try {
        etcd.range(r.etcd_key);
        return {false, "ok: key " + r.etcd_key + " read " + as_user(r)};
    } catch (const ha::EtcdError& error) {
        if (error.unavailable()) {
            return {false,
                    std::string("not answering now (the node waits for it): ") + error.what()};
        }
        return {true, "etcd refused reading the key " + r.etcd_key + " " + as_user(r) + ": " +
                          error.what()};
    }
}

void FailoverLoop::check_etcd_access() {
    const EtcdAccess access = probe_etcd_access();
    if (access.refused) {
        throw std::runtime_error("failover: node " + std::to_string(node_) + ": " + access.line);
    }
    if (access.line.rfind("ok", 0) != 0) {
        spdlog::warn("failover: node {}: etcd {}", node_, access.line);
    }
}

void FailoverLoop::start() {
    ops::log_milestone("failover: node {} automatic through etcd {} (key {}, lease {} ms){}", node_,
                       endpoint_list(config_.replication.etcd_endpoints),
                       config_.replication.etcd_key, ttl_.count(),
                       eligible_ ? "; campaigns at once (the configured leader)"
                                 : "; campaigns once a leader was seen and its key lapsed");
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "failover");
        run();
    });
    watchdog_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "failover-watch");
        watch_validity();
    });
}

void FailoverLoop::attach_follower(FailoverFollowerHooks hooks) {
    std::lock_guard hooks_lock(hooks_mutex_);
    follower_ = std::move(hooks);
    std::lock_guard lock(mutex_);
    if (mode_ == Mode::Lost) {
        mode_ = Mode::Following;
    }
}

void FailoverLoop::detach_follower() {
    std::lock_guard hooks_lock(hooks_mutex_);
    follower_.reset();
}

void FailoverLoop::attach_leader(repl::Epoch epoch,
                                 std::function<void(const std::string& why)> lost) {
    std::lock_guard hooks_lock(hooks_mutex_);
    std::string why;
    {
        std::lock_guard lock(mutex_);
        if (mode_ == Mode::Leading && static_cast<repl::Epoch>(epoch_.load()) == epoch) {
            lost_ = std::move(lost);
            return;
        }
        why = lost_why_.empty() ? "the lease of epoch " + std::to_string(epoch) + " is not held"
                                : lost_why_;
    }
    lost(why);  // the run steps down as soon as it starts
}

void FailoverLoop::detach_leader() {
    std::lock_guard hooks_lock(hooks_mutex_);
    lost_ = nullptr;
}

void FailoverLoop::register_metrics(ops::Metrics& metrics) const {
    metrics.gauge("exchanged_failover_lease_held",
                  "1 while this node holds the etcd leader key under a valid lease",
                  [this] { return held_.load() ? 1.0 : 0.0; });
    metrics.gauge("exchanged_failover_lease_epoch",
                  "The epoch (etcd revision) of the last term this node won through etcd",
                  [this] { return static_cast<double>(epoch_.load()); });
    metrics.counter("exchanged_failover_leases_lost_total",
                    "Terms this node stepped down from because its etcd lease was no longer held",
                    [this] { return static_cast<double>(losses_.load()); });
    metrics.counter("exchanged_failover_etcd_authentications_total",
                    "Tokens this node obtained from etcd as its etcd_user (one per member, then "
                    "one per token etcd rejected)",
                    [this] { return static_cast<double>(etcd_->authentications()); });
}

bool FailoverLoop::sleep_for(std::chrono::milliseconds pause) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, pause, [this] { return stopping_; });
    return !stopping_;
}

void FailoverLoop::run() {
    while (true) {
        Mode mode;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) {
                return;
            }
            mode = mode_;
        }
        const auto began = std::chrono::steady_clock::now();
        try {
            if (mode == Mode::Leading) {
                lead_step();
            } else {
                if (lease_->lease_id() != 0) {
                    resign_quietly();  // a term that ended: its key goes now, not at the TTL
                }
                follow_step();
            }
        } catch (const std::exception& error) {
            spdlog::error("failover: node {}: {}", node_, error.what());
        }
        // Renewals go out every TTL/4 from one send to the next: a slow answer (a starved
        // machine, a slow etcd member) shortens the pause instead of pushing the next renewal
        // towards the end of the validity.
        auto pause = std::chrono::duration_cast<std::chrono::milliseconds>(
            mode == Mode::Leading ? ttl_ / 4 - (std::chrono::steady_clock::now() - began)
                                  : kPollInterval);
        pause = std::max(pause, std::chrono::milliseconds(1));
        if (!sleep_for(pause)) {
            return;
        }
    }
}

void FailoverLoop::publish_validity() {
    const std::optional<ha::LeaseClock::time_point> until = lease_->valid_until();
    valid_until_ = until ? until->time_since_epoch().count() : 0;
}

void FailoverLoop::lead_step() {
    const auto sent = std::chrono::steady_clock::now();
    const ha::RenewResult renewed = lease_->renew();
    publish_validity();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - sent);
    if (renewed.renewed && took > ttl_ / 4) {
        spdlog::warn(
            "failover: node {} epoch {}: a renewal took {} ms (a quarter of the lease is "
            "{} ms): etcd or this machine is slow",
            node_, lease_->epoch(), took.count(), (ttl_ / 4).count());
    }
    if (lease_->holds() || test_fault::armed(test_fault::Fault::LeaseIgnoreExpiry)) {
        if (!renewed.renewed) {
            spdlog::warn(
                "failover: node {} epoch {}: renewal failed ({}); the lease holds for "
                "{} ms more",
                node_, lease_->epoch(), renewed.failure,
                lease_->valid_until() ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                            *lease_->valid_until() - ha::LeaseClock::now())
                                            .count()
                                      : 0);
        }
        return;
    }
    std::string holder;
    try {
        const ha::RangeResult key = etcd_->range(config_.replication.etcd_key);
        if (!key.kvs.empty()) {
            const auto record = ha::decode_leader_record(key.kvs[0].value);
            holder = "; the key is held by node " + (record ? record->node_id : "?") +
                     " at epoch " + std::to_string(key.kvs[0].mod_revision);
        }
    } catch (const std::exception&) {
        holder = "; etcd cannot say who holds the key";
    }
    step_down("the etcd lease of epoch " + std::to_string(lease_->epoch()) +
              " is no longer held (" +
              (renewed.failure.empty() ? "its validity ended" : renewed.failure) + ")" + holder);
}

void FailoverLoop::step_down(const std::string& why) {
    {
        std::lock_guard lock(mutex_);
        if (mode_ != Mode::Leading) {
            return;  // the other thread was first
        }
        mode_ = Mode::Lost;
        lost_why_ = why;
    }
    held_ = false;
    ++losses_;
    spdlog::warn("failover: node {} steps down from epoch {}: {}", node_, epoch_.load(), why);
    std::lock_guard hooks_lock(hooks_mutex_);
    if (lost_) {
        lost_(why);
        lost_ = nullptr;
    }
}

// The loop thread may sit in an etcd call for a while (each is bounded by the client's
// deadline, two per renewal): this thread ends the term at the instant its validity ends, not
// when that call returns.
void FailoverLoop::watch_validity() {
    while (sleep_for(kWatchInterval)) {
        bool leading = false;
        {
            std::lock_guard lock(mutex_);
            leading = mode_ == Mode::Leading;
        }
        const auto until = valid_until_.load();
        if (!leading || test_fault::armed(test_fault::Fault::LeaseIgnoreExpiry)) {
            continue;
        }
        if (until == 0 || ha::LeaseClock::now().time_since_epoch().count() >= until) {
            step_down("the etcd lease of epoch " + std::to_string(epoch_.load()) +
                      " is no longer held (no renewal confirmed within its validity)");
        }
    }
}

void FailoverLoop::follow_step() {
    {
        std::lock_guard hooks_lock(hooks_mutex_);
        if (!follower_) {
            return;  // between runs (a leader stepping down, a follower switching to lead)
        }
    }
    ha::RangeResult key;
    try {
        key = etcd_->range(config_.replication.etcd_key);
        if (etcd_down_logged_) {
            ops::log_milestone("failover: node {}: etcd answers again", node_);
            etcd_down_logged_ = false;
        }
    } catch (const ha::EtcdError& error) {
        if (!etcd_down_logged_) {
            spdlog::warn("failover: node {}: etcd {}, following on ({})", node_,
                         error.unavailable() ? "unreachable" : "refuses", error.what());
            etcd_down_logged_ = true;
        }
        return;
    }
    if (!key.kvs.empty()) {
        const ha::KeyValue& held = key.kvs[0];
        const auto record = ha::decode_leader_record(held.value);
        const auto epoch = static_cast<repl::Epoch>(held.mod_revision);
        eligible_ = true;
        if (!record) {
            return;
        }
        if (record->node_id == self_.node_id) {
            // Our own key from an earlier process (or term): nobody serves it. Its lease goes
            // now, so that the next term starts without waiting out the TTL.
            ops::log_milestone(
                "failover: node {}: the leader key holds this node's earlier term (epoch {}); "
                "revoking its lease",
                node_, epoch);
            try {
                etcd_->lease_revoke(held.lease);
            } catch (const std::exception&) {
                // It lapses on its own.
            }
            return;
        }
        std::lock_guard hooks_lock(hooks_mutex_);
        if (follower_ && epoch > follower_->promised_epoch()) {
            std::string why;
            const auto holder = static_cast<repl::NodeId>(std::stoul(record->node_id));
            if (follower_->promise(epoch, holder, why)) {
                ops::log_milestone("failover: node {} follows node {} at epoch {} (etcd key {})",
                                   node_, holder, epoch, config_.replication.etcd_key);
            } else {
                spdlog::warn("failover: node {}: no promise to node {} at epoch {}: {}", node_,
                             holder, epoch, why);
            }
        }
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!eligible_ && now - started_ >= 3 * ttl_) {
        eligible_ = true;
        ops::log_milestone("failover: node {}: no leader key seen for {} ms: campaigning", node_,
                           (3 * ttl_).count());
    }
    if (eligible_ && now >= back_off_until_) {
        takeover();
    }
}

bool FailoverLoop::still_holds(const char* step, std::int64_t epoch) {
    const ha::RenewResult renewed = lease_->renew();
    if (lease_->holds()) {
        return true;
    }
    give_up(epoch, std::string("the lease lapsed during ") + step + " (" + renewed.failure + ")",
            std::chrono::milliseconds(0));
    return false;
}

void FailoverLoop::resign_quietly() {
    try {
        lease_->resign();
    } catch (const std::exception&) {
        // The key lapses after the TTL.
    }
}

void FailoverLoop::give_up(std::int64_t epoch, const std::string& why,
                           std::chrono::milliseconds back_off) {
    resign_quietly();
    back_off_until_ = std::chrono::steady_clock::now() + back_off;
    spdlog::warn("failover: node {} does not lead epoch {}: {}; campaigning again in {} ms", node_,
                 epoch, why, back_off.count());
}

void FailoverLoop::takeover() {
    // Followers start within a poll of each other: a node-dependent back-off after a loss lets
    // the one with the longest log through rather than the same loser again.
    const auto back_off = std::chrono::milliseconds(200 + 150 * node_);
    ha::CampaignResult won;
    try {
        won = lease_->campaign(self_);
    } catch (const ha::EtcdError& error) {
        spdlog::warn("failover: node {}: campaign failed: {}", node_, error.what());
        back_off_until_ = std::chrono::steady_clock::now() + back_off;
        return;
    }
    if (!won.won) {
        return;  // another candidate was first: the next poll follows it
    }
    const std::int64_t epoch = won.epoch;
    repl::Epoch promised = 0;
    {
        std::lock_guard hooks_lock(hooks_mutex_);
        if (!follower_) {
            give_up(epoch, "the follower is stopping", back_off);
            return;
        }
        promised = follower_->promised_epoch();
    }
    if (static_cast<repl::Epoch>(epoch) <= promised) {
        spdlog::error(
            "failover: node {} refuses to lead: etcd gave the term revision {}, not above epoch {} "
            "that this node already promised or ran (an epoch is never reused; the cluster's "
            "epochs were raised outside etcd)",
            node_, epoch, promised);
        give_up(epoch, "the etcd revision is not above the promised epoch",
                std::chrono::milliseconds(5000));
        return;
    }
    ops::log_milestone("failover: node {} won the leader key at epoch {}: promise round", node_,
                       epoch);
    const std::vector<tools::PromiseAnswer> answers =
        tools::collect_promises(admins_, static_cast<std::uint64_t>(epoch), node_, kPromiseTimeout);
    if (!still_holds("the promise round", epoch)) {
        return;
    }
    const tools::PromoteDecision decision =
        tools::decide_promotion(node_, static_cast<std::uint64_t>(epoch), answers, false);
    if (!decision.go) {
        give_up(epoch, decision.text, back_off);
        return;
    }
    if (decision.fetch_from != 0) {
        const auto own =
            std::find_if(answers.begin(), answers.end(),
                         [&](const tools::PromiseAnswer& a) { return a.node == node_; });
        const auto admin_of = [&](repl::NodeId node) {
            return *std::find_if(admins_.begin(), admins_.end(),
                                 [&](const tools::AdminMember& m) { return m.node == node; });
        };
        try {
            const std::uint64_t durable = tools::fetch_missing_records(
                admin_of(decision.fetch_from), admin_of(node_), own->durable_lsn, decision.fetch_to,
                kPromiseTimeout * 4);
            ops::log_milestone("failover: node {} fetched LSN {}..{} from node {}", node_,
                               own->durable_lsn + 1, durable, decision.fetch_from);
        } catch (const std::exception& error) {
            give_up(epoch, std::string("fetching the missing records failed: ") + error.what(),
                    back_off);
            return;
        }
        if (!still_holds("the fetch", epoch)) {
            return;
        }
    }
    std::string why;
    bool led = false;
    {
        std::lock_guard hooks_lock(hooks_mutex_);
        {
            std::lock_guard lock(mutex_);
            // Leading from here: the loop renews while the follower hands over to the leader's
            // run.
            mode_ = Mode::Leading;
            lost_why_.clear();
            epoch_ = epoch;
            held_ = true;
            publish_validity();
        }
        if (follower_) {
            led = follower_->lead(static_cast<repl::Epoch>(epoch), why);
        } else {
            why = "the follower is stopping";
        }
    }
    if (!led) {
        {
            std::lock_guard lock(mutex_);
            mode_ = Mode::Following;
        }
        held_ = false;
        give_up(epoch, "the lead was refused: " + why, back_off);
        return;
    }
    ops::log_milestone("failover: node {} leads epoch {} ({})", node_, epoch, decision.text);
}

}  // namespace exchanged::app
