// ShardRunner: the shard thread over a ShardStage (a real Shard and Matcher on a fake log).
// Producers push from their own threads and the test waits for replies with a bounded poll, never a
// fixed sleep. Labelled concurrency: scripts/test.sh also runs it under ThreadSanitizer.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <thread>
#include <vector>

#include "service/pipeline_clock.hpp"
#include "service/shard_runner.hpp"
#include "service_fakes.hpp"

using namespace exchanged;
using namespace exchanged::service;
using namespace exchanged::service::test;

namespace {

ShardRunnerOptions runner_options(std::size_t queue_capacity, std::size_t producers = 1) {
    ShardRunnerOptions options;
    options.queue_capacity = queue_capacity;
    options.producers = producers;
    return options;
}

// Pushes until the queue takes it: a producer facing a full queue retries, as a test may.
void push(ShardRunner& runner, const ShardRequest& request) {
    while (!runner.try_push(request)) {
        std::this_thread::yield();
    }
}

}  // namespace

TEST_CASE("ShardRunner answers every request of two producers once, in each producer's order",
          "[service][runner]") {
    StageRig rig(AckPoint::Match, AckPoint::Match);
    const PipelineClock clock;
    ShardRunner runner(rig.stage, clock, runner_options(4096, 2));
    runner.start();

    // Producer p is session and account p+1; its buys (p 0) and sells (p 1) never cross, so each
    // request yields exactly one reply, an Accepted.
    constexpr std::size_t kPerProducer = 2000;
    std::vector<std::thread> producers;
    for (int p = 0; p < 2; ++p) {
        producers.emplace_back([&runner, p] {
            const Side side = p == 0 ? Side::Buy : Side::Sell;
            const Price price = p == 0 ? 10 : 20;
            for (std::size_t i = 1; i <= kPerProducer; ++i) {
                push(runner, new_order(static_cast<net::SessionId>(p + 1),
                                       static_cast<AccountId>(p + 1), i, side, price, 1));
            }
        });
    }
    for (std::thread& producer : producers) {
        producer.join();
    }
    CHECK(eventually([&] { return rig.sink.size() >= 2 * kPerProducer; }));
    runner.drain_and_join();

    std::map<std::uint64_t, std::vector<ClientOrderId>> by_session;
    for (const SentReply& reply : rig.sink.sent()) {
        CHECK_FALSE(reply.to_account);
        by_session[reply.target].push_back(as<net::Accepted>(reply).client_order_id);
    }
    REQUIRE(by_session.size() == 2);
    std::vector<ClientOrderId> expected;
    for (std::size_t i = 1; i <= kPerProducer; ++i) {
        expected.push_back(i);
    }
    CHECK(by_session[1] == expected);
    CHECK(by_session[2] == expected);
    CHECK(rig.shard.stats().commands == 2 * kPerProducer);
}

TEST_CASE("ShardRunner::try_push reports a full queue", "[service][runner]") {
    StageRig rig(AckPoint::Match, AckPoint::Match);
    const PipelineClock clock;
    // The queue rounds a small capacity up to whole blocks (a few hundred requests): push until it
    // refuses, with a bound far above that so a queue that never fills fails the test.
    ShardRunner runner(rig.stage, clock, runner_options(16));
    std::size_t taken = 0;
    bool refused = false;
    while (taken < 100'000) {
        if (!runner.try_push(new_order(1, 1, taken + 1, Side::Buy, 10, 1))) {
            refused = true;
            break;
        }
        ++taken;
    }
    REQUIRE(refused);
    CHECK(taken >= 16);
    // Not started: nothing was handled.
    CHECK(rig.log.next_lsn() == 1);
    CHECK(rig.sink.size() == 0);

    // Once the thread runs, every request that was taken is answered, and the queue takes more.
    runner.start();
    CHECK(eventually([&] { return rig.sink.size() == taken; }));
    CHECK(
        eventually([&] { return runner.try_push(new_order(1, 1, taken + 1, Side::Buy, 10, 1)); }));
    runner.drain_and_join();
    CHECK(rig.sink.size() == taken + 1);
}

TEST_CASE("ShardRunner::notify wakes the thread to release a reply the WAL made durable",
          "[service][runner]") {
    StageRig rig(AckPoint::Wal, AckPoint::Wal);
    const PipelineClock clock;
    ShardRunner runner(rig.stage, clock, runner_options(1024));
    runner.start();

    push(runner, new_order(1, 1, 1, Side::Buy, 10, 1));
    REQUIRE(eventually([&] { return rig.log.next_lsn() == 2; }));  // logged and matched
    // Time for the idle thread to spin out and fall asleep on its futex (about 100 µs), so the
    // wake-up below is notify()'s. Not an assertion: were it still spinning, it would release too.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(rig.sink.size() == 0);  // held: the log is not durable

    // What the WAL writer does after a group commit: move the frontier, then wake the shard.
    rig.log.set_durable(1);
    runner.notify();
    CHECK(eventually([&] { return rig.sink.size() == 1; }));
    runner.drain_and_join();
    REQUIRE(rig.sink.size() == 1);
    CHECK(as<net::Accepted>(rig.sink.sent()[0]).client_order_id == 1);
}

TEST_CASE("ShardRunner::drain_and_join handles everything queued before it stops",
          "[service][runner]") {
    StageRig rig(AckPoint::Wal, AckPoint::Wal);
    const PipelineClock clock;
    ShardRunner runner(rig.stage, clock, runner_options(1024));
    constexpr std::size_t kQueued = 300;  // more than one batch of the thread's bulk dequeue
    for (std::size_t i = 1; i <= kQueued; ++i) {
        push(runner, new_order(1, 1, i, Side::Buy, 10, 1));
    }
    // Stop at once: the thread must still empty its queue before it ends.
    runner.start();
    runner.drain_and_join();
    CHECK(rig.shard.stats().commands == kQueued);
    CHECK(rig.log.next_lsn() == kQueued + 1);

    // Their acks wait for the WAL; after it closed durable, release_remaining sends them.
    CHECK(rig.sink.size() == 0);
    rig.log.set_durable(kQueued);
    runner.release_remaining();
    const std::vector<SentReply> sent = rig.sink.sent();
    REQUIRE(sent.size() == kQueued);
    for (std::size_t i = 0; i < kQueued; ++i) {
        CHECK(as<net::Accepted>(sent[i]).client_order_id == i + 1);
    }
}

TEST_CASE("ShardRunner sends one account's acks while another's critical order waits for the store",
          "[service][runner]") {
    ShardStageOptions options;
    options.critical_order_threshold = 100;
    StageRig rig(AckPoint::Wal, AckPoint::Store, options);
    rig.log.set_durable(1'000'000);  // the WAL keeps up; only the store is behind
    const PipelineClock clock;
    ShardRunner runner(rig.stage, clock, runner_options(4096, 2));
    runner.start();

    constexpr net::SessionId kAlice = 1;
    constexpr net::SessionId kBob = 2;
    constexpr std::size_t kEach = 1000;
    // Alice's first order is critical: it and everything of hers after it wait for the store.
    push(runner, new_order(kAlice, 1, 1, Side::Buy, 10, 200));
    REQUIRE(eventually([&] { return rig.log.next_lsn() == 2; }));
    std::thread alice([&] {
        for (std::size_t i = 2; i <= kEach; ++i) {
            push(runner, new_order(kAlice, 1, i, Side::Buy, 10, 1));
        }
    });
    std::thread bob([&] {
        for (std::size_t i = 1; i <= kEach; ++i) {
            push(runner, new_order(kBob, 2, i, Side::Sell, 20, 1));
        }
    });
    alice.join();
    bob.join();
    const auto count = [&](net::SessionId session) {
        std::size_t n = 0;
        for (const SentReply& reply : rig.sink.sent()) {
            n += reply.target == session ? 1 : 0;
        }
        return n;
    };
    CHECK(eventually([&] { return count(kBob) == kEach; }));
    CHECK(count(kAlice) == 0);

    // What the flush worker does after a commit: move the store's frontier, then wake the shard.
    REQUIRE(eventually([&] { return rig.log.next_lsn() == 2 * kEach + 1; }));
    rig.store_point.advance(1);
    runner.notify();
    CHECK(eventually([&] { return count(kAlice) == kEach; }));
    runner.drain_and_join();

    std::map<std::uint64_t, std::vector<ClientOrderId>> by_session;
    for (const SentReply& reply : rig.sink.sent()) {
        by_session[reply.target].push_back(as<net::Accepted>(reply).client_order_id);
    }
    std::vector<ClientOrderId> expected;
    for (std::size_t i = 1; i <= kEach; ++i) {
        expected.push_back(i);
    }
    CHECK(by_session[kAlice] == expected);
    CHECK(by_session[kBob] == expected);
}
