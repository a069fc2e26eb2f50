#include "tools/cluster/cluster_status.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/cli_args.hpp"
#include "config/config.hpp"
#include "config/values.hpp"
#include "tools/store/admin_post.hpp"

namespace exchanged::tools {

namespace {

std::optional<double> value_of(const MetricValues& values, const std::string& series) {
    const auto found = values.find(series);
    if (found == values.end()) {
        return std::nullopt;
    }
    return found->second;
}

std::string whole(std::optional<double> value) {
    if (!value) {
        return "-";
    }
    return std::to_string(static_cast<long long>(std::llround(*value)));
}

std::string follower_series(const char* name, std::uint32_t node) {
    return std::string("exchanged_replication_follower_") + name + "{node=\"" +
           std::to_string(node) + "\"}";
}

// The follower ids a leader reports (its exchanged_replication_follower_connected{node} series).
std::set<std::uint32_t> followers_of(const MetricValues& leader) {
    static const std::string prefix = "exchanged_replication_follower_connected{node=\"";
    std::set<std::uint32_t> nodes;
    for (auto it = leader.lower_bound(prefix); it != leader.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) {
            break;
        }
        nodes.insert(static_cast<std::uint32_t>(std::stoul(it->first.substr(prefix.size()))));
    }
    return nodes;
}

// One line of the table; `note` (the leader's quorum LSN, why a node is unreachable) is unpadded.
struct Row {
    std::string node = "?", role = "-", epoch = "-", durable = "-", applied = "-", shipped = "-",
                lag = "-", lag_ms = "-", connected = "-", admin = "-", note;
};
constexpr std::size_t kColumns = 10;

std::array<const std::string*, kColumns> columns_of(const Row& row) {
    return {&row.node,    &row.role, &row.epoch,  &row.durable,   &row.applied,
            &row.shipped, &row.lag,  &row.lag_ms, &row.connected, &row.admin};
}

std::string render(const std::vector<Row>& rows) {
    std::vector<Row> table{{"NODE", "ROLE", "EPOCH", "DURABLE_LSN", "APPLIED_LSN",
                            "SHIPPED/ACKED_LSN", "LAG_RECORDS", "LAG_MS", "CONNECTED", "ADMIN",
                            ""}};
    table.insert(table.end(), rows.begin(), rows.end());
    std::array<std::size_t, kColumns> width{};
    for (const Row& row : table) {
        const auto cells = columns_of(row);
        for (std::size_t i = 0; i < kColumns; ++i) {
            width[i] = std::max(width[i], cells[i]->size());
        }
    }
    std::ostringstream out;
    for (const Row& row : table) {
        const auto cells = columns_of(row);
        std::string line;
        for (std::size_t i = 0; i < kColumns; ++i) {
            line += *cells[i] + std::string(width[i] - cells[i]->size() + 2, ' ');
        }
        line += row.note;
        while (!line.empty() && line.back() == ' ') {
            line.pop_back();
        }
        out << line << '\n';
    }
    return out.str();
}

}  // namespace

MetricValues parse_metrics_text(const std::string& text) {
    MetricValues values;
    std::istringstream in(text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line[0] == '#') {
            continue;
        }
        // The value follows the last space; a label value may hold spaces, the value cannot.
        const std::size_t space = line.rfind(' ');
        if (space == std::string::npos || space == 0 || space + 1 == line.size()) {
            throw std::runtime_error("/metrics line " + std::to_string(number) +
                                     " is not 'series value': " + line);
        }
        try {
            std::size_t used = 0;
            const double value = std::stod(line.substr(space + 1), &used);
            if (used != line.size() - space - 1) {
                throw std::invalid_argument("trailing text");
            }
            values[line.substr(0, space)] = value;
        } catch (const std::logic_error&) {
            throw std::runtime_error("/metrics line " + std::to_string(number) +
                                     " has no number as its value: " + line);
        }
    }
    return values;
}

ClusterReport judge_cluster(const std::vector<NodeScrape>& nodes) {
    // The leader: the answering node whose role gauge says 1.
    const MetricValues* leader = nullptr;
    std::size_t leaders = 0;
    for (const NodeScrape& node : nodes) {
        if (node.metrics && value_of(*node.metrics, "exchanged_replication_role") == 1.0) {
            leader = leader ? leader : &*node.metrics;
            ++leaders;
        }
    }
    std::vector<Row> rows;
    std::set<std::uint32_t> shown;
    std::string waiting;
    for (const NodeScrape& node : nodes) {
        Row row;
        row.admin = node.admin;
        std::optional<std::uint32_t> id = node.configured_id;
        if (node.metrics) {
            const MetricValues& m = *node.metrics;
            if (const auto answered = value_of(m, "exchanged_replication_node_id")) {
                id = static_cast<std::uint32_t>(*answered);
            }
            const auto role = value_of(m, "exchanged_replication_role");
            row.role = !role ? "unreplicated" : (*role == 1.0 ? "leader" : "follower");
            row.epoch = whole(value_of(m, "exchanged_replication_epoch"));
            row.durable = whole(value_of(m, "exchanged_wal_durable_lsn"));
            // A follower's hot standby: the last record applied to its matchers.
            row.applied = whole(value_of(m, "exchanged_replication_applied_lsn"));
            if (role == 1.0) {
                row.shipped = whole(value_of(m, "exchanged_replication_shipped_lsn"));
                row.note = "quorum_lsn=" + whole(value_of(m, "exchanged_replication_quorum_lsn"));
            }
            // A leader restarted over its log, refusing logins until a majority promises it a
            // new term (docs/replication.md: A leader's restart).
            if (const auto waits = value_of(m, "exchanged_replication_new_term_epoch");
                waits && *waits > 0) {
                row.role = "leader-waiting";
                row.note = "waits for a majority to begin epoch " + whole(waits) + ": " +
                           whole(value_of(m, "exchanged_replication_new_term_answered")) +
                           " answered its last round";
                waiting += "; node " + (id ? std::to_string(*id) : node.admin) +
                           " waits for a majority to begin epoch " + whole(waits);
            }
        } else {
            row.role = "unreachable";
            row.note = node.error;
        }
        if (id) {
            row.node = std::to_string(*id);
            shown.insert(*id);
        }
        // The leader's view of this node as its follower.
        const bool is_leader_node = node.metrics && &*node.metrics == leader;
        if (leader && id && !is_leader_node &&
            value_of(*leader, follower_series("connected", *id))) {
            row.shipped = whole(value_of(*leader, follower_series("acked_lsn", *id)));
            row.lag = whole(value_of(*leader, follower_series("lag_records", *id)));
            const auto seconds = value_of(*leader, follower_series("ack_seconds", *id));
            if (seconds) {
                char ms[32];
                std::snprintf(ms, sizeof(ms), "%.3f", *seconds * 1000);
                row.lag_ms = ms;
            }
            row.connected =
                value_of(*leader, follower_series("connected", *id)) == 1.0 ? "yes" : "no";
        }
        rows.push_back(row);
    }
    ClusterReport report;
    std::string verdict;
    if (!leader) {
        report.exit_code = kClusterNoLeader;
        verdict = "no leader answered: the cluster acknowledges nothing, or its leader is cut off" +
                  waiting;
    } else {
        // Followers the leader knows whose admin endpoint was not asked (or whose id is unknown).
        for (const std::uint32_t id : followers_of(*leader)) {
            if (shown.count(id) != 0) {
                continue;
            }
            Row row;
            row.node = std::to_string(id);
            row.role = "unknown";
            row.note = "the leader's view only: its admin endpoint was not asked or not identified";
            row.shipped = whole(value_of(*leader, follower_series("acked_lsn", id)));
            row.lag = whole(value_of(*leader, follower_series("lag_records", id)));
            row.connected =
                value_of(*leader, follower_series("connected", id)) == 1.0 ? "yes" : "no";
            rows.push_back(row);
        }
        const auto factor = value_of(*leader, "exchanged_replication_factor").value_or(1);
        std::size_t connected = 1;  // the leader itself
        for (const std::uint32_t id : followers_of(*leader)) {
            connected += value_of(*leader, follower_series("connected", id)) == 1.0 ? 1 : 0;
        }
        const auto majority = static_cast<std::size_t>(factor) / 2 + 1;
        const std::string count = std::to_string(connected) + " of " + whole(factor) +
                                  " replicas connected to the leader (majority " +
                                  std::to_string(majority) + ")";
        if (connected < majority) {
            report.exit_code = kClusterQuorumLost;
            verdict = "quorum lost: " + count + "; no order is acknowledged";
        } else {
            verdict = "ok: " + count;
        }
        if (leaders > 1) {
            verdict += "; warning: " + std::to_string(leaders) + " nodes answer as leader";
        }
    }
    report.text = render(rows) + verdict + "\n";
    return report;
}

int cluster_status_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {{"config", true}, {"nodes", true}, {"timeout", true}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional().front() + "'");
    }
    if (args.has("config") == args.has("nodes")) {
        throw CliError(
            "give either --config FILE[,FILE...] (the nodes' profiles) or --nodes "
            "HOST:PORT[,...] (their admin endpoints)");
    }
    const auto timeout = std::chrono::milliseconds(args.unsigned_or("timeout", 2, 1, 600) * 1000);
    std::vector<NodeScrape> nodes;
    if (const auto configs = args.text("config")) {
        std::istringstream list(*configs);
        std::string path;
        while (std::getline(list, path, ',')) {
            if (path.empty()) {
                throw CliError("--config: an empty file name in '" + *configs + "'");
            }
            const Config config = load_config(path);  // throws ConfigError naming the file
            if (config.server.admin_listen.port == 0) {
                throw CliError("--config " + path +
                               ": [server] admin_listen has no port; the "
                               "node serves no /metrics to ask");
            }
            NodeScrape node;
            if (config.replication.enabled) {
                node.configured_id = config.replication.node_id;
            }
            node.admin = to_string(config.server.admin_listen);
            nodes.push_back(node);
        }
    } else {
        try {
            for (const Endpoint& endpoint :
                 config_detail::parse_endpoint_list(*args.text("nodes"))) {
                nodes.push_back(NodeScrape{std::nullopt, to_string(endpoint), std::nullopt, {}});
            }
        } catch (const std::exception& error) {
            throw CliError(std::string("--nodes: ") + error.what());
        }
        if (nodes.empty()) {
            throw CliError("--nodes: no HOST:PORT given");
        }
    }
    for (NodeScrape& node : nodes) {
        const Endpoint endpoint = config_detail::parse_endpoint(node.admin);
        try {
            const AdminAnswer answer = admin_get(endpoint.host, endpoint.port, "/metrics", timeout);
            if (answer.status != 200) {
                throw std::runtime_error("GET /metrics answered " + std::to_string(answer.status));
            }
            node.metrics = parse_metrics_text(answer.body);
        } catch (const std::exception& error) {
            node.error = error.what();
        }
    }
    const ClusterReport report = judge_cluster(nodes);
    std::fputs(report.text.c_str(), stdout);
    return report.exit_code;
}

}  // namespace exchanged::tools
