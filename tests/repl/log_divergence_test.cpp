#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "repl/log_divergence.hpp"

using namespace exchanged;
using namespace exchanged::repl;

TEST_CASE("the divergence point is the highest LSN both logs hold in the same epoch",
          "[repl][epoch]") {
    struct Case {
        std::string name;
        std::vector<TermStart> leader;
        wal::Lsn leader_last;
        std::vector<TermStart> follower;
        wal::Lsn follower_last;
        wal::Lsn common;
    };
    const std::vector<Case> cases{
        {"identical logs", {{1, 1}, {2, 101}}, 150, {{1, 1}, {2, 101}}, 150, 150},
        {"both empty", {}, 0, {}, 0, 0},
        {"an empty follower", {{1, 1}}, 50, {}, 0, 0},
        {"no common prefix", {{2, 1}}, 50, {{1, 1}}, 70, 0},
        {"the follower behind, same terms", {{1, 1}, {2, 101}}, 150, {{1, 1}}, 60, 60},
        {"the follower behind inside the newest term",
         {{1, 1}, {2, 101}},
         150,
         {{1, 1}, {2, 101}},
         120,
         120},
        {"the follower ahead in an old epoch", {{1, 1}, {2, 101}}, 150, {{1, 1}}, 120, 100},
        {"the follower ahead in the leader's epoch", {{1, 1}}, 100, {{1, 1}}, 120, 100},
        {"another term's tail on the follower", {{1, 1}, {3, 81}}, 150, {{1, 1}, {2, 61}}, 90, 60},
        {"three terms, the follower's middle one longer",
         {{1, 1}, {2, 11}, {4, 41}},
         60,
         {{1, 1}, {2, 11}, {3, 51}},
         55,
         40},
        {"records before any term count as epoch 0", {{1, 31}}, 50, {}, 40, 30},
        {"a leader without terms and a follower without terms", {}, 80, {}, 90, 80},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        const Divergence d =
            find_divergence(c.leader, c.leader_last, c.follower, c.follower_last, false);
        CHECK(d.common_lsn == c.common);
        CHECK(d.known);
        // The relation is symmetric.
        CHECK(find_divergence(c.follower, c.follower_last, c.leader, c.leader_last, false)
                  .common_lsn == c.common);
    }
}

TEST_CASE("with only its newest terms, a departure before them is unknown", "[repl][epoch]") {
    // The follower sent terms from LSN 100 on; the leader's log departs at LSN 50.
    const std::vector<TermStart> leader{{1, 1}, {7, 50}};
    const Divergence d = find_divergence(leader, 200, {{5, 100}, {6, 150}}, 180, true);
    CHECK_FALSE(d.known);
    // A match inside the terms it sent is known.
    const Divergence inside =
        find_divergence({{5, 1}, {6, 150}}, 200, {{5, 100}, {6, 150}}, 180, true);
    CHECK(inside.known);
    CHECK(inside.common_lsn == 180);
}
