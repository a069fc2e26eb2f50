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
    const FollowerStart start = plan_follower_start(leader, {2, 4, 120, 3, {{1, 1}, {3, 100}}});
    CHECK_FALSE(start.refused);
    CHECK_FALSE(start.truncated);
    CHECK(start.stream_from == 121);
    // Fully caught up: nothing to send yet.
    CHECK(plan_follower_start(leader, {2, 4, 400, 4, {{1, 1}, {3, 100}, {4, 250}}}).stream_from ==
          401);
    // An empty follower of a leader that still holds LSN 1.
    const LeaderLog whole{4, 1, 400, &h};
    CHECK(plan_follower_start(whole, {3, 0, 0, 0, {}}).stream_from == 1);
}

TEST_CASE("a follower is refused with the reason the epoch rule gives", "[repl][epoch]") {
    const EpochHistory h = history();
    const LeaderLog leader{4, 50, 400, &h};

    SECTION("it promised a newer leader: this one is deposed") {
        const FollowerStart start = plan_follower_start(leader, {2, 5, 120, 3, {{1, 1}, {3, 100}}});
        CHECK(start.refused);
        CHECK(start.leader_deposed);
        CHECK(start.refusal.reason == RefuseReason::StaleEpoch);
        CHECK_THAT(start.refusal.text, Catch::Contains("promised epoch 5 above this leader's 4"));
    }
    SECTION("it holds records of this leader's term beyond the leader's log: they are kept") {
        const FollowerStart start =
            plan_follower_start(leader, {2, 4, 401, 4, {{1, 1}, {3, 100}, {4, 250}}});
        CHECK(start.refused);
        CHECK_FALSE(start.truncated);
        CHECK(start.refusal.reason == RefuseReason::DivergedLog);
        CHECK_THAT(start.refusal.text, Catch::Contains("holds LSN 401..401") &&
                                           Catch::Contains("beyond the leader's last 400") &&
                                           Catch::Contains("so they are kept"));
    }
    SECTION("records from before any term record are never cut") {
        EpochHistory late;
        late.begin(1, 30);
        const FollowerStart start = plan_follower_start({1, 1, 40, &late}, {2, 1, 35, 0, {}});
        CHECK(start.refusal.reason == RefuseReason::DivergedLog);
        CHECK_THAT(start.refusal.text, Catch::Contains("precede any term record"));
    }
    SECTION("a Hello naming an epoch but no terms") {
        const FollowerStart start = plan_follower_start(leader, {2, 4, 120, 3, {}});
        CHECK(start.refusal.reason == RefuseReason::DivergedLog);
        CHECK_THAT(start.refusal.text, Catch::Contains("carries no terms"));
    }
    SECTION("it needs records the leader no longer holds") {
        const FollowerStart start = plan_follower_start(leader, {2, 1, 40, 1, {{1, 1}}});
        CHECK(start.refusal.reason == RefuseReason::OutOfDate);
        CHECK_THAT(start.refusal.text, Catch::Contains("needs LSN 41; the leader holds LSN 50"));
        // The one just below the retention still fits.
        CHECK_FALSE(plan_follower_start(leader, {2, 1, 49, 1, {{1, 1}}}).refused);
    }
}

TEST_CASE("a follower whose log departs in an older term is told where to cut it",
          "[repl][epoch]") {
    const EpochHistory h = history();
    const LeaderLog leader{4, 50, 400, &h};
    SECTION("its last records were written by another term's leader") {
        const FollowerStart start = plan_follower_start(leader, {2, 3, 120, 2, {{1, 1}, {2, 100}}});
        CHECK_FALSE(start.refused);
        REQUIRE(start.truncated);
        CHECK(start.truncate == Truncate{4, 99, 3, 400});
    }
    SECTION("it is ahead of the leader in an old epoch") {
        // Term 3 went on to LSN 300 on the follower; the leader's term 3 ended at 249.
        const FollowerStart start = plan_follower_start(leader, {2, 3, 300, 3, {{1, 1}, {3, 100}}});
        REQUIRE(start.truncated);
        CHECK(start.truncate.keep_lsn == 249);
        CHECK(start.truncate.leader_epoch_after == 4);
    }
    SECTION("a departure before the oldest term its Hello carries is refused, not guessed") {
        Hello hello{2, 3, 5000, 0, {}};
        for (Epoch e = 1; e <= kMaxHelloTerms; ++e) {
            hello.terms.push_back({1000 + e, 1000 + e * 10});  // epochs the leader never had
        }
        hello.last_record_epoch = hello.terms.back().epoch;
        hello.epoch = hello.last_record_epoch;
        EpochHistory big;
        big.begin(2000, 1);
        const FollowerStart start = plan_follower_start({3000, 1, 9000, &big}, hello);
        CHECK(start.refused);
        CHECK_FALSE(start.truncated);
        CHECK_THAT(start.refusal.text, Catch::Contains("re-sync by snapshot"));
    }
}
