#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "common/random.hpp"
#include "repl/quorum_tracker.hpp"

using namespace exchanged;
using namespace exchanged::repl;

namespace {

std::vector<NodeId> followers_for(std::uint32_t factor) {
    std::vector<NodeId> ids;
    for (NodeId id = 2; id <= factor; ++id) {
        ids.push_back(id);
    }
    return ids;
}

// The highest L held by at least `majority` of the nodes, found by trying every candidate.
wal::Lsn brute_force_frontier(const std::vector<wal::Lsn>& held, std::uint32_t majority) {
    wal::Lsn best = 0;
    for (wal::Lsn candidate : held) {
        const auto holders =
            std::count_if(held.begin(), held.end(), [&](wal::Lsn lsn) { return lsn >= candidate; });
        if (static_cast<std::uint32_t>(holders) >= majority) {
            best = std::max(best, candidate);
        }
    }
    return best;
}

}  // namespace

TEST_CASE("factor 3: two of three nodes make the frontier, the leader counted", "[repl][quorum]") {
    QuorumTracker tracker(3, {2, 3}, 5);
    CHECK(tracker.majority() == 2);
    CHECK(tracker.frontier() == 0);
    CHECK_FALSE(tracker.leader_durable(10));  // the leader alone is a minority
    CHECK(tracker.frontier() == 0);
    const AckResult first = tracker.ack(2, 5, 7);
    CHECK(first.outcome == AckOutcome::Counted);
    CHECK(first.frontier_moved);
    CHECK(tracker.frontier() == 7);
    // Two followers ahead of the leader's own fsync also make a majority (of what it shipped).
    tracker.shipped(12);
    tracker.ack(3, 5, 12);
    CHECK(tracker.frontier() == 10);
    tracker.ack(2, 5, 12);
    CHECK(tracker.frontier() == 12);
    CHECK(tracker.leader_lsn() == 10);
}

TEST_CASE("factor 5 and 7 need three and four nodes", "[repl][quorum]") {
    QuorumTracker five(5, {2, 3, 4, 5}, 1);
    CHECK(five.majority() == 3);
    five.leader_durable(100);
    five.ack(2, 1, 90);
    CHECK(five.frontier() == 0);
    five.ack(3, 1, 80);
    CHECK(five.frontier() == 80);
    five.ack(4, 1, 95);
    CHECK(five.frontier() == 90);

    QuorumTracker seven(7, {2, 3, 4, 5, 6, 7}, 1);
    CHECK(seven.majority() == 4);
    seven.leader_durable(50);
    seven.ack(2, 1, 50);
    seven.ack(3, 1, 50);
    CHECK(seven.frontier() == 0);
    seven.ack(7, 1, 40);
    CHECK(seven.frontier() == 40);
}

TEST_CASE("factor 1 is the leader's own durable LSN", "[repl][quorum]") {
    QuorumTracker alone(1, {}, 1);
    CHECK(alone.leader_durable(3));
    CHECK(alone.frontier() == 3);
    CHECK_FALSE(alone.leader_durable(2));
    CHECK(alone.frontier() == 3);
}

TEST_CASE("acks of another epoch move nothing, a newer one deposes the leader", "[repl][quorum]") {
    QuorumTracker tracker(3, {2, 3}, 4, 20);
    CHECK(tracker.frontier() == 20);  // the adopted log's committed prefix
    tracker.leader_durable(30);
    const AckResult stale = tracker.ack(2, 3, 30);
    CHECK(stale.outcome == AckOutcome::StaleEpoch);
    CHECK_THAT(stale.error, Catch::Contains("epoch 3 below the leader's 4"));
    CHECK(tracker.frontier() == 20);
    CHECK(tracker.follower_lsn(2) == 0);

    const AckResult newer = tracker.ack(3, 6, 30);
    CHECK(newer.outcome == AckOutcome::NewerEpoch);
    CHECK(tracker.deposed());
    CHECK(tracker.deposed_by() == 6);
    CHECK(tracker.frontier() == 20);
}

TEST_CASE("an ack that goes backwards sets the follower aside", "[repl][quorum]") {
    QuorumTracker tracker(3, {2, 3}, 1);
    tracker.leader_durable(10);
    tracker.ack(2, 1, 8);
    CHECK(tracker.frontier() == 8);
    const AckResult back = tracker.ack(2, 1, 5);
    CHECK(back.outcome == AckOutcome::WentBackwards);
    CHECK_THAT(back.error, Catch::Contains("follower 2 acknowledged durable LSN 5 after 8"));
    CHECK(tracker.set_aside(2));
    CHECK(tracker.frontier() == 8);  // never decreases: replies already released stay released
    // Its later claims count for nothing until it re-synced.
    CHECK(tracker.ack(2, 1, 10).outcome == AckOutcome::SetAside);
    CHECK(tracker.frontier() == 8);
    tracker.readmit(2, 9);
    CHECK(tracker.frontier() == 9);
    CHECK(tracker.ack(2, 1, 10).outcome == AckOutcome::Counted);
    CHECK(tracker.frontier() == 10);
    CHECK(tracker.ack(9, 1, 10).outcome == AckOutcome::UnknownNode);
}

TEST_CASE("a set-aside follower whose Hello plan succeeds is readmitted", "[repl][quorum]") {
    QuorumTracker tracker(3, {2, 3}, 4);
    tracker.leader_durable(100);
    REQUIRE(tracker.ack(2, 4, 90).outcome == AckOutcome::Counted);
    // It comes back having lost its tail (a disk that lied): its Hello, counted as an ack, goes
    // backwards and sets it aside; the plan streams from its LSN 60 on, so it is readmitted.
    const AckResult hello = tracker.ack(2, 4, 60);
    REQUIRE(hello.outcome == AckOutcome::WentBackwards);
    CHECK(tracker.set_aside(2));
    REQUIRE(readmits_on_join(hello.outcome));
    tracker.readmit(2, 60);
    CHECK_FALSE(tracker.set_aside(2));
    CHECK(tracker.follower_lsn(2) == 60);
    CHECK(tracker.frontier() == 90);  // never back
    CHECK(tracker.ack(2, 4, 100).outcome == AckOutcome::Counted);
    CHECK(tracker.frontier() == 100);

    // A follower set aside earlier says Hello again after its log was cut: readmitted too.
    tracker.shipped(120);
    REQUIRE(tracker.ack(3, 4, 130).outcome == AckOutcome::BeyondShipped);
    const AckResult again = tracker.ack(3, 4, 80);
    CHECK(again.outcome == AckOutcome::SetAside);
    CHECK(readmits_on_join(again.outcome));
    tracker.readmit(3, 80);
    CHECK(tracker.ack(3, 4, 110).outcome == AckOutcome::Counted);

    // The outcomes that are no re-sync readmit nothing.
    CHECK_FALSE(readmits_on_join(AckOutcome::Counted));
    CHECK_FALSE(readmits_on_join(AckOutcome::StaleEpoch));
    CHECK_FALSE(readmits_on_join(AckOutcome::NewerEpoch));
    CHECK_FALSE(readmits_on_join(AckOutcome::UnknownNode));
}

TEST_CASE("the tracker refuses a bad replication factor or follower list", "[repl][quorum]") {
    CHECK_THROWS_WITH(QuorumTracker(2, {2}, 1), Catch::Contains("factor 2 must be odd"));
    CHECK_THROWS_WITH(QuorumTracker(9, followers_for(9), 1), Catch::Contains("[1, 7]"));
    CHECK_THROWS_WITH(QuorumTracker(0, {}, 1), Catch::Contains("factor 0"));
    CHECK_THROWS_WITH(QuorumTracker(3, {2}, 1), Catch::Contains("needs 2 followers, got 1"));
    CHECK_THROWS_WITH(QuorumTracker(3, {2, 2}, 1), Catch::Contains("node 2 is listed twice"));
}

TEST_CASE("the frontier matches a brute-force majority, never decreasing", "[repl][quorum][fuzz]") {
    SplitMix64 rng(0x0016'0003);
    for (std::uint32_t factor : {1u, 3u, 5u, 7u}) {
        for (int round = 0; round < 300; ++round) {
            const Epoch epoch = 3;
            QuorumTracker tracker(factor, followers_for(factor), epoch);
            // held[0] is the leader, held[i] follower i + 1 (node id i + 1).
            std::vector<wal::Lsn> held(factor, 0);
            std::vector<bool> aside(factor, false);
            wal::Lsn expected = 0;
            wal::Lsn shipped = 0;
            for (int step = 0; step < 60; ++step) {
                const std::size_t who = rng.below(factor);
                wal::Lsn lsn = rng.below(100);
                if (rng.percent(30)) {
                    tracker.shipped(lsn);
                    shipped = std::max(shipped, lsn);
                } else if (who == 0) {
                    tracker.leader_durable(lsn);
                    held[0] = std::max(held[0], lsn);
                    shipped = std::max(shipped, lsn);
                } else {
                    const Epoch ack_epoch = rng.percent(10) ? epoch - 1 : epoch;
                    // Mostly forwards within what was shipped, sometimes a step back or an ack of
                    // the future (planted faults).
                    if (!rng.percent(5)) {
                        lsn = std::max(lsn, held[who]);
                    }
                    if (!rng.percent(5)) {
                        lsn = std::min(lsn, shipped);
                    }
                    const AckResult result =
                        tracker.ack(static_cast<NodeId>(who + 1), ack_epoch, lsn);
                    if (ack_epoch != epoch) {
                        REQUIRE(result.outcome == AckOutcome::StaleEpoch);
                    } else if (aside[who]) {
                        REQUIRE(result.outcome == AckOutcome::SetAside);
                    } else if (lsn > shipped) {
                        REQUIRE(result.outcome == AckOutcome::BeyondShipped);
                        aside[who] = true;
                    } else if (lsn < held[who]) {
                        REQUIRE(result.outcome == AckOutcome::WentBackwards);
                        aside[who] = true;
                    } else {
                        REQUIRE(result.outcome == AckOutcome::Counted);
                        held[who] = lsn;
                    }
                }
                std::vector<wal::Lsn> counted = held;
                for (std::size_t i = 0; i < factor; ++i) {
                    if (aside[i]) {
                        counted[i] = 0;
                    }
                }
                expected = std::max(expected, brute_force_frontier(counted, factor / 2 + 1));
                REQUIRE(tracker.frontier() == expected);
            }
        }
    }
}

TEST_CASE("a deposed leader's frontier stops where it was", "[repl][quorum]") {
    QuorumTracker tracker(3, {2, 3}, 2);
    tracker.leader_durable(5);
    tracker.ack(2, 2, 5);
    REQUIRE(tracker.frontier() == 5);
    tracker.ack(3, 3, 1);
    REQUIRE(tracker.deposed());
    tracker.leader_durable(9);
    const AckResult late = tracker.ack(2, 2, 9);
    CHECK(late.outcome == AckOutcome::Counted);
    CHECK_FALSE(late.frontier_moved);
    CHECK(tracker.frontier() == 5);
}

TEST_CASE("a leader that promised a newer epoch itself is deposed at once", "[repl][quorum]") {
    QuorumTracker tracker(3, {2, 3}, 2);
    tracker.leader_durable(5);
    tracker.ack(2, 2, 5);
    tracker.depose(2);  // its own epoch: nothing changes
    REQUIRE_FALSE(tracker.deposed());
    tracker.depose(3);
    REQUIRE(tracker.deposed());
    CHECK(tracker.deposed_by() == 3);
    tracker.leader_durable(9);
    tracker.ack(2, 2, 9);
    tracker.ack(3, 2, 9);
    CHECK(tracker.frontier() == 5);
}

TEST_CASE("two followers acknowledging the future are set aside, not counted", "[repl][quorum]") {
    // Without the bound, two of three followers claiming LSN 20 while the leader has logged 8
    // would move the frontier to 20: replies for records that do not exist yet would be released
    // the moment they are written.
    QuorumTracker tracker(3, {2, 3}, 1);
    tracker.leader_durable(5);
    tracker.shipped(8);
    CHECK(tracker.shipped_lsn() == 8);
    const AckResult first = tracker.ack(2, 1, 20);
    CHECK(first.outcome == AckOutcome::BeyondShipped);
    CHECK_THAT(first.error, Catch::Contains("follower 2 acknowledged durable LSN 20 above the "
                                            "highest the leader shipped, 8"));
    CHECK(tracker.ack(3, 1, 20).outcome == AckOutcome::BeyondShipped);
    CHECK(tracker.frontier() == 0);
    CHECK(tracker.set_aside(2));
    CHECK(tracker.set_aside(3));
    // Once set aside, even an honest ack counts for nothing until a re-sync readmits it.
    CHECK(tracker.ack(2, 1, 8).outcome == AckOutcome::SetAside);
    CHECK(tracker.frontier() == 0);
    tracker.readmit(2, 30);  // a readmitted follower holds at most what was shipped
    CHECK(tracker.follower_lsn(2) == 8);
    CHECK(tracker.frontier() == 5);
    // An ack exactly at the bound counts.
    tracker.readmit(3, 0);
    CHECK(tracker.ack(3, 1, 8).outcome == AckOutcome::Counted);
    CHECK(tracker.frontier() == 8);
}
