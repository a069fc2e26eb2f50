// The release gate alone: shard events pushed by hand, durability points moved by hand, and a sink
// that records what left. The gate's promise is that no reply leaves before the point its profile
// names covers its LSN, and that an account's replies leave in the order they were produced
// (release_gate_order_test.cpp checks the rule against a model under random load).
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "service_fakes.hpp"

using namespace exchanged;
using namespace exchanged::service;
using namespace exchanged::service::test;

namespace {

constexpr net::SessionId kSession = 7;

// A gate over a real `match` point and two fake points for `wal` and `store`.
struct GateRig {
    GateRig(AckPoint normal, AckPoint critical, std::size_t capacity = 16)
        : points(match, wal, store), gate(sink, points, normal, critical, capacity) {}

    MatchPoint match;
    FakePoint wal;
    FakePoint store;
    DurabilityPoints points;
    RecordingSink sink;
    ReleaseGate gate;
};

engine::ShardEvent accepted(wal::Lsn lsn, ClientOrderId id, bool critical = false) {
    engine::ShardEvent out;
    out.lsn = lsn;
    out.event.type = book::EventType::Accepted;
    out.event.critical = critical;
    out.event.instrument = kInstrument;
    out.event.account = 1;
    out.event.client_order_id = id;
    out.event.order_id = 1000 + id;
    out.event.price = 10;
    out.event.quantity = 5;
    out.event.leaves = 5;
    return out;
}

engine::ShardEvent refused(ClientOrderId id) {
    engine::ShardEvent out;  // lsn 0: refused before it was logged
    out.event.type = book::EventType::Rejected;
    out.event.reject_reason = book::RejectReason::Busy;
    out.event.instrument = kInstrument;
    out.event.client_order_id = id;
    return out;
}

ReplyOrigin origin(bool critical = false, bool store_sync = false) {
    ReplyOrigin out;
    out.session = kSession;
    out.account = 1;
    out.critical = critical;
    out.store_sync = store_sync;
    return out;
}

// The client order ids of the Accepted replies sent so far, in the order they left.
std::vector<ClientOrderId> accepted_ids(const RecordingSink& sink) {
    std::vector<ClientOrderId> ids;
    for (const SentReply& reply : sink.sent()) {
        ids.push_back(as<net::Accepted>(reply).client_order_id);
    }
    return ids;
}

}  // namespace

TEST_CASE("ReleaseGate holds a wal-gated reply until the wal frontier covers its LSN",
          "[service][gate]") {
    GateRig rig(AckPoint::Wal, AckPoint::Wal);
    rig.gate.push(accepted(5, 1), origin());

    // Not durable yet: nothing leaves, however often the shard thread asks.
    CHECK(rig.sink.size() == 0);
    CHECK_FALSE(rig.gate.has_ready());
    CHECK(rig.gate.release() == 0);
    rig.wal.set_frontier(4);
    CHECK_FALSE(rig.gate.has_ready());
    CHECK(rig.gate.release() == 0);
    CHECK(rig.sink.size() == 0);

    rig.wal.set_frontier(5);
    CHECK(rig.gate.has_ready());
    CHECK(rig.gate.release() == 1);
    REQUIRE(rig.sink.size() == 1);
    const SentReply reply = rig.sink.sent()[0];
    CHECK_FALSE(reply.to_account);
    CHECK(reply.target == kSession);
    CHECK(as<net::Accepted>(reply).client_order_id == 1);
    CHECK(as<net::Accepted>(reply).order_id == 1001);
    CHECK(rig.gate.empty());
    CHECK(rig.gate.stats().released == 1);

    // An empty gate whose point already covers the LSN sends at once, without a release().
    rig.gate.push(accepted(5, 2), origin());
    CHECK(rig.sink.size() == 2);
    CHECK(rig.gate.empty());
}

TEST_CASE(
    "ReleaseGate sends an account's replies in order: a match-gated reply queues behind a held "
    "one",
    "[service][gate]") {
    // Normal orders ack at `match`, critical ones at `wal`: the critical order is held, and the
    // normal order after it must not overtake it.
    GateRig rig(AckPoint::Match, AckPoint::Wal);
    rig.gate.push(accepted(1, 1), origin(/*critical=*/true));
    rig.gate.push(accepted(2, 2), origin());
    rig.gate.push(accepted(3, 3), origin());
    CHECK(rig.sink.size() == 0);
    CHECK(rig.gate.release() == 0);

    rig.wal.set_frontier(1);
    CHECK(rig.gate.release() == 3);
    CHECK(accepted_ids(rig.sink) == std::vector<ClientOrderId>{1, 2, 3});
    CHECK(rig.gate.empty());
}

TEST_CASE("ReleaseGate holds critical orders for the critical point", "[service][gate]") {
    GateRig rig(AckPoint::Match, AckPoint::Store);
    // Critical by the origin (above the threshold) and by the event (a liquidation).
    rig.gate.push(accepted(1, 1), origin(/*critical=*/true));
    rig.gate.push(accepted(2, 2, /*critical=*/true), origin());
    // The store hears that replies wait for it, so it commits without waiting for a full batch.
    CHECK(rig.store.awaited == 2);
    CHECK(rig.wal.awaited == 0);

    // The WAL being durable is not enough for a point of `store`.
    rig.wal.set_frontier(100);
    CHECK(rig.gate.release() == 0);
    rig.store.set_frontier(1);
    CHECK(rig.gate.release() == 1);
    CHECK(accepted_ids(rig.sink) == std::vector<ClientOrderId>{1});
    rig.store.set_frontier(2);
    CHECK(rig.gate.release() == 1);
    CHECK(accepted_ids(rig.sink) == std::vector<ClientOrderId>{1, 2});
}

TEST_CASE(
    "ReleaseGate lets another account's replies leave while one account's critical order waits "
    "for the store",
    "[service][gate]") {
    GateRig rig(AckPoint::Wal, AckPoint::Store);
    ReplyOrigin alice = origin(/*critical=*/true);
    alice.session = 21;
    alice.account = 1;
    ReplyOrigin bob = origin();
    bob.session = 22;
    bob.account = 2;
    rig.gate.push(accepted(1, 1), alice);  // critical: waits for the store
    rig.gate.push(accepted(2, 2), bob);
    alice.critical = false;
    rig.gate.push(accepted(3, 3), alice);  // normal, but behind Alice's critical ack
    rig.gate.push(accepted(4, 4), bob);

    // The WAL has everything; the store nothing yet. Bob's acks go, Alice's wait.
    rig.wal.set_frontier(4);
    CHECK(rig.gate.has_ready());
    CHECK(rig.gate.release() == 2);
    CHECK(accepted_ids(rig.sink) == std::vector<ClientOrderId>{2, 4});
    CHECK_FALSE(rig.gate.has_ready());
    CHECK(rig.gate.release() == 0);

    // A maker fill to Alice's account from Bob's trade queues behind her acks as well; Bob's
    // taker fill does not.
    engine::ShardEvent trade;
    trade.lsn = 5;
    trade.event.type = book::EventType::Trade;
    trade.event.instrument = kInstrument;
    trade.event.client_order_id = 5;
    trade.event.trade_id = 50;
    trade.event.maker_account = 1;
    rig.gate.push(trade, bob);
    rig.wal.set_frontier(5);
    CHECK(rig.gate.release() == 1);
    REQUIRE(rig.sink.size() == 3);
    CHECK(rig.sink.sent()[2].target == 22);
    CHECK(as<net::Fill>(rig.sink.sent()[2]).liquidity == net::Liquidity::Taker);

    // The store has Alice's critical order: her acks and the maker fill leave, in order.
    rig.store.set_frontier(1);
    CHECK(rig.gate.release() == 3);
    const std::vector<SentReply> sent = rig.sink.sent();
    REQUIRE(sent.size() == 6);
    CHECK(as<net::Accepted>(sent[3]).client_order_id == 1);
    CHECK(as<net::Accepted>(sent[4]).client_order_id == 3);
    CHECK(sent[5].to_account);
    CHECK(sent[5].target == 1);
    CHECK(as<net::Fill>(sent[5]).liquidity == net::Liquidity::Maker);
    CHECK(rig.gate.empty());
}

TEST_CASE("ReleaseGate holds store_sync replies for the store point", "[service][gate]") {
    GateRig rig(AckPoint::Wal, AckPoint::Wal);
    rig.gate.push(accepted(3, 1), origin(false, /*store_sync=*/true));
    CHECK(rig.store.awaited == 3);

    rig.wal.set_frontier(3);
    CHECK(rig.gate.release() == 0);
    CHECK(rig.sink.size() == 0);
    rig.store.set_frontier(3);
    CHECK(rig.gate.release() == 1);
    CHECK(accepted_ids(rig.sink) == std::vector<ClientOrderId>{1});
}

TEST_CASE("ReleaseGate sends refusals (LSN 0) at once", "[service][gate]") {
    // Even with every point far behind: a refusal was never logged and promises nothing.
    GateRig rig(AckPoint::Store, AckPoint::Store);
    rig.gate.push(refused(9), origin(/*critical=*/true, /*store_sync=*/true));
    REQUIRE(rig.sink.size() == 1);
    const net::Rejected& rejected = as<net::Rejected>(rig.sink.sent()[0]);
    CHECK(rejected.client_id == 9);
    CHECK(rejected.reason == net::reject_code(book::RejectReason::Busy));
    CHECK(rig.gate.empty());
}

TEST_CASE(
    "ReleaseGate sends a trade's taker fill to the session and its maker fill to the "
    "maker's account",
    "[service][gate]") {
    GateRig rig(AckPoint::Wal, AckPoint::Wal);
    engine::ShardEvent trade;
    trade.lsn = 4;
    trade.event.type = book::EventType::Trade;
    trade.event.side = Side::Buy;  // the taker's side
    trade.event.instrument = kInstrument;
    trade.event.account = 1;
    trade.event.order_id = 11;
    trade.event.client_order_id = 111;
    trade.event.trade_id = 5;
    trade.event.price = 10;
    trade.event.quantity = 3;
    trade.event.leaves = 2;
    trade.event.maker_order_id = 22;
    trade.event.maker_client_order_id = 222;
    trade.event.maker_account = 2;
    trade.event.maker_leaves = 7;
    rig.gate.push(trade, origin());

    // Both fills wait for the trade's LSN like any other reply.
    CHECK(rig.sink.size() == 0);
    rig.wal.set_frontier(4);
    CHECK(rig.gate.release() == 2);
    const std::vector<SentReply> sent = rig.sink.sent();
    REQUIRE(sent.size() == 2);

    CHECK_FALSE(sent[0].to_account);
    CHECK(sent[0].target == kSession);
    const net::Fill& taker = as<net::Fill>(sent[0]);
    CHECK(taker.liquidity == net::Liquidity::Taker);
    CHECK(taker.side == Side::Buy);
    CHECK(taker.order_id == 11);
    CHECK(taker.client_order_id == 111);
    CHECK(taker.leaves == 2);

    CHECK(sent[1].to_account);
    CHECK(sent[1].target == 2);
    const net::Fill& maker = as<net::Fill>(sent[1]);
    CHECK(maker.liquidity == net::Liquidity::Maker);
    CHECK(maker.side == Side::Sell);
    CHECK(maker.order_id == 22);
    CHECK(maker.client_order_id == 222);
    CHECK(maker.leaves == 7);
    CHECK(maker.trade_id == taker.trade_id);
    CHECK(maker.quantity == 3);
    CHECK(maker.price == 10);
}

TEST_CASE("ReleaseGate drops replies above the frontier of a failed point", "[service][gate]") {
    GateRig rig(AckPoint::Wal, AckPoint::Wal);
    rig.gate.push(accepted(1, 1), origin());
    rig.gate.push(accepted(2, 2), origin());
    rig.gate.push(accepted(3, 3), origin());

    // LSN 1 became durable before the WAL failed; 2 and 3 never will and were never acked.
    rig.wal.set_frontier(1);
    rig.wal.fail();
    CHECK(rig.gate.release() == 1);
    CHECK(accepted_ids(rig.sink) == std::vector<ClientOrderId>{1});
    CHECK(rig.gate.stats().dropped == 2);
    CHECK(rig.gate.stats().released == 1);
    CHECK(rig.gate.empty());
    CHECK(rig.gate.release() == 0);
    CHECK(rig.sink.size() == 1);
}

TEST_CASE("A full ReleaseGate waits on the oldest reply's point, then proceeds",
          "[service][gate]") {
    GateRig rig(AckPoint::Wal, AckPoint::Wal, /*capacity=*/2);
    // While the shard waits, the WAL writer makes the awaited record durable.
    rig.wal.on_wait = [&](wal::Lsn lsn) { rig.wal.set_frontier(lsn); };
    rig.gate.push(accepted(1, 1), origin());
    rig.gate.push(accepted(2, 2), origin());
    CHECK(rig.wal.waits.empty());
    CHECK(rig.gate.stats().full_waits == 0);

    rig.gate.push(accepted(3, 3), origin());
    // It waited for the head (LSN 1) only, sent it to make room, and queued LSN 3.
    CHECK(rig.wal.waits == std::vector<wal::Lsn>{1});
    CHECK(rig.gate.stats().full_waits == 1);
    CHECK(accepted_ids(rig.sink) == std::vector<ClientOrderId>{1});
    CHECK_FALSE(rig.gate.empty());

    rig.wal.set_frontier(3);
    CHECK(rig.gate.release() == 2);
    CHECK(accepted_ids(rig.sink) == std::vector<ClientOrderId>{1, 2, 3});
}

TEST_CASE("ReleaseGate push_reply waits behind earlier acks", "[service][gate]") {
    GateRig rig(AckPoint::Wal, AckPoint::Wal);
    // A status read on an empty, caught-up shard answers at once.
    net::OrderStatus early;
    early.client_order_id = 1;
    rig.gate.push_reply(0, kSession, 1, early);
    REQUIRE(rig.sink.size() == 1);
    CHECK(as<net::OrderStatus>(rig.sink.sent()[0]).client_order_id == 1);

    // A status read after an order not yet durable: it may describe that order, so it must not
    // reach the client before the order's own ack.
    rig.gate.push(accepted(4, 2), origin());
    net::OrderStatus status;
    status.state = net::OrderState::Resting;
    status.client_order_id = 2;
    rig.gate.push_reply(4, kSession, 1, status);
    rig.wal.set_frontier(3);
    CHECK(rig.gate.release() == 0);
    CHECK(rig.sink.size() == 1);

    rig.wal.set_frontier(4);
    CHECK(rig.gate.release() == 2);
    const std::vector<SentReply> sent = rig.sink.sent();
    REQUIRE(sent.size() == 3);
    CHECK(as<net::Accepted>(sent[1]).client_order_id == 2);
    CHECK(as<net::OrderStatus>(sent[2]).client_order_id == 2);
    CHECK(sent[2].target == kSession);
}

namespace {

TimestampNs fake_now_ns = 0;
TimestampNs read_fake_now() {
    return fake_now_ns;
}

}  // namespace

TEST_CASE("ReleaseGate times each ack from its command's stamp to its release, by point",
          "[service][gate]") {
    GateRig rig(AckPoint::Match, AckPoint::Wal);
    const PipelineClock clock(&read_fake_now);
    rig.gate.measure_ack_latency(clock);

    // A match-point reply leaves while its command is handled: 0.
    engine::ShardEvent normal = accepted(1, 1);
    normal.event.timestamp_ns = 1'000'000'000;
    rig.gate.push(normal, origin());
    // A critical order waits 3 ms for the WAL; the normal order after it queues behind it and is
    // timed at the point it waited for itself (match), 2 ms after its own stamp.
    engine::ShardEvent critical = accepted(2, 2, true);
    critical.event.timestamp_ns = 1'000'000'000;
    rig.gate.push(critical, origin());
    engine::ShardEvent behind = accepted(3, 3);
    behind.event.timestamp_ns = 1'001'000'000;
    rig.gate.push(behind, origin());
    fake_now_ns = 1'003'000'000;
    rig.wal.set_frontier(3);
    CHECK(rig.gate.release() == 2);

    const HistogramSnapshot match = rig.gate.ack_latency(AckPoint::Match).snapshot();
    const HistogramSnapshot wal = rig.gate.ack_latency(AckPoint::Wal).snapshot();
    CHECK(match.count() == 2);
    CHECK(match.sum == Approx(0.002));
    CHECK(wal.count() == 1);
    CHECK(wal.sum == Approx(0.003));
    // 3 ms lies in the bucket le=0.005, not in le=0.0025.
    const auto bucket = [&](double le) {
        for (std::size_t i = 0; i < wal.upper_bounds.size(); ++i) {
            if (wal.upper_bounds[i] == le) {
                return wal.counts[i];
            }
        }
        FAIL("no bucket " << le);
        return std::uint64_t{0};
    };
    CHECK(bucket(0.0025) == 0);
    CHECK(bucket(0.005) == 1);
    CHECK(rig.gate.ack_latency(AckPoint::Store).snapshot().count() == 0);

    // A clock that stepped back counts as 0, not as a negative wait.
    engine::ShardEvent late = accepted(4, 4, true);
    late.event.timestamp_ns = 2'000'000'000;
    rig.gate.push(late, origin());
    rig.wal.set_frontier(4);
    CHECK(rig.gate.release() == 1);
    const HistogramSnapshot after = rig.gate.ack_latency(AckPoint::Wal).snapshot();
    CHECK(after.count() == 2);
    CHECK(after.counts.front() == 1);
    CHECK(after.sum == Approx(0.003));
}

TEST_CASE("ReleaseGate times nothing unless asked", "[service][gate]") {
    GateRig rig(AckPoint::Wal, AckPoint::Wal);
    engine::ShardEvent event = accepted(1, 1);
    event.event.timestamp_ns = 5;
    rig.gate.push(event, origin());
    rig.wal.set_frontier(1);
    CHECK(rig.gate.release() == 1);
    CHECK(rig.gate.ack_latency(AckPoint::Wal).snapshot().count() == 0);
}
