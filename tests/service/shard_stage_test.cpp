// ShardStage driven from the test's thread, one request at a time, over a real Shard and Matcher
// and a fake log whose durable LSN the test sets: what the stage makes of a request (events, store
// events, refusals) and when its replies may leave.
#include <catch2/catch.hpp>

#include <vector>

#include "service_fakes.hpp"

using namespace exchanged;
using namespace exchanged::service;
using namespace exchanged::service::test;

namespace {

constexpr TimestampNs kNow = 1'700'000'000'000'000'000;
constexpr net::SessionId kAlice = 11;
constexpr net::SessionId kBob = 12;
constexpr AccountId kAliceAccount = 1;
constexpr AccountId kBobAccount = 2;

}  // namespace

TEST_CASE("ShardStage accepts a new order with an LSN and a store event", "[service][stage]") {
    StageRig rig(AckPoint::Wal, AckPoint::Wal);
    const auto events =
        rig.stage.handle(new_order(kAlice, kAliceAccount, 1, Side::Buy, 10, 5), kNow);
    REQUIRE(events.size() == 1);
    CHECK(events[0].lsn == 1);
    CHECK(events[0].event.type == book::EventType::Accepted);
    CHECK(events[0].event.timestamp_ns == kNow);
    CHECK(rig.log.next_lsn() == 2);

    const auto store_events = rig.stage.store_events();
    REQUIRE(store_events.size() == 1);
    CHECK(store_events[0].lsn == 1);
    CHECK(store_events[0].shard == 0);
    CHECK(store_events[0].event == events[0].event);

    // The ack is held until the log is durable at LSN 1.
    CHECK(rig.stage.gate().release() == 0);
    CHECK(rig.sink.size() == 0);
    rig.log.set_durable(1);
    CHECK(rig.stage.gate().release() == 1);
    const std::vector<SentReply> sent = rig.sink.sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].target == kAlice);
    const net::Accepted& ack = as<net::Accepted>(sent[0]);
    CHECK(ack.client_order_id == 1);
    CHECK(ack.order_id == events[0].event.order_id);
    CHECK(ack.price == 10);
    CHECK(ack.quantity == 5);
}

TEST_CASE("ShardStage refuses critical orders as unavailable when their point is unreachable",
          "[service][stage]") {
    ShardStageOptions options;
    options.critical_order_threshold = 100;
    options.critical_reachable = false;
    StageRig rig(AckPoint::Match, AckPoint::Wal, options);

    const auto check_refused = [&](const ShardRequest& request) {
        const std::size_t sent_before = rig.sink.size();
        const auto events = rig.stage.handle(request, kNow);
        REQUIRE(events.size() == 1);
        CHECK(events[0].lsn == 0);
        CHECK(events[0].event.type == book::EventType::Rejected);
        CHECK(events[0].event.reject_reason == book::RejectReason::Unavailable);
        // Never logged, never matched, nothing for the store; the refusal leaves at once.
        CHECK(rig.stage.store_events().empty());
        CHECK(rig.log.next_lsn() == 1);
        CHECK(rig.shard.stats().commands == 0);
        REQUIRE(rig.sink.size() == sent_before + 1);
        const net::Rejected& rejected = as<net::Rejected>(rig.sink.sent().back());
        CHECK(rejected.reason == net::reject_code(book::RejectReason::Unavailable));
        CHECK(rejected.client_id == request.command.client_order_id);
    };

    SECTION("above critical_order_threshold") {
        check_refused(new_order(kAlice, kAliceAccount, 1, Side::Buy, 10, 101));
    }
    SECTION("a liquidation") {
        check_refused(
            new_order(kAlice, kAliceAccount, 2, Side::Buy, 10, 1, book::order_flags::kLiquidation));
    }
    SECTION("at the threshold the order is not critical and is taken") {
        const auto events =
            rig.stage.handle(new_order(kAlice, kAliceAccount, 3, Side::Buy, 10, 100), kNow);
        REQUIRE(events.size() == 1);
        CHECK(events[0].event.type == book::EventType::Accepted);
        CHECK(events[0].lsn == 1);
        CHECK(rig.sink.size() == 1);  // at `match`
    }
}

TEST_CASE("ShardStage answers a status request from the matcher, behind earlier acks",
          "[service][stage]") {
    StageRig rig(AckPoint::Wal, AckPoint::Wal);
    const auto placed =
        rig.stage.handle(new_order(kAlice, kAliceAccount, 7, Side::Sell, 20, 4), kNow);
    REQUIRE(placed.size() == 1);
    const OrderId order_id = placed[0].event.order_id;

    // A status request produces no shard events and logs nothing.
    CHECK(rig.stage.handle(status_request(kAlice, kAliceAccount, 7), kNow + 1).empty());
    CHECK(rig.stage.store_events().empty());
    CHECK(rig.log.next_lsn() == 2);
    // It describes an order whose ack is still held, so it is held too.
    CHECK(rig.sink.size() == 0);

    rig.log.set_durable(1);
    CHECK(rig.stage.gate().release() == 2);
    const std::vector<SentReply> sent = rig.sink.sent();
    REQUIRE(sent.size() == 2);
    CHECK(as<net::Accepted>(sent[0]).client_order_id == 7);
    CHECK(sent[1].target == kAlice);
    const net::OrderStatus& status = as<net::OrderStatus>(sent[1]);
    CHECK(status.state == net::OrderState::Resting);
    CHECK(status.instrument == kInstrument);
    CHECK(status.client_order_id == 7);
    CHECK(status.order_id == order_id);
    CHECK(status.price == 20);
    CHECK(status.leaves == 4);
    CHECK(status.side == Side::Sell);

    // An id the account never used: not found, and nothing is held now, so it leaves at once.
    rig.stage.handle(status_request(kAlice, kAliceAccount, 8), kNow + 2);
    REQUIRE(rig.sink.size() == 3);
    CHECK(as<net::OrderStatus>(rig.sink.sent()[2]).state == net::OrderState::NotFound);
}

TEST_CASE("ShardStage with sync_all_trades holds a trading command's replies for the store",
          "[service][stage]") {
    ShardStageOptions options;
    options.sync_all_trades = true;
    StageRig rig(AckPoint::Wal, AckPoint::Wal, options);

    // A command that does not trade still acks at `wal`.
    rig.stage.handle(new_order(kAlice, kAliceAccount, 1, Side::Sell, 10, 5), kNow);
    rig.log.set_durable(1);
    CHECK(rig.stage.gate().release() == 1);
    REQUIRE(rig.sink.size() == 1);

    // Bob's buy crosses Alice's resting sell: every reply of that command waits for the store.
    const auto events =
        rig.stage.handle(new_order(kBob, kBobAccount, 1, Side::Buy, 10, 3), kNow + 1);
    REQUIRE(events.size() == 2);
    CHECK(events[0].event.type == book::EventType::Accepted);
    CHECK(events[1].event.type == book::EventType::Trade);
    CHECK(events[1].lsn == 2);
    rig.log.set_durable(2);
    CHECK(rig.stage.gate().release() == 0);
    CHECK(rig.sink.size() == 1);

    rig.store_point.advance(2);
    CHECK(rig.stage.gate().release() == 3);
    const std::vector<SentReply> sent = rig.sink.sent();
    REQUIRE(sent.size() == 4);
    CHECK(as<net::Accepted>(sent[1]).client_order_id == 1);
    CHECK(sent[1].target == kBob);
    CHECK(as<net::Fill>(sent[2]).liquidity == net::Liquidity::Taker);
    CHECK(sent[2].target == kBob);
    CHECK(as<net::Fill>(sent[3]).liquidity == net::Liquidity::Maker);
    CHECK(sent[3].to_account);
    CHECK(sent[3].target == kAliceAccount);
    CHECK(as<net::Fill>(sent[3]).leaves == 2);
}

namespace {

constexpr TimestampNs kMs = 1'000'000;

ShardRequest amend(net::MessageType type, book::CommandType command_type, net::SessionId session,
                   AccountId account, OrderId order_id, Price price, Quantity quantity) {
    ShardRequest request;
    request.kind = ShardRequest::Kind::Command;
    request.request_type = type;
    request.session = session;
    request.command.type = command_type;
    request.command.instrument = kInstrument;
    request.command.account = account;
    request.command.order_id = order_id;
    request.command.price = price;
    request.command.quantity = quantity;
    return request;
}

ShardRequest cancel(net::SessionId session, AccountId account, OrderId order_id) {
    return amend(net::MessageType::Cancel, book::CommandType::Cancel, session, account, order_id, 0,
                 0);
}

ShardRequest replace(net::SessionId session, AccountId account, OrderId order_id, Price price,
                     Quantity quantity) {
    return amend(net::MessageType::Replace, book::CommandType::Replace, session, account, order_id,
                 price, quantity);
}

bool refused_unavailable(std::span<const engine::ShardEvent> events) {
    return events.size() == 1 && events[0].lsn == 0 &&
           events[0].event.type == book::EventType::Rejected &&
           events[0].event.reject_reason == book::RejectReason::Unavailable;
}

}  // namespace

TEST_CASE("ShardStage refuses orders that would widen a loss window past max_unflushed_ms",
          "[service][stage][unflushed]") {
    ShardStageOptions options;
    options.max_unflushed_ns = 10 * kMs;
    StageRig rig(AckPoint::Match, AckPoint::Store, options);

    // Two resting orders, acked at match at 0 and 1 ms; the store has neither.
    const auto first =
        rig.stage.handle(new_order(kAlice, kAliceAccount, 1, Side::Buy, 10, 5), kNow);
    const OrderId first_id = first[0].event.order_id;
    const auto second =
        rig.stage.handle(new_order(kAlice, kAliceAccount, 2, Side::Buy, 11, 5), kNow + kMs);
    const OrderId second_id = second[0].event.order_id;
    CHECK(rig.stage.stats().refused_unflushed == 0);

    // At 10 ms the oldest is exactly at the bound: still taken.
    CHECK_FALSE(refused_unavailable(
        rig.stage.handle(new_order(kBob, kBobAccount, 3, Side::Sell, 900, 1), kNow + 10 * kMs)));

    // Past it: new orders and a replace that raises a quantity are refused, cancels and a replace
    // that lowers one go through.
    const TimestampNs late = kNow + 10 * kMs + 1;
    CHECK(refused_unavailable(
        rig.stage.handle(new_order(kBob, kBobAccount, 4, Side::Sell, 900, 1), late)));
    CHECK(refused_unavailable(
        rig.stage.handle(replace(kAlice, kAliceAccount, first_id, 10, 6), late)));
    CHECK(rig.stage.stats().refused_unflushed == 2);
    const auto lowered = rig.stage.handle(replace(kAlice, kAliceAccount, first_id, 10, 4), late);
    REQUIRE_FALSE(lowered.empty());
    CHECK(lowered[0].event.type == book::EventType::Replaced);
    const auto cancelled = rig.stage.handle(cancel(kAlice, kAliceAccount, second_id), late);
    REQUIRE_FALSE(cancelled.empty());
    CHECK(cancelled[0].event.type == book::EventType::Cancelled);

    // The store committed the first order (LSN 1): the oldest left was acked at 1 ms.
    rig.log.set_durable(1);
    rig.store_point.advance(1);
    CHECK_FALSE(refused_unavailable(
        rig.stage.handle(new_order(kBob, kBobAccount, 5, Side::Sell, 900, 1), late)));
    CHECK(rig.stage.stats().refused_unflushed == 2);
}

TEST_CASE(
    "ShardStage refuses new orders once the oldest one has waited quorum_timeout_ms for a "
    "quorum",
    "[service][stage][quorum]") {
    ShardStageOptions options;
    options.max_quorum_wait_ns = 10 * kMs;
    // Without a QuorumPoint the rig's quorum slot is the wal point: the fake log's durable LSN
    // plays the quorum frontier.
    StageRig rig(AckPoint::Quorum, AckPoint::Quorum, options);
    const auto first =
        rig.stage.handle(new_order(kAlice, kAliceAccount, 1, Side::Buy, 10, 5), kNow);
    const OrderId first_id = first[0].event.order_id;
    rig.stage.handle(new_order(kAlice, kAliceAccount, 2, Side::Buy, 11, 5), kNow + kMs);
    CHECK_FALSE(refused_unavailable(
        rig.stage.handle(new_order(kBob, kBobAccount, 3, Side::Sell, 900, 1), kNow + 10 * kMs)));
    // No majority holds LSN 1 after 10 ms: new orders are refused, a cancel still goes through.
    const TimestampNs late = kNow + 10 * kMs + 1;
    CHECK(refused_unavailable(
        rig.stage.handle(new_order(kBob, kBobAccount, 4, Side::Sell, 900, 1), late)));
    CHECK(rig.stage.stats().refused_no_quorum == 1);
    CHECK(rig.stage.stats().refused_unflushed == 0);
    const auto cancelled = rig.stage.handle(cancel(kAlice, kAliceAccount, first_id), late);
    REQUIRE_FALSE(cancelled.empty());
    CHECK(cancelled[0].event.type == book::EventType::Cancelled);
    // The quorum caught up with everything logged: orders are taken again.
    rig.log.set_durable(4);
    CHECK_FALSE(refused_unavailable(
        rig.stage.handle(new_order(kBob, kBobAccount, 5, Side::Sell, 900, 1), late)));
    CHECK(rig.stage.stats().refused_no_quorum == 1);
}

TEST_CASE("ShardStage without max_unflushed_ms never refuses for the loss window",
          "[service][stage][unflushed]") {
    StageRig rig(AckPoint::Match, AckPoint::Store);
    rig.stage.handle(new_order(kAlice, kAliceAccount, 1, Side::Buy, 10, 5), kNow);
    CHECK_FALSE(refused_unavailable(rig.stage.handle(
        new_order(kAlice, kAliceAccount, 2, Side::Buy, 10, 5), kNow + 1000 * kMs)));
    CHECK(rig.stage.stats().refused_unflushed == 0);
}

TEST_CASE("ShardStage treats a replace to a quantity above the threshold as critical",
          "[service][stage]") {
    ShardStageOptions options;
    options.critical_order_threshold = 100;
    StageRig rig(AckPoint::Match, AckPoint::Store, options);

    const auto placed =
        rig.stage.handle(new_order(kAlice, kAliceAccount, 1, Side::Buy, 10, 50), kNow);
    rig.stage.gate().release();
    REQUIRE(rig.sink.size() == 1);
    const OrderId order_id = placed[0].event.order_id;

    // Up to the threshold: acked at match.
    rig.stage.handle(replace(kAlice, kAliceAccount, order_id, 10, 100), kNow + 1);
    rig.stage.gate().release();
    CHECK(rig.sink.size() == 2);
    // Above it: held until the store has it.
    const auto raised =
        rig.stage.handle(replace(kAlice, kAliceAccount, order_id, 10, 101), kNow + 2);
    REQUIRE_FALSE(raised.empty());
    CHECK(raised[0].event.type == book::EventType::Replaced);
    rig.stage.gate().release();
    CHECK(rig.sink.size() == 2);
    rig.log.set_durable(raised[0].lsn);
    rig.store_point.advance(raised[0].lsn);
    rig.stage.gate().release();
    CHECK(rig.sink.size() == 3);
}

TEST_CASE("ShardStage orders replies per account: a critical order holds back only its own",
          "[service][stage]") {
    ShardStageOptions options;
    options.critical_order_threshold = 100;
    StageRig rig(AckPoint::Wal, AckPoint::Store, options);

    rig.stage.handle(new_order(kAlice, kAliceAccount, 1, Side::Buy, 10, 200), kNow);  // critical
    rig.stage.handle(new_order(kBob, kBobAccount, 1, Side::Buy, 9, 5), kNow + 1);
    rig.stage.handle(new_order(kAlice, kAliceAccount, 2, Side::Buy, 8, 5), kNow + 2);
    rig.log.set_durable(3);
    CHECK(rig.stage.gate().release() == 1);
    REQUIRE(rig.sink.size() == 1);
    CHECK(rig.sink.sent()[0].target == kBob);

    // Bob's status read describes only what Bob's acks already covered: it leaves at once.
    rig.stage.handle(status_request(kBob, kBobAccount, 1), kNow + 3);
    REQUIRE(rig.sink.size() == 2);
    CHECK(as<net::OrderStatus>(rig.sink.sent()[1]).state == net::OrderState::Resting);

    rig.store_point.advance(1);
    CHECK(rig.stage.gate().release() == 2);
    const std::vector<SentReply> sent = rig.sink.sent();
    REQUIRE(sent.size() == 4);
    CHECK(sent[2].target == kAlice);
    CHECK(as<net::Accepted>(sent[2]).client_order_id == 1);
    CHECK(as<net::Accepted>(sent[3]).client_order_id == 2);
}
