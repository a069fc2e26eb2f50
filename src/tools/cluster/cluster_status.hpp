// `exchangectl cluster status` (docs/replication.md): each node's /metrics read into one line per
// node, and a verdict on the cluster. The gathering (HTTP) and the judging are apart so that the
// judging can be tested on synthetic scrapes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace exchanged::tools {

// What `cluster status` exits with (docs/tools.md).
inline constexpr int kClusterOk = 0;
inline constexpr int kClusterNoLeader = 3;    // no node answered as the leader
inline constexpr int kClusterQuorumLost = 4;  // the leader reaches fewer than a majority

// One node's /metrics in the text format: `name{labels}` (as written) -> value.
using MetricValues = std::map<std::string, double>;
// Throws std::runtime_error naming the line that is not `series value`.
MetricValues parse_metrics_text(const std::string& text);

struct NodeScrape {
    std::optional<std::uint32_t> configured_id;  // from its profile, when known
    std::string admin;                           // host:port asked
    std::optional<MetricValues> metrics;         // empty: it did not answer
    std::string error;                           // why not
};

struct ClusterReport {
    std::string text;  // the table and the verdict line
    int exit_code = kClusterOk;
};

ClusterReport judge_cluster(const std::vector<NodeScrape>& nodes);

int cluster_status_main(int argc, char** argv, int first);

}  // namespace exchanged::tools
