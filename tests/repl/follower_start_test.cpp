#include <catch2/catch.hpp>

#include "repl/follower_start.hpp"

using namespace exchanged;
using namespace exchanged::repl;

namespace {

// Terms 1 (LSN 1..99), 3 (100..249), 4 (250..): term 2 wrote nothing this leader kept.
EpochHistory history() {
    EpochHistory h;
    h.begin(1, 1);
    h.begin(3, 100);
    h.begin(4, 250);
    return h;
}

}  // namespace

TEST_CASE("the epoch history names the term of every LSN", "[repl][epoch]") {
    const EpochHistory h = history();
    CHECK(h.epoch_of(0) == 0);
    CHECK(h.epoch_of(1) == 1);
    CHECK(h.epoch_of(99) == 1);
    CHECK(h.epoch_of(100) == 3);
    CHECK(h.epoch_of(249) == 3);
    CHECK(h.epoch_of(250) == 4);
    CHECK(h.epoch_of(1'000'000) == 4);
    EpochHistory bad = history();
    CHECK_THROWS_WITH(bad.begin(4, 300), Catch::Contains("term 4 at LSN 300 does not follow"));
    CHECK_THROWS_WITH(bad.begin(5, 250), Catch::Contains("term 5 at LSN 250 does not follow"));
}

TEST_CASE("a follower whose last record matches the leader's continues after it", "[repl][epoch]") {
    const EpochHistory h = history();
    const LeaderLog leader{4, 50, 400, &h};
    const FollowerStart start = plan_follower_start(leader, {2, 4, 120, 3});
    CHECK_FALSE(start.refused);
    CHECK(start.stream_from == 121);
    // Fully caught up: nothing to send yet.
    CHECK(plan_follower_start(leader, {2, 4, 400, 4}).stream_from == 401);
    // An empty follower of a leader that still holds LSN 1.
    const LeaderLog whole{4, 1, 400, &h};
    CHECK(plan_follower_start(whole, {3, 0, 0, 0}).stream_from == 1);
}

TEST_CASE("a follower is refused with the reason the epoch rule gives", "[repl][epoch]") {
    const EpochHistory h = history();
    const LeaderLog leader{4, 50, 400, &h};

    SECTION("it promised a newer leader: this one is deposed") {
        const FollowerStart start = plan_follower_start(leader, {2, 5, 120, 3});
        CHECK(start.refused);
        CHECK(start.leader_deposed);
        CHECK(start.refusal.reason == RefuseReason::StaleEpoch);
        CHECK_THAT(start.refusal.text, Catch::Contains("promised epoch 5 above this leader's 4"));
    }
    SECTION("its last record was written by another term's leader") {
        const FollowerStart start = plan_follower_start(leader, {2, 3, 120, 2});
        CHECK(start.refused);
        CHECK_FALSE(start.leader_deposed);
        CHECK(start.refusal.reason == RefuseReason::DivergedLog);
        CHECK_THAT(start.refusal.text,
                   Catch::Contains("LSN 120 was written in epoch 2, the leader's in epoch 3"));
    }
    SECTION("it holds records beyond the leader's log") {
        const FollowerStart start = plan_follower_start(leader, {2, 4, 401, 4});
        CHECK(start.refusal.reason == RefuseReason::DivergedLog);
        CHECK_THAT(start.refusal.text, Catch::Contains("beyond the leader's last 400"));
    }
    SECTION("it needs records the leader no longer holds") {
        const FollowerStart start = plan_follower_start(leader, {2, 1, 40, 1});
        CHECK(start.refusal.reason == RefuseReason::OutOfDate);
        CHECK_THAT(start.refusal.text, Catch::Contains("needs LSN 41; the leader holds LSN 50"));
        // The one just below the retention still fits.
        CHECK_FALSE(plan_follower_start(leader, {2, 1, 49, 1}).refused);
    }
}
