#include "tools/cluster/promise_round.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>

#include "tools/cluster/cluster_status.hpp"
#include "tools/store/admin_post.hpp"

namespace exchanged::tools {

namespace {

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

std::uint64_t durable_lsn_of(const std::string& body) {
    std::istringstream words(body);
    std::string word;
    while (words >> word) {
        if (word.rfind("durable_lsn=", 0) == 0) {
            return std::stoull(word.substr(12));
        }
    }
    throw std::runtime_error("no durable_lsn= in the answer '" + trimmed(body) + "'");
}

}  // namespace

std::vector<AdminMember> admin_members(const ReplicationConfig& replication) {
    std::vector<AdminMember> members;
    for (const ReplicationPeer& admin : replication.admins) {
        members.push_back({admin.node_id, admin.endpoint});
    }
    return members;
}

std::vector<MemberLook> look_at_members(const std::vector<AdminMember>& members,
                                        std::chrono::milliseconds timeout) {
    std::vector<MemberLook> looks;
    for (const AdminMember& member : members) {
        MemberLook look;
        look.node = member.node;
        try {
            const AdminAnswer answer =
                admin_get(member.admin.host, member.admin.port, "/metrics", timeout);
            if (answer.status != 200) {
                throw std::runtime_error("GET /metrics answered " + std::to_string(answer.status));
            }
            const MetricValues metrics = parse_metrics_text(answer.body);
            double epoch = 0;
            for (const char* name :
                 {"exchanged_replication_epoch", "exchanged_replication_promised_epoch"}) {
                if (const auto found = metrics.find(name); found != metrics.end()) {
                    epoch = std::max(epoch, found->second);
                }
            }
            look.epoch = static_cast<std::uint64_t>(epoch);
            const auto role = metrics.find("exchanged_replication_role");
            look.leads = role != metrics.end() && role->second == 1.0;
            look.answered = true;
        } catch (const std::exception& error) {
            look.error = error.what();
        }
        looks.push_back(look);
    }
    return looks;
}

std::vector<PromiseAnswer> collect_promises(const std::vector<AdminMember>& members,
                                            std::uint64_t epoch, std::uint32_t candidate,
                                            std::chrono::milliseconds timeout) {
    std::vector<PromiseAnswer> answers;
    const std::string body =
        "epoch=" + std::to_string(epoch) + " candidate=" + std::to_string(candidate);
    for (const AdminMember& member : members) {
        PromiseAnswer answer;
        answer.node = member.node;
        try {
            const AdminAnswer reply = admin_post(member.admin.host, member.admin.port,
                                                 "/replication/promise", timeout, body);
            if (reply.status == 200) {
                answer = parse_promise_answer(member.node, reply.body);
            } else {
                answer.error = "refused: " + trimmed(reply.body);
            }
        } catch (const std::exception& error) {
            answer.error = std::string("unreachable (") + error.what() + ")";
        }
        answers.push_back(answer);
    }
    return answers;
}

std::uint64_t fetch_missing_records(const AdminMember& source, const AdminMember& candidate,
                                    std::uint64_t durable, std::uint64_t to,
                                    std::chrono::milliseconds timeout) {
    while (durable < to) {
        const AdminAnswer records =
            admin_get(source.admin.host, source.admin.port,
                      "/replication/records?from=" + std::to_string(durable + 1), timeout);
        if (records.status != 200 || records.body.empty()) {
            throw std::runtime_error("node " + std::to_string(source.node) + " answered " +
                                     std::to_string(records.status) + " for LSN " +
                                     std::to_string(durable + 1) + ": " + trimmed(records.body));
        }
        // The candidate answers once the records are durable: give its disk time.
        const AdminAnswer appended =
            admin_post(candidate.admin.host, candidate.admin.port, "/replication/append",
                       std::chrono::milliseconds(30000), records.body);
        if (appended.status != 200) {
            throw std::runtime_error("node " + std::to_string(candidate.node) + " answered " +
                                     std::to_string(appended.status) + ": " +
                                     trimmed(appended.body));
        }
        const std::uint64_t now = durable_lsn_of(appended.body);
        if (now <= durable) {
            throw std::runtime_error("node " + std::to_string(candidate.node) +
                                     " did not move past durable LSN " + std::to_string(durable));
        }
        durable = now;
    }
    return durable;
}

}  // namespace exchanged::tools
