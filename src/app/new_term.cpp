#include "app/new_term.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

#include "ops/logging.hpp"
#include "repl/log_epochs.hpp"
#include "repl/replication_state.hpp"
#include "wal/uring_storage.hpp"

namespace exchanged::app {

namespace {

// Each HTTP call of a round; a member that accepts but does not answer (paused) costs this.
constexpr std::chrono::milliseconds kCallTimeout{500};
// A fetch reads up to 1 MiB of another node's WAL per call: on a loaded machine that took over 2 s,
// and each failed fetch costs a round and an epoch.
constexpr std::chrono::milliseconds kFetchTimeout{10000};
// The back-off between rounds without a majority doubles up to this bound, so that a member
// coming back is noticed within a few seconds and a dead cluster costs little.
constexpr std::chrono::milliseconds kFirstBackOff{200};
constexpr std::chrono::milliseconds kMaxBackOff{5000};

}  // namespace

bool must_begin_new_term(const Config& config) {
    const ReplicationConfig& r = config.replication;
    if (!r.enabled || !config.persistence.enable_wal) {
        return false;
    }
    if (r.role != ReplicationRole::Leader) {
        // A node that promised itself a term and stopped before it led it (a restart round or a
        // `cluster promote` cut short) runs the round again rather than wait for a leader that
        // is not coming.
        const std::optional<repl::ReplicationState> state =
            repl::read_replication_state(repl::replication_state_path(config.server.data_dir));
        if (!state || state->role != repl::StateRole::Follower || state->leader != r.node_id) {
            return false;
        }
    }
    std::error_code error;
    if (!std::filesystem::is_directory(config.persistence.wal_path, error)) {
        return false;  // a first start: no log, nothing acknowledged yet
    }
    wal::UringStorage storage(config.persistence.wal_path.string());
    const repl::LogEpochs epochs = repl::read_log_epochs(storage, true);
    if (epochs.last_lsn == 0 && epochs.history.terms().empty()) {
        return false;
    }
    const std::string why = "node " + std::to_string(r.node_id) +
                            " restarts as leader over a replicated log (last LSN " +
                            std::to_string(epochs.last_lsn) +
                            "): it begins a new term through a promise round, which needs ";
    if (config.server.admin_listen.port == 0) {
        throw std::runtime_error(why + "[server] admin_listen (its own promise goes there)");
    }
    if (r.admins.size() != r.factor ||
        std::none_of(r.admins.begin(), r.admins.end(),
                     [&](const ReplicationPeer& peer) { return peer.node_id == r.node_id; })) {
        throw std::runtime_error(why + "[replication] admins: every node's admin_listen (" +
                                 std::to_string(r.factor) + " entries, this node's included)");
    }
    return true;
}

NewTermRound::NewTermRound(const Config& config, FailoverFollowerHooks hooks,
                           std::function<void(const std::string&)> waiting)
    : node_(config.replication.node_id),
      admins_(tools::admin_members(config.replication)),
      hooks_(std::move(hooks)),
      waiting_(std::move(waiting)) {}

NewTermRound::~NewTermRound() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void NewTermRound::start() {
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "new-term");
        run();
    });
}

void NewTermRound::register_metrics(ops::Metrics& metrics) const {
    metrics.gauge("exchanged_replication_new_term_epoch",
                  "The epoch a leader restarted over a replicated log waits to begin (0: none; "
                  "it refuses logins until a majority promised it)",
                  [this] { return static_cast<double>(waiting_epoch_.load()); });
    metrics.gauge("exchanged_replication_new_term_answered",
                  "Members (this node included) that promised the new term in its last round",
                  [this] { return static_cast<double>(answered_.load()); });
    metrics.counter("exchanged_replication_new_term_rounds_total",
                    "Promise rounds a restarted leader ran for its new term",
                    [this] { return static_cast<double>(rounds_.load()); });
}

std::string NewTermRound::waiting_text(repl::Epoch epoch, std::size_t answered) const {
    return "leader of epoch " + std::to_string(epoch) +
           " waiting for a majority: " + std::to_string(answered) + " of " +
           std::to_string(admins_.size()) + " answered";
}

bool NewTermRound::sleep_for(std::chrono::milliseconds pause) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, pause, [this] { return stopping_; });
    return !stopping_;
}

void NewTermRound::run() {
    std::chrono::milliseconds back_off = kFirstBackOff;
    while (true) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) {
                return;
            }
        }
        bool over = false;
        try {
            over = round();
        } catch (const std::exception& error) {
            spdlog::error("replication: node {}: new term round: {}", node_, error.what());
        }
        if (over) {
            waiting_epoch_ = 0;
            return;
        }
        if (!sleep_for(back_off)) {
            return;
        }
        back_off = std::min(back_off * 2, kMaxBackOff);
    }
}

bool NewTermRound::round() {
    ++rounds_;
    // Ask first: the epoch must be above every epoch a member serves or promised, and a member
    // that leads a newer term already (promoted while this node was down) is followed instead.
    const std::vector<tools::MemberLook> looks = tools::look_at_members(admins_, kCallTimeout);
    repl::Epoch highest = hooks_.promised_epoch();
    for (const tools::MemberLook& look : looks) {
        highest = std::max<repl::Epoch>(highest, look.epoch);
    }
    for (const tools::MemberLook& look : looks) {
        if (look.answered && look.leads && look.node != node_ &&
            look.epoch == hooks_.promised_epoch() && look.epoch == highest) {
            // Its frames reached this node's receiver first, which adopted the epoch (or this
            // node promised it to that leader meanwhile): a round above it would depose a leader
            // this node follows already.
            ops::log_milestone(
                "replication: node {} restarted as leader, but node {} leads epoch {}, which this "
                "node follows already: following it",
                node_, look.node, look.epoch);
            return true;
        }
        if (look.answered && look.leads && look.node != node_ &&
            look.epoch > hooks_.promised_epoch() && look.epoch == highest) {
            std::string why;
            if (hooks_.promise(look.epoch, look.node, why)) {
                ops::log_milestone(
                    "replication: node {} restarted as leader, but node {} leads epoch {}: "
                    "following it",
                    node_, look.node, look.epoch);
                return true;
            }
            spdlog::warn("replication: node {}: no promise to the leader node {} at epoch {}: {}",
                         node_, look.node, look.epoch, why);
            return false;
        }
    }
    const repl::Epoch epoch = highest + 1;
    waiting_epoch_ = epoch;
    // Ask first, promise after (as `cluster promote`): with too few members up, a round would only
    // raise the epochs of those that answered.
    const std::size_t reachable = static_cast<std::size_t>(std::count_if(
        looks.begin(), looks.end(), [](const tools::MemberLook& look) { return look.answered; }));
    if (reachable < admins_.size() / 2 + 1) {
        answered_ = reachable;
        const std::string text = waiting_text(epoch, reachable);
        if (waiting_) {
            waiting_(text);
        }
        std::string why = "no majority reachable";
        for (const tools::MemberLook& look : looks) {
            if (!look.answered) {
                why += "; node " + std::to_string(look.node) + " unreachable (" + look.error + ")";
            }
        }
        if (why != last_logged_) {
            spdlog::warn(
                "replication: node {}: {} ({}); nothing promised, trying again with a "
                "back-off",
                node_, text, why);
            last_logged_ = why;
        }
        return false;
    }
    const std::vector<tools::PromiseAnswer> answers =
        tools::collect_promises(admins_, epoch, node_, kCallTimeout);
    answered_ = static_cast<std::uint64_t>(std::count_if(
        answers.begin(), answers.end(), [](const tools::PromiseAnswer& a) { return a.promised; }));
    // A majority suffices: a member that missed the round adopts the new epoch from this node's
    // frames once it is up (docs/replication.md: Adopting a newer epoch).
    const tools::PromoteDecision decision = tools::decide_promotion(node_, epoch, answers, false);
    if (!decision.go) {
        const std::string text = waiting_text(epoch, answered_.load());
        if (waiting_) {
            waiting_(text);
        }
        if (decision.text != last_logged_) {
            spdlog::warn("replication: node {}: {} ({}); trying again with a back-off", node_, text,
                         decision.text);
            last_logged_ = decision.text;
        }
        return false;
    }
    ops::log_milestone("replication: node {} has a majority for epoch {} after its restart: {}",
                       node_, epoch, decision.text);
    if (decision.fetch_from != 0) {
        const auto own =
            std::find_if(answers.begin(), answers.end(),
                         [&](const tools::PromiseAnswer& a) { return a.node == node_; });
        const auto admin_of = [&](repl::NodeId node) {
            return *std::find_if(admins_.begin(), admins_.end(),
                                 [&](const tools::AdminMember& m) { return m.node == node; });
        };
        try {
            const std::uint64_t durable =
                tools::fetch_missing_records(admin_of(decision.fetch_from), admin_of(node_),
                                             own->durable_lsn, decision.fetch_to, kFetchTimeout);
            ops::log_milestone(
                "replication: node {} fetched LSN {}..{} from node {} (records of its old term "
                "that its own log lost)",
                node_, own->durable_lsn + 1, durable, decision.fetch_from);
        } catch (const std::exception& error) {
            spdlog::warn(
                "replication: node {}: fetching the records it lacks for epoch {} failed: {}; "
                "trying again with a back-off",
                node_, epoch, error.what());
            return false;
        }
    }
    std::string why;
    if (!hooks_.lead(epoch, why)) {
        spdlog::warn("replication: node {}: the lead of epoch {} was refused: {}", node_, epoch,
                     why);
        return false;
    }
    return true;
}

}  // namespace exchanged::app
