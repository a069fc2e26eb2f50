#include "tools/cluster/cluster_promote.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/cli_args.hpp"
#include "common/test_fault.hpp"
#include "config/config.hpp"
#include "tools/cluster/cluster_status.hpp"
#include "tools/cluster/promise_round.hpp"
#include "tools/store/admin_post.hpp"

namespace exchanged::tools {

namespace {

constexpr int kPromoteRefused = 1;

struct Member {
    std::uint32_t node = 0;
    Endpoint admin;
    std::uint32_t factor = 0;
};

std::uint64_t field_of(const std::string& body, const std::string& key) {
    std::istringstream words(body);
    std::string word;
    while (words >> word) {
        if (word.rfind(key + "=", 0) == 0) {
            return std::stoull(word.substr(key.size() + 1));
        }
    }
    throw std::runtime_error("no " + key + "= in the answer '" + body + "'");
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

std::string node_list(const std::vector<std::uint32_t>& nodes) {
    std::string out;
    for (const std::uint32_t node : nodes) {
        out += (out.empty() ? "node " : ", node ") + std::to_string(node);
    }
    return out.empty() ? "none" : out;
}

std::vector<Member> load_members(const std::string& list) {
    std::vector<Member> members;
    std::istringstream paths(list);
    std::string path;
    while (std::getline(paths, path, ',')) {
        if (path.empty()) {
            throw CliError("--config: an empty file name in '" + list + "'");
        }
        const Config config = load_config(path);  // throws ConfigError naming the file
        if (!config.replication.enabled) {
            throw CliError("--config " + path + ": [replication] enabled is false");
        }
        if (config.server.admin_listen.port == 0) {
            throw CliError("--config " + path +
                           ": [server] admin_listen has no port; the node cannot be asked");
        }
        for (const Member& other : members) {
            if (other.node == config.replication.node_id) {
                throw CliError("--config " + path + ": node " + std::to_string(other.node) +
                               " is given twice");
            }
        }
        members.push_back(
            {config.replication.node_id, config.server.admin_listen, config.replication.factor});
    }
    if (members.empty()) {
        throw CliError("--config: no profile given");
    }
    if (members.size() != members.front().factor) {
        throw CliError("--config names " + std::to_string(members.size()) +
                       " nodes but the replication factor is " +
                       std::to_string(members.front().factor) + ": give every node's profile");
    }
    return members;
}

// The highest epoch the node reports (the one it serves, or a higher one it promised).
std::uint64_t reported_epoch(const MetricValues& metrics) {
    double epoch = 0;
    for (const char* name :
         {"exchanged_replication_epoch", "exchanged_replication_promised_epoch"}) {
        if (const auto found = metrics.find(name); found != metrics.end()) {
            epoch = std::max(epoch, found->second);
        }
    }
    return static_cast<std::uint64_t>(epoch);
}

}  // namespace

PromiseAnswer parse_promise_answer(std::uint32_t node, const std::string& body) {
    PromiseAnswer answer;
    answer.node = node;
    answer.promised = true;
    answer.durable_lsn = field_of(body, "durable_lsn");
    answer.last_epoch = field_of(body, "last_epoch");
    if (field_of(body, "node") != node) {
        throw std::runtime_error("the answer names another node: '" + trimmed(body) + "'");
    }
    return answer;
}

PromoteDecision decide_promotion(std::uint32_t candidate, std::uint64_t epoch,
                                 const std::vector<PromiseAnswer>& answers, bool ignore_longest) {
    const std::size_t factor = answers.size();
    const std::size_t majority = factor / 2 + 1;
    std::vector<std::uint32_t> promised;
    std::string others;
    const PromiseAnswer* own = nullptr;
    const PromiseAnswer* longest = nullptr;
    for (const PromiseAnswer& answer : answers) {
        if (!answer.promised) {
            others += "; node " + std::to_string(answer.node) + " " + answer.error;
            continue;
        }
        promised.push_back(answer.node);
        if (answer.node == candidate) {
            own = &answer;
        }
        if (longest == nullptr || std::pair(answer.last_epoch, answer.durable_lsn) >
                                      std::pair(longest->last_epoch, longest->durable_lsn)) {
            longest = &answer;
        }
    }
    PromoteDecision decision;
    if (promised.size() < majority || own == nullptr) {
        decision.text =
            "no majority: " + std::to_string(promised.size()) + " of " + std::to_string(factor) +
            " promised epoch " + std::to_string(epoch) + " (" + node_list(promised) + ")" + others +
            (own == nullptr && promised.size() >= majority
                 ? "; the candidate node " + std::to_string(candidate) + " is not among them"
                 : "");
        return decision;
    }
    const bool shorter = std::pair(own->last_epoch, own->durable_lsn) <
                         std::pair(longest->last_epoch, longest->durable_lsn);
    // Mutation check: the candidate leads without the longest log.
    if (shorter && !ignore_longest && own->last_epoch == longest->last_epoch) {
        decision.go = true;
        decision.fetch_from = longest->node;
        decision.fetch_to = longest->durable_lsn;
        decision.text =
            std::to_string(promised.size()) + " of " + std::to_string(factor) + " promised epoch " +
            std::to_string(epoch) + " (" + node_list(promised) + "); node " +
            std::to_string(longest->node) + " holds the longest log (durable LSN " +
            std::to_string(longest->durable_lsn) + "), node " + std::to_string(candidate) +
            " fetches LSN " + std::to_string(own->durable_lsn + 1) + ".." +
            std::to_string(longest->durable_lsn) + " from it";
        return decision;
    }
    if (shorter && !ignore_longest) {
        decision.text = "node " + std::to_string(candidate) + " holds a shorter log (epoch " +
                        std::to_string(own->last_epoch) + ", durable LSN " +
                        std::to_string(own->durable_lsn) + ") than node " +
                        std::to_string(longest->node) + " (epoch " +
                        std::to_string(longest->last_epoch) + ", durable LSN " +
                        std::to_string(longest->durable_lsn) +
                        "), which may hold acknowledged orders: promote node " +
                        std::to_string(longest->node) + " instead (epoch " + std::to_string(epoch) +
                        " is promised; the next promotion uses " + std::to_string(epoch + 1) + ")";
        return decision;
    }
    decision.go = true;
    decision.text = std::to_string(promised.size()) + " of " + std::to_string(factor) +
                    " promised epoch " + std::to_string(epoch) + " (" + node_list(promised) +
                    "); node " + std::to_string(candidate) +
                    " holds the longest log (durable LSN " + std::to_string(own->durable_lsn) + ")";
    return decision;
}

int cluster_promote_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {
        {"config", true}, {"timeout", true}, {"test-fault", true}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (args.positional().size() != 1) {
        throw CliError("give the candidate's node id: cluster promote NODE --config FILE,...");
    }
    std::uint32_t candidate = 0;
    try {
        candidate = static_cast<std::uint32_t>(std::stoul(args.positional().front()));
    } catch (const std::exception&) {
        throw CliError("NODE: '" + args.positional().front() + "' is not a node id");
    }
    const auto configs = args.text("config");
    if (!configs) {
        throw CliError("--config FILE[,FILE...] (every node's profile) is required");
    }
    bool ignore_longest = false;
    if (const auto fault = args.text("test-fault")) {
        if (test_fault::parse(*fault) != test_fault::Fault::PromoteAnyLog) {
            throw CliError("--test-fault: only promote_any_log acts on cluster promote");
        }
        test_fault::arm(test_fault::Fault::PromoteAnyLog);
        ignore_longest = true;
    }
    const auto timeout = std::chrono::milliseconds(args.unsigned_or("timeout", 5, 1, 600) * 1000);
    const std::vector<Member> members = load_members(*configs);
    if (std::none_of(members.begin(), members.end(),
                     [&](const Member& m) { return m.node == candidate; })) {
        throw CliError("node " + std::to_string(candidate) + " is not in --config");
    }
    const std::size_t majority = members.size() / 2 + 1;

    // Ask first, promise after: too few nodes reachable must change nothing.
    std::vector<std::uint32_t> reachable;
    std::string unreachable;
    std::uint64_t highest = 0;
    for (const Member& member : members) {
        try {
            const AdminAnswer answer =
                admin_get(member.admin.host, member.admin.port, "/metrics", timeout);
            if (answer.status != 200) {
                throw std::runtime_error("GET /metrics answered " + std::to_string(answer.status));
            }
            highest = std::max(highest, reported_epoch(parse_metrics_text(answer.body)));
            reachable.push_back(member.node);
        } catch (const std::exception& error) {
            unreachable +=
                "; node " + std::to_string(member.node) + " unreachable (" + error.what() + ")";
        }
    }
    const bool candidate_reachable =
        std::find(reachable.begin(), reachable.end(), candidate) != reachable.end();
    if (reachable.size() < majority || !candidate_reachable) {
        std::printf(
            "cluster promote: no majority: %zu of %zu reachable (%s)%s%s; nothing promised\n",
            reachable.size(), members.size(), node_list(reachable).c_str(), unreachable.c_str(),
            candidate_reachable ? "" : "; the candidate is not among them");
        return kPromoteRefused;
    }
    const std::uint64_t epoch = highest + 1;

    std::vector<AdminMember> admins;
    for (const Member& member : members) {
        admins.push_back({member.node, member.admin});
    }
    const std::vector<PromiseAnswer> answers = collect_promises(admins, epoch, candidate, timeout);
    const PromoteDecision decision = decide_promotion(candidate, epoch, answers, ignore_longest);
    if (!decision.go) {
        std::printf("cluster promote: %s\n", decision.text.c_str());
        return kPromoteRefused;
    }
    std::printf("cluster promote: %s\n", decision.text.c_str());
    const Member& chosen = *std::find_if(members.begin(), members.end(),
                                         [&](const Member& m) { return m.node == candidate; });
    if (decision.fetch_from != 0) {
        const Member& source = *std::find_if(members.begin(), members.end(), [&](const Member& m) {
            return m.node == decision.fetch_from;
        });
        const auto own = std::find_if(answers.begin(), answers.end(),
                                      [&](const PromiseAnswer& a) { return a.node == candidate; });
        std::uint64_t durable = own->durable_lsn;
        try {
            durable =
                fetch_missing_records({source.node, source.admin}, {chosen.node, chosen.admin},
                                      durable, decision.fetch_to, timeout);
        } catch (const std::exception& error) {
            std::printf(
                "cluster promote: fetching the records node %u lacks failed: %s; epoch "
                "%llu is promised, nothing leads it: run the promotion again\n",
                candidate, error.what(), static_cast<unsigned long long>(epoch));
            return kPromoteRefused;
        }
        std::printf("cluster promote: node %u fetched LSN %llu..%llu from node %u\n", candidate,
                    static_cast<unsigned long long>(own->durable_lsn + 1),
                    static_cast<unsigned long long>(durable), source.node);
    }
    AdminAnswer lead;
    try {
        lead = admin_post(chosen.admin.host, chosen.admin.port, "/replication/lead", timeout,
                          "epoch=" + std::to_string(epoch));
    } catch (const std::exception& error) {
        // The node stops its admin endpoint to switch, which may cut the answer off: whether it
        // took the lead shows in what it serves next.
        lead.status = 200;
        std::printf("cluster promote: no answer to the lead (%s); waiting for node %u to serve\n",
                    error.what(), candidate);
    }
    if (lead.status != 200) {
        std::printf("cluster promote: node %u refused to lead epoch %llu: %s\n", candidate,
                    static_cast<unsigned long long>(epoch), trimmed(lead.body).c_str());
        return kPromoteRefused;
    }
    // The switch recovers the books from the store and the WAL: wait until it serves.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
        try {
            const AdminAnswer answer =
                admin_get(chosen.admin.host, chosen.admin.port, "/metrics", timeout);
            const MetricValues metrics = parse_metrics_text(answer.body);
            const auto role = metrics.find("exchanged_replication_role");
            const auto serving = metrics.find("exchanged_replication_epoch");
            if (role != metrics.end() && role->second == 1.0 && serving != metrics.end() &&
                static_cast<std::uint64_t>(serving->second) == epoch) {
                std::printf("cluster promote: node %u leads epoch %llu\n", candidate,
                            static_cast<unsigned long long>(epoch));
                return 0;
            }
        } catch (const std::exception&) {
            // Its admin endpoint is down between the follower's stop and the leader's start.
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::printf(
        "cluster promote: node %u took the lead of epoch %llu but does not serve as leader "
        "after 120 s: see its log\n",
        candidate, static_cast<unsigned long long>(epoch));
    return kPromoteRefused;
}

}  // namespace exchanged::tools
