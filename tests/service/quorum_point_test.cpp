#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/test_fault.hpp"
#include "repl/quorum_tracker.hpp"
#include "service/quorum_point.hpp"
#include "service_fakes.hpp"

using namespace exchanged;
using namespace exchanged::service;

TEST_CASE("the quorum point's frontier is the tracker's, and only its moves wake the gates",
          "[service][quorum]") {
    test::FakeCommandLog log;
    QuorumPoint point(log, repl::QuorumTracker(3, {2, 3}, 1));
    int wakes = 0;
    point.on_advance([&] { ++wakes; });

    point.leader_durable(10);
    CHECK(point.frontier() == 0);
    CHECK(wakes == 0);
    CHECK(point.ack(2, 1, 6).outcome == repl::AckOutcome::Counted);
    CHECK(point.frontier() == 6);
    CHECK(wakes == 1);
    CHECK(point.ack(3, 0, 10).outcome == repl::AckOutcome::StaleEpoch);
    CHECK(point.frontier() == 6);
    CHECK(wakes == 1);
    CHECK(point.ack(2, 1, 4).outcome == repl::AckOutcome::WentBackwards);
    CHECK(point.frontier() == 6);
    CHECK(point.snapshot().set_aside(2));
    point.ack(3, 1, 9);
    CHECK(point.frontier() == 9);
    CHECK(wakes == 2);
    CHECK_FALSE(point.failed());
    CHECK(point.wait(9));
}

TEST_CASE("a deposed leader's quorum point fails above its frontier", "[service][quorum]") {
    test::FakeCommandLog log;
    QuorumPoint point(log, repl::QuorumTracker(3, {2, 3}, 2));
    int wakes = 0;
    point.on_advance([&] { ++wakes; });
    point.leader_durable(5);
    point.ack(2, 2, 5);
    REQUIRE(point.frontier() == 5);
    CHECK(point.ack(3, 3, 7).outcome == repl::AckOutcome::NewerEpoch);
    CHECK(wakes == 2);  // the failure wakes the gates too, to drop what they hold
    CHECK(point.failed());
    CHECK(point.wait(5));        // acknowledged before the new term: stays acknowledged
    CHECK_FALSE(point.wait(6));  // never will be
    // Once deposed it acknowledges nothing more, even what its own term's acks would cover.
    point.leader_durable(9);
    CHECK(point.ack(2, 2, 9).outcome == repl::AckOutcome::Counted);
    CHECK(point.frontier() == 5);
}

TEST_CASE("the quorum point fails when the local WAL fails", "[service][quorum]") {
    test::FakeCommandLog log;
    QuorumPoint point(log, repl::QuorumTracker(3, {2, 3}, 1));
    log.fail();
    CHECK(point.failed());
    CHECK_FALSE(point.wait(1));
}

TEST_CASE("a waiting shard thread sees the frontier a follower's ack moves", "[service][quorum]") {
    test::FakeCommandLog log;
    QuorumPoint point(log, repl::QuorumTracker(3, {2, 3}, 1));
    point.leader_durable(100);
    std::atomic<bool> reached{false};
    std::atomic<bool> refused{false};  // Catch's assertions are for the test's own thread
    std::thread shard([&] {
        while (point.frontier() < 50) {
            if (!point.wait(50)) {
                refused = true;
                return;
            }
        }
        reached = true;
    });
    point.ack(3, 1, 50);
    shard.join();
    CHECK_FALSE(refused);
    CHECK(reached);
}

TEST_CASE("the quorum point bounds followers' acks by what the sender shipped",
          "[service][quorum]") {
    test::FakeCommandLog log;
    QuorumPoint point(log, repl::QuorumTracker(3, {2, 3}, 1));
    point.leader_durable(4);
    point.shipped(9);
    CHECK(point.ack(2, 1, 9).outcome == repl::AckOutcome::Counted);
    CHECK(point.frontier() == 4);
    CHECK(point.ack(3, 1, 10).outcome == repl::AckOutcome::BeyondShipped);
    CHECK(point.snapshot().set_aside(3));
    CHECK(point.frontier() == 4);
    point.leader_durable(9);
    CHECK(point.frontier() == 9);
}

TEST_CASE("a quorum point limited by a lease moves its frontier only while the lease is valid",
          "[service][quorum]") {
    // A leader resumed after a pause longer than its lease reads follower acks sent before it:
    // they must release nothing, whichever of its threads runs first.
    test::FakeCommandLog log;
    QuorumPoint point(log, repl::QuorumTracker(3, {2, 3}, 4));
    std::atomic<std::chrono::steady_clock::rep> valid_until{0};
    const auto in = [](std::chrono::steady_clock::duration from_now) {
        return (std::chrono::steady_clock::now() + from_now).time_since_epoch().count();
    };
    valid_until = in(std::chrono::hours(1));
    point.limit_by_lease(&valid_until);
    int wakes = 0;
    point.on_advance([&] { ++wakes; });
    point.leader_durable(20);
    point.ack(2, 4, 5);
    REQUIRE(point.frontier() == 5);

    valid_until = in(-std::chrono::milliseconds(1));  // the lease lapsed during the pause
    CHECK(point.ack(2, 4, 9).outcome == repl::AckOutcome::Counted);
    CHECK(point.frontier() == 5);
    point.ack(3, 4, 12);
    CHECK(point.frontier() == 5);
    CHECK(wakes == 1);
    point.depose(5);  // then the watchdog's step-down
    CHECK(point.failed());
    CHECK(point.frontier() == 5);
    CHECK_FALSE(point.wait(6));

    SECTION("no lease published (0) counts as lapsed") {
        QuorumPoint other(log, repl::QuorumTracker(3, {2, 3}, 4));
        std::atomic<std::chrono::steady_clock::rep> none{0};
        other.limit_by_lease(&none);
        other.leader_durable(3);
        other.ack(2, 4, 3);
        CHECK(other.frontier() == 0);
    }
    SECTION("the planted lease_ignore_expiry lifts the limit (the nemesis's planted run)") {
        QuorumPoint other(log, repl::QuorumTracker(3, {2, 3}, 4));
        other.limit_by_lease(&valid_until);
        test_fault::ScopedFault fault(test_fault::Fault::LeaseIgnoreExpiry);
        other.leader_durable(3);
        other.ack(2, 4, 3);
        CHECK(other.frontier() == 3);
    }
}
