#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "repl/follower_retention.hpp"
#include "repl/retention_policy.hpp"

using namespace exchanged;
using namespace exchanged::repl;

namespace {

// Five segments of 100 bytes: LSNs 1..99, 100..199, 200..299, 300..399, 400.. (active).
std::vector<HeldSegment> five_segments() {
    return {{1, 100}, {100, 100}, {200, 100}, {300, 100}, {400, 100}};
}

FollowerNeed at(NodeId node, wal::Lsn acked) {
    return FollowerNeed{node, acked, true, false};
}

}  // namespace

TEST_CASE("bytes kept for a floor below the store's are the segments only the store frees",
          "[repl][retention]") {
    const auto segments = five_segments();
    CHECK(bytes_kept_between(segments, 401, 401) == 0);
    CHECK(bytes_kept_between(segments, 300, 401) == 100);  // 300..399 stays
    CHECK(bytes_kept_between(segments, 299, 401) == 200);  // 200..299 stays too
    CHECK(bytes_kept_between(segments, 1, 401) == 400);    // all but the active one
    CHECK(bytes_kept_between(segments, 1, 150) == 100);    // the store frees only the first
    CHECK(bytes_kept_between(segments, 500, 401) == 0);    // a floor above the store's keeps none
}

TEST_CASE("the retention policy holds the slowest follower that fits the bound",
          "[repl][retention]") {
    struct Row {
        const char* what;
        wal::Lsn store_floor;
        std::vector<FollowerNeed> followers;
        std::uint64_t bound;
        wal::Lsn release_below;
        std::uint64_t held;
        std::vector<NodeId> out_of_date;
    };
    const std::vector<Row> rows = {
        {"no followers: the store decides", 401, {}, 1000, 401, 0, {}},
        {"followers ahead of the store hold nothing", 401, {at(2, 450), at(3, 400)}, 0, 401, 0, {}},
        {"a follower behind, within the bound", 401, {at(2, 250), at(3, 450)}, 200, 251, 200, {}},
        {"exactly at the bound still fits", 401, {at(2, 150)}, 300, 151, 300, {}},
        {"past the bound: out of date, the store decides", 401, {at(2, 150)}, 299, 401, 0, {2}},
        {"the slowest is dropped, the next one held",
         401,
         {at(2, 50), at(3, 310)},
         100,
         311,
         100,
         {2}},
        {"both past the bound", 401, {at(2, 50), at(3, 120)}, 100, 401, 0, {2, 3}},
        {"bound 0: nothing kept for anyone", 401, {at(2, 380)}, 0, 401, 0, {2}},
        {"bound 0 and a follower in the active segment's range", 401, {at(2, 399)}, 0, 400, 0, {}},
        {"a follower not heard from holds nothing",
         401,
         {FollowerNeed{2, 0, false, false}},
         1000,
         401,
         0,
         {}},
        {"a follower already out of date holds nothing",
         401,
         {FollowerNeed{2, 150, true, true}},
         1000,
         401,
         0,
         {}},
        {"a follower with nothing yet (LSN 0) within a large bound",
         401,
         {at(2, 0)},
         1000,
         1,
         400,
         {}},
    };
    const auto segments = five_segments();
    for (const Row& row : rows) {
        INFO(row.what);
        const RetentionDecision decision =
            plan_retention(segments, row.store_floor, row.followers, row.bound);
        CHECK(decision.release_below == row.release_below);
        CHECK(decision.held_bytes == row.held);
        CHECK(decision.now_out_of_date == row.out_of_date);
    }
}

TEST_CASE("follower retention marks a follower out of date until it rejoins in range",
          "[repl][retention]") {
    std::vector<std::string> warned;
    FollowerRetention retention({2, 3}, 100,
                                [&](const std::string& line) { warned.push_back(line); });
    const auto segments = five_segments();
    // Not heard from: nothing held.
    CHECK(retention.release_floor(401, segments) == 401);
    retention.acked(2, 150);
    retention.acked(3, 450);
    CHECK(retention.release_floor(401, segments) == 401);
    CHECK(retention.out_of_date(2));
    CHECK_FALSE(retention.out_of_date(3));
    REQUIRE(warned.size() == 1);
    CHECK_THAT(warned[0], Catch::Contains("follower 2 (acked LSN 150) is out of date"));
    // Asked again: no second warning, and it holds nothing.
    CHECK(retention.release_floor(401, segments) == 401);
    CHECK(warned.size() == 1);
    // A Hello from below what the WAL still holds (it needs a snapshot) keeps it out.
    retention.acked(2, 150);
    CHECK(retention.out_of_date(2));
    // After a snapshot it continues from the leader's log: held again.
    retention.acked(2, 410);
    CHECK_FALSE(retention.out_of_date(2));
    retention.acked(2, 350);  // (not a real follower's move: only to weigh the bound again)
    CHECK(retention.release_floor(401, segments) == 351);
    CHECK(retention.held_bytes() == 100);
}
