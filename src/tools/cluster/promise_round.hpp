// The two network steps of a promotion that `exchangectl cluster promote` and the daemon's
// automatic failover (app/failover_loop.hpp) share: asking every node to promise an epoch to a
// candidate, and fetching what the candidate's log lacks from the longest log (within one epoch,
// where the shorter log is a prefix of the longer one). The deciding between them is
// decide_promotion (cluster_promote.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "config/config.hpp"
#include "tools/cluster/cluster_promote.hpp"

namespace exchanged::tools {

struct AdminMember {
    std::uint32_t node = 0;
    Endpoint admin;  // its [server] admin_listen
};

// Every node's admin address from [replication] admins, in the order given.
std::vector<AdminMember> admin_members(const ReplicationConfig& replication);

// What a node's /metrics says about the terms it knows, before a promise round picks its epoch.
struct MemberLook {
    std::uint32_t node = 0;
    bool answered = false;
    // The highest epoch it serves or promised (exchanged_replication_epoch and
    // exchanged_replication_promised_epoch).
    std::uint64_t epoch = 0;
    bool leads = false;  // exchanged_replication_role is 1: it serves as leader of `epoch`
    std::string error;   // why it did not answer
};

// GET /metrics of every member, in order; one look each.
std::vector<MemberLook> look_at_members(const std::vector<AdminMember>& members,
                                        std::chrono::milliseconds timeout);

// POST /replication/promise `epoch=E candidate=N` to every member, in order; one answer each
// (an unreachable node or a refusal is an answer with `promised == false` and why).
std::vector<PromiseAnswer> collect_promises(const std::vector<AdminMember>& members,
                                            std::uint64_t epoch, std::uint32_t candidate,
                                            std::chrono::milliseconds timeout);

// GET /replication/records from `source` and POST /replication/append to `candidate` until the
// candidate's durable LSN reaches `to`; returns it. Throws std::runtime_error naming the node
// and its answer when a step fails.
std::uint64_t fetch_missing_records(const AdminMember& source, const AdminMember& candidate,
                                    std::uint64_t durable, std::uint64_t to,
                                    std::chrono::milliseconds timeout);

}  // namespace exchanged::tools
