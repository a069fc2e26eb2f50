// `cluster status`'s parsing of /metrics and its verdict, on synthetic scrapes.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "tools/cluster/cluster_status.hpp"

using exchanged::tools::judge_cluster;
using exchanged::tools::kClusterNoLeader;
using exchanged::tools::kClusterOk;
using exchanged::tools::kClusterQuorumLost;
using exchanged::tools::MetricValues;
using exchanged::tools::NodeScrape;
using exchanged::tools::parse_metrics_text;

namespace {

MetricValues leader_metrics(unsigned factor, const std::vector<std::pair<int, bool>>& followers) {
    std::string text =
        "# HELP exchanged_replication_role 1 on the leader\n# TYPE exchanged_replication_role "
        "gauge\nexchanged_replication_role 1\nexchanged_replication_node_id 1\n"
        "exchanged_replication_epoch 7\nexchanged_wal_durable_lsn 500\n"
        "exchanged_replication_shipped_lsn 500\nexchanged_replication_quorum_lsn 480\n"
        "exchanged_replication_factor " +
        std::to_string(factor) + "\n";
    for (const auto& [node, connected] : followers) {
        const std::string label = "{node=\"" + std::to_string(node) + "\"} ";
        text += "exchanged_replication_follower_connected" + label + (connected ? "1" : "0") + "\n";
        text += "exchanged_replication_follower_acked_lsn" + label + "480\n";
        text += "exchanged_replication_follower_lag_records" + label + "20\n";
        text += "exchanged_replication_follower_ack_seconds" + label + "0.0025\n";
    }
    return parse_metrics_text(text);
}

MetricValues follower_metrics(int node) {
    return parse_metrics_text("exchanged_replication_role 0\nexchanged_replication_node_id " +
                              std::to_string(node) +
                              "\nexchanged_replication_epoch 7\nexchanged_wal_durable_lsn 480\n"
                              "exchanged_replication_applied_lsn 470\n");
}

NodeScrape answered(MetricValues metrics, const std::string& admin) {
    return NodeScrape{std::nullopt, admin, std::move(metrics), {}};
}

NodeScrape silent(unsigned id, const std::string& admin) {
    return NodeScrape{id, admin, std::nullopt, "connect: Connection refused"};
}

}  // namespace

TEST_CASE("the metrics text parses into series and values, a broken line is named") {
    const MetricValues values =
        parse_metrics_text("# TYPE x gauge\nx 1\ny{node=\"2\",why=\"a b\"} 2.5\n\nz_total 1e3\n");
    CHECK(values.at("x") == 1);
    CHECK(values.at("y{node=\"2\",why=\"a b\"}") == 2.5);
    CHECK(values.at("z_total") == 1000);
    CHECK_THROWS_WITH(parse_metrics_text("x 1\nnovalue\n"), Catch::Contains("line 2"));
    CHECK_THROWS_WITH(parse_metrics_text("x one\n"), Catch::Contains("no number"));
    CHECK_THROWS_WITH(parse_metrics_text("x 1abc\n"), Catch::Contains("no number"));
}

TEST_CASE("all three nodes: one row each with the leader's view of the followers, exit 0") {
    const auto report =
        judge_cluster({answered(leader_metrics(3, {{2, true}, {3, true}}), "h:1"),
                       answered(follower_metrics(2), "h:2"), answered(follower_metrics(3), "h:3")});
    CHECK(report.exit_code == kClusterOk);
    CHECK_THAT(report.text, Catch::Contains("ok: 3 of 3 replicas connected"));
    CHECK_THAT(report.text, Catch::Matches("(.|\n)*\n1 +leader +7 +500 +- +500 (.|\n)*"));
    CHECK_THAT(
        report.text,
        Catch::Matches("(.|\n)*\n2 +follower +7 +480 +470 +480 +20 +2.500 +yes +h:2\n(.|\n)*"));
}

TEST_CASE("a follower down is shown unreachable with the leader's view, two down lose the quorum") {
    const auto one = judge_cluster({answered(leader_metrics(3, {{2, true}, {3, false}}), "h:1"),
                                    answered(follower_metrics(2), "h:2"), silent(3, "h:3")});
    CHECK(one.exit_code == kClusterOk);
    CHECK_THAT(one.text, Catch::Matches("(.|\n)*\n3 +unreachable +- +- +- +480 +20 +2.500 +no +h:3 "
                                        "+connect: Connection refused\n(.|\n)*"));
    const auto two = judge_cluster({answered(leader_metrics(3, {{2, false}, {3, false}}), "h:1"),
                                    silent(2, "h:2"), silent(3, "h:3")});
    CHECK(two.exit_code == kClusterQuorumLost);
    CHECK_THAT(two.text, Catch::Contains("quorum lost: 1 of 3"));
}

TEST_CASE("factor 5 needs three replicas: the leader and two of four followers") {
    const auto three = judge_cluster(
        {answered(leader_metrics(5, {{2, true}, {3, true}, {4, false}, {5, false}}), "h:1")});
    CHECK(three.exit_code == kClusterOk);
    // Followers not asked still get a row from the leader's view.
    CHECK_THAT(three.text, Catch::Matches("(.|\n)*\n5 +unknown (.|\n)*"));
    const auto two = judge_cluster(
        {answered(leader_metrics(5, {{2, true}, {3, false}, {4, false}, {5, false}}), "h:1")});
    CHECK(two.exit_code == kClusterQuorumLost);
}

TEST_CASE("no node answering as the leader exits 3, even when followers answer") {
    const auto report = judge_cluster({silent(1, "h:1"), answered(follower_metrics(2), "h:2"),
                                       answered(follower_metrics(3), "h:3")});
    CHECK(report.exit_code == kClusterNoLeader);
    CHECK_THAT(report.text, Catch::Contains("no leader answered"));
}

TEST_CASE("a leader restarted over its log and waiting for a majority is shown as such") {
    MetricValues waiting = follower_metrics(1);
    waiting["exchanged_replication_new_term_epoch"] = 8;
    waiting["exchanged_replication_new_term_answered"] = 1;
    const auto report = judge_cluster({answered(waiting, "127.0.0.1:9311"),
                                       silent(2, "127.0.0.1:9321"), silent(3, "127.0.0.1:9331")});
    CHECK(report.exit_code == kClusterNoLeader);
    CHECK(report.text.find("leader-waiting") != std::string::npos);
    CHECK(report.text.find("waits for a majority to begin epoch 8: 1 answered its last round") !=
          std::string::npos);
    CHECK(report.text.find("no leader answered: the cluster acknowledges nothing, or its leader "
                           "is cut off; node 1 waits for a majority to begin epoch 8") !=
          std::string::npos);
}
