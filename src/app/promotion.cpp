#include "app/promotion.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "app/replication_node.hpp"
#include "ops/logging.hpp"
#include "repl/record_fetch.hpp"

namespace exchanged::app {

namespace {

template <typename T>
std::optional<T> number_field(const std::string& body, const std::string& key) {
    const std::optional<std::string> text = body_field(body, key);
    if (!text) {
        return std::nullopt;
    }
    T value{};
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size() || text->empty()) {
        return std::nullopt;
    }
    return value;
}

std::pair<unsigned, std::string> bad_request(const std::string& what) {
    return {400, what + "\n"};
}

}  // namespace

std::optional<std::string> body_field(const std::string& body, const std::string& key) {
    std::size_t at = 0;
    while (at < body.size()) {
        const std::size_t end = body.find_first_of(" \t\r\n&", at);
        const std::string token = body.substr(at, end == std::string::npos ? end : end - at);
        if (token.size() > key.size() && token.compare(0, key.size(), key) == 0 &&
            token[key.size()] == '=') {
            return token.substr(key.size() + 1);
        }
        if (end == std::string::npos) {
            break;
        }
        at = end + 1;
    }
    return std::nullopt;
}

LoginRefusal::LoginRefusal(const Config& config)
    : config_(config), text_(FollowerNode::login_refusal(config)) {}

std::string LoginRefusal::text() const {
    std::lock_guard lock(mutex_);
    return text_;
}

void LoginRefusal::promised(repl::NodeId candidate) {
    if (candidate == config_.replication.node_id) {
        return;  // its own candidacy: naming itself would send a client back to where it was
    }
    if (candidate == 0) {
        // Naming the profile's leader would send a client to a node that was deposed.
        std::lock_guard lock(mutex_);
        text_ = "replication follower; its leader's address is not known yet";
        return;
    }
    for (const ReplicationPeer& client : config_.replication.clients) {
        if (client.node_id == candidate) {
            std::lock_guard lock(mutex_);
            text_ = "replication follower; leader at " + to_string(client.endpoint);
        }
    }
}

void LoginRefusal::set(std::string text) {
    std::lock_guard lock(mutex_);
    text_ = std::move(text);
}

Config apply_replication_state(const Config& ini) {
    if (!ini.replication.enabled) {
        return ini;
    }
    const std::filesystem::path path = repl::replication_state_path(ini.server.data_dir);
    const std::optional<repl::ReplicationState> state = repl::read_replication_state(path);
    if (!state) {
        return ini;
    }
    const ReplicationConfig& r = ini.replication;
    if (state->epoch <= r.epoch) {
        ops::log_milestone(
            "replication: {} holds epoch {}, not above the profile's {}: role {} at epoch {} "
            "from the profile",
            path.string(), state->epoch, r.epoch, to_string(r.role), r.epoch);
        return ini;
    }
    Config effective = ini;
    effective.replication.epoch = state->epoch;
    const bool leads = state->role == repl::StateRole::Leader && state->leader == r.node_id;
    effective.replication.role = leads ? ReplicationRole::Leader : ReplicationRole::Follower;
    if (!leads && state->leader != 0) {
        for (const ReplicationPeer& client : r.clients) {
            if (client.node_id == state->leader) {
                effective.replication.leader_client = client.endpoint;
            }
        }
    }
    if (leads) {
        // A promoted leader acknowledges what a majority holds, whatever its profile said as a
        // follower.
        effective.persistence.ack_after = AckPoint::Quorum;
    }
    ops::log_milestone(
        "replication: role {} at epoch {} from {} (its epoch is above the profile's {}; the "
        "profile says role {}){}",
        to_string(effective.replication.role), state->epoch, path.string(), r.epoch,
        to_string(r.role),
        state->leader != 0 && !leads ? "; leader node " + std::to_string(state->leader) : "");
    return effective;
}

PromotionEndpoints::PromotionEndpoints(const Config& config, PromotionHooks hooks)
    : path_(repl::replication_state_path(config.server.data_dir)),
      node_(config.replication.node_id),
      running_epoch_(config.replication.epoch),
      hooks_(std::move(hooks)) {
    state_.epoch = config.replication.epoch;
    state_.role = config.replication.role == ReplicationRole::Leader ? repl::StateRole::Leader
                                                                     : repl::StateRole::Follower;
    state_.leader = config.replication.role == ReplicationRole::Leader ? node_ : 0;
    // A promise given earlier without the lead that should follow it is still binding.
    const auto on_disk = repl::read_replication_state(path_);
    if (on_disk && on_disk->epoch > state_.epoch) {
        state_ = *on_disk;
    }
    // A follower restarted on its own promise runs with that epoch from its profile (made
    // effective from this file), which cannot name the candidate: without it the candidate's
    // repeated promise would be refused as if it asked for an old epoch.
    if (on_disk && on_disk->epoch == state_.epoch && on_disk->role == repl::StateRole::Follower &&
        state_.role == repl::StateRole::Follower && state_.leader == 0) {
        state_.leader = on_disk->leader;
    }
    // An adoption whose term start record had not arrived before a restart.
    leader_unknown_ = on_disk && on_disk->epoch == state_.epoch &&
                      on_disk->role == repl::StateRole::Follower && on_disk->leader == 0;
}

void PromotionEndpoints::add_to(ops::AdminOptions& options) {
    // The fdatasync of a few bytes is the only wait; a promise is rare, so it runs on the admin
    // thread rather than a thread of its own.
    options.post_body_handlers["/replication/promise"] = [this](const std::string& body,
                                                                ops::AdminReply reply) {
        auto [status, text] = promise(body);
        reply(status, std::move(text));
    };
    options.post_body_handlers["/replication/lead"] = [this](const std::string& body,
                                                             ops::AdminReply reply) {
        auto [status, text] = lead(body);
        reply(status, std::move(text));
    };
    options.post_body_handlers["/replication/append"] = [this](const std::string& body,
                                                               ops::AdminReply reply) {
        auto [status, text] = append(body);
        reply(status, std::move(text));
    };
    options.get_handlers["/replication/records"] = [this](const std::string& query) {
        return records(query);
    };
    options.body_limit_bytes =
        std::max<std::uint32_t>(options.body_limit_bytes, repl::kFetchMaxBytes + 4096);
}

repl::Epoch PromotionEndpoints::promised_epoch() const {
    std::lock_guard lock(mutex_);
    return state_.epoch;
}

std::pair<unsigned, std::string> PromotionEndpoints::records(const std::string& query) {
    const std::optional<wal::Lsn> from = number_field<wal::Lsn>(query, "from");
    if (!from || *from == 0) {
        return bad_request("records needs '?from=LSN' (a number from 1), got '" + query + "'");
    }
    if (!hooks_.read_records) {
        return {404, "this node serves no records\n"};
    }
    try {
        return {200, hooks_.read_records(*from)};
    } catch (const std::exception& error) {
        return {409, std::string(error.what()) + "\n"};
    }
}

std::pair<unsigned, std::string> PromotionEndpoints::append(const std::string& records) {
    std::lock_guard lock(mutex_);
    if (!hooks_.append_fetched || leading_ || state_.leader != node_ ||
        state_.role != repl::StateRole::Follower) {
        return {409, "node " + std::to_string(node_) +
                         " takes fetched records only as a promised candidate (it promised epoch " +
                         std::to_string(state_.epoch) + " to node " +
                         std::to_string(state_.leader) + ")\n"};
    }
    std::string why;
    const std::optional<wal::Lsn> durable = hooks_.append_fetched(records, why);
    if (!durable) {
        return {409, "fetched records refused: " + why + "\n"};
    }
    return {200,
            "durable_lsn=" + std::to_string(*durable) + " node=" + std::to_string(node_) + "\n"};
}

bool PromotionEndpoints::deposed(repl::Epoch epoch) {
    std::lock_guard lock(mutex_);
    if (epoch <= state_.epoch) {
        return false;
    }
    const repl::ReplicationState learnt{epoch, repl::StateRole::Follower, 0};
    persist(learnt);
    state_ = learnt;
    spdlog::warn(
        "replication: a follower has promised epoch {}: this leader is deposed (it acknowledges "
        "nothing more and refuses new orders); recorded in {}: it steps down and follows epoch "
        "{}",
        epoch, path_.string(), epoch);
    return true;
}

bool PromotionEndpoints::adopt(repl::Epoch epoch) {
    std::lock_guard lock(mutex_);
    if (leading_ || epoch < state_.epoch ||
        (epoch == state_.epoch && state_.role != repl::StateRole::Follower)) {
        return false;
    }
    if (epoch == state_.epoch) {
        return true;  // promised already (this process's receiver started below it)
    }
    const repl::ReplicationState adopted{epoch, repl::StateRole::Follower, 0};
    persist(adopted);  // before the receiver takes the frame or acks under the epoch
    state_ = adopted;
    leader_unknown_ = true;
    if (hooks_.adopted) {
        hooks_.adopted(epoch, 0);
    }
    return true;
}

void PromotionEndpoints::leader_named(repl::Epoch epoch, repl::NodeId leader) {
    std::lock_guard lock(mutex_);
    // Only an adoption's file lacks the leader; a follower's first start has no file to complete.
    if (!leader_unknown_ || leading_ || leader == 0 || epoch != state_.epoch ||
        state_.role != repl::StateRole::Follower) {
        return;
    }
    const repl::ReplicationState named{epoch, repl::StateRole::Follower, leader};
    persist(named);
    state_ = named;
    leader_unknown_ = false;
    if (hooks_.adopted) {
        hooks_.adopted(epoch, leader);
    }
    // After the hook: once this line is logged, the login refusal names the leader.
    spdlog::info("replication: node {} leads epoch {} (its term start record); recorded in {}",
                 leader, epoch, path_.string());
}

void PromotionEndpoints::register_metrics(ops::Metrics& metrics) const {
    metrics.gauge("exchanged_replication_promised_epoch",
                  "The highest epoch this node has promised or leads (data_dir/replication.state)",
                  [this] { return static_cast<double>(promised_epoch()); });
}

void PromotionEndpoints::persist(const repl::ReplicationState& state) {
    try {
        repl::write_replication_state(path_, state);
    } catch (const std::exception& error) {
        ops::log_fatal(std::string("replication state not written, exiting: ") + error.what());
        std::_Exit(1);
    }
}

std::pair<unsigned, std::string> PromotionEndpoints::promise(const std::string& body) {
    const std::optional<repl::Epoch> epoch = number_field<repl::Epoch>(body, "epoch");
    const std::optional<repl::NodeId> candidate = number_field<repl::NodeId>(body, "candidate");
    if (!epoch || !candidate || *candidate == 0) {
        return bad_request("a promise needs 'epoch=E candidate=N' (numbers), got '" + body + "'");
    }
    std::lock_guard lock(mutex_);
    // The same promise again (the candidate's round and this node's own look at etcd's leader
    // key may both ask): answered as the first time, nothing new to persist.
    const bool again = *epoch == state_.epoch && *candidate == state_.leader &&
                       state_.role == repl::StateRole::Follower && !leading_;
    if (*epoch <= state_.epoch && !again) {
        return {409, "node " + std::to_string(node_) + " has promised epoch " +
                         std::to_string(state_.epoch) + "; a promise needs a higher one (got " +
                         std::to_string(*epoch) + ")\n"};
    }
    const repl::ReplicationState promised{*epoch, repl::StateRole::Follower, *candidate};
    if (!again) {
        persist(promised);  // before anything answers or acts on it
    }
    state_ = promised;
    spdlog::warn("replication: promised epoch {} to candidate node {}{}", *epoch, *candidate,
                 leading_ || hooks_.lead == nullptr
                     ? ": this leader is deposed (it acknowledges nothing more and refuses new "
                       "orders; restart it to follow the new leader)"
                     : "");
    if (hooks_.promised) {
        hooks_.promised(*epoch, *candidate);
    }
    const wal::Lsn durable = hooks_.durable_lsn ? hooks_.durable_lsn() : 0;
    const repl::Epoch last_epoch = hooks_.last_epoch ? hooks_.last_epoch() : running_epoch_;
    return {200, "durable_lsn=" + std::to_string(durable) + " last_epoch=" +
                     std::to_string(last_epoch) + " node=" + std::to_string(node_) + "\n"};
}

std::pair<unsigned, std::string> PromotionEndpoints::lead(const std::string& body) {
    const std::optional<repl::Epoch> epoch = number_field<repl::Epoch>(body, "epoch");
    if (!epoch) {
        return bad_request("a lead needs 'epoch=E' (a number), got '" + body + "'");
    }
    std::lock_guard lock(mutex_);
    if (!hooks_.lead || leading_) {
        return {409, "node " + std::to_string(node_) + " is no follower (it runs as leader)\n"};
    }
    if (state_.epoch != *epoch || state_.leader != node_ ||
        state_.role != repl::StateRole::Follower) {
        return {409, "node " + std::to_string(node_) + " has promised epoch " +
                         std::to_string(state_.epoch) + " to node " +
                         std::to_string(state_.leader) + ", not epoch " + std::to_string(*epoch) +
                         " to itself: promise first\n"};
    }
    const repl::ReplicationState leading{*epoch, repl::StateRole::Leader, node_};
    persist(leading);
    state_ = leading;
    leading_ = true;
    hooks_.lead(*epoch);
    return {200, "node=" + std::to_string(node_) + " leads epoch " + std::to_string(*epoch) +
                     " (switching)\n"};
}

}  // namespace exchanged::app
