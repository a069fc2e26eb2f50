#include <catch2/catch.hpp>

#include "tools/cluster/cluster_promote.hpp"

using namespace exchanged::tools;
using Catch::Contains;

namespace {

PromiseAnswer promised(std::uint32_t node, std::uint64_t lsn, std::uint64_t epoch = 1) {
    return PromiseAnswer{node, true, lsn, epoch, {}};
}

PromiseAnswer missing(std::uint32_t node) {
    return PromiseAnswer{node, false, 0, 0, "unreachable"};
}

}  // namespace

TEST_CASE("a promise answer is read field by field", "[tools][cluster][promote]") {
    const PromiseAnswer answer = parse_promise_answer(2, "durable_lsn=120 last_epoch=3 node=2\n");
    CHECK(answer.promised);
    CHECK(answer.durable_lsn == 120);
    CHECK(answer.last_epoch == 3);
    CHECK_THROWS_WITH(parse_promise_answer(2, "durable_lsn=1 node=2"), Contains("no last_epoch="));
    CHECK_THROWS_WITH(parse_promise_answer(2, "durable_lsn=1 last_epoch=1 node=3"),
                      Contains("another node"));
}

TEST_CASE("a promotion needs a majority with the candidate in it", "[tools][cluster][promote]") {
    const PromoteDecision one =
        decide_promotion(2, 3, {missing(1), promised(2, 10), missing(3)}, false);
    CHECK_FALSE(one.go);
    CHECK(one.text ==
          "no majority: 1 of 3 promised epoch 3 (node 2); node 1 unreachable; node 3 unreachable");
    const PromoteDecision without =
        decide_promotion(2, 3, {promised(1, 10), missing(2), promised(3, 10)}, false);
    CHECK_FALSE(without.go);
    CHECK_THAT(without.text, Contains("the candidate node 2 is not among them"));
    const PromoteDecision two =
        decide_promotion(2, 3, {missing(1), promised(2, 10), promised(3, 10)}, false);
    CHECK(two.go);
    // Factor 5: three promises.
    CHECK_FALSE(
        decide_promotion(1, 2, {promised(1, 5), promised(2, 5), missing(3), missing(4), missing(5)},
                         false)
            .go);
    CHECK(decide_promotion(
              1, 2, {promised(1, 5), promised(2, 5), promised(3, 5), missing(4), missing(5)}, false)
              .go);
}

TEST_CASE("the candidate fetches what the longest promised log holds more",
          "[tools][cluster][promote]") {
    const PromoteDecision same =
        decide_promotion(2, 3, {missing(1), promised(2, 10), promised(3, 12)}, false);
    CHECK(same.go);
    CHECK(same.fetch_from == 3);
    CHECK(same.fetch_to == 12);
    CHECK_THAT(same.text, Contains("node 2 fetches LSN 11..12 from it"));
    const PromoteDecision longest =
        decide_promotion(2, 3, {promised(1, 9), promised(2, 10), promised(3, 10)}, false);
    CHECK(longest.go);
    CHECK(longest.fetch_from == 0);
    // Of another epoch the shorter log may not be a prefix: refused, naming the longer one.
    const PromoteDecision older =
        decide_promotion(2, 4, {missing(1), promised(2, 12, 2), promised(3, 10, 3)}, false);
    CHECK_FALSE(older.go);
    CHECK_THAT(older.text, Contains("node 2 holds a shorter log") && Contains("promote node 3"));
    // A later epoch outranks a longer log of an older one.
    const PromoteDecision later =
        decide_promotion(2, 4, {missing(1), promised(2, 10, 3), promised(3, 12, 2)}, false);
    CHECK(later.go);
    CHECK(later.fetch_from == 0);
    // The planted fault lets the shorter log lead as it is: the decision the process test must
    // catch.
    const PromoteDecision planted =
        decide_promotion(2, 3, {missing(1), promised(2, 10), promised(3, 12)}, true);
    CHECK(planted.go);
    CHECK(planted.fetch_from == 0);
}
