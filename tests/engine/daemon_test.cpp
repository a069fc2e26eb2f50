// The built daemon end to end: start `exchanged` on a free port in a temporary directory, talk to
// it over a plain socket with the wire codec, and check acks, fills, duplicate client order ids
// across a clean restart, status of a resting order after it, and a refused login.
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>

#include "daemon_process.hpp"
#include "minimal_config.hpp"
#include "net/protocol.hpp"
#include "temp_file.hpp"
#include "wire_client.hpp"

using namespace exchanged;
using namespace exchanged::net;

namespace {

constexpr Price kPrice = 2'000'000;

using Client = test::WireClient;
using Started = test::ServingDaemon;

NewOrder limit(Side side, ClientOrderId id, Quantity quantity) {
    NewOrder order;
    order.side = side;
    order.instrument = 1;
    order.client_order_id = id;
    order.price = kPrice;
    order.quantity = quantity;
    return order;
}

std::string write_config(const test::TempDir& dir) {
    return dir.write("daemon.ini",
                     "[server]\nheartbeat_interval_ms = 1000\nshard_queue_capacity = 1024\n"
                     "[persistence]\nwal_segment_bytes = 1048576\n"
                     "[engine]\nmax_orders = 4096\nclient_order_id_window = 4096\n"
                     "[instruments]\n" +
                         test::kAmznInstrument + test::kAliceAndBob);
}

}  // namespace

TEST_CASE("exchanged serves orders, fills, and keeps them across a restart", "[engine][daemon]") {
    test::TempDir dir;
    const std::string config = write_config(dir);
    OrderId resting_id = 0;
    {
        Started run = test::serve_daemon(dir, config, "first.out");
        // The clients close before the daemon stops, so it need not linger for their EOF.
        std::optional<Client> alice_client(std::in_place, run.port);
        std::optional<Client> bob_client(std::in_place, run.port);
        Client& alice = *alice_client;
        Client& bob = *bob_client;
        alice.login("alice", "alice-secret");
        CHECK(alice.expect<LoginAccepted>().account_id == 1);
        bob.login("bob", "bob-secret");
        CHECK(bob.expect<LoginAccepted>().account_id == 2);

        // Alice rests 10 to sell; Bob buys 4 against it.
        alice.send(limit(Side::Sell, 100, 10));
        const Accepted resting = alice.expect<Accepted>();
        CHECK(resting.client_order_id == 100);
        CHECK(resting.side == Side::Sell);
        CHECK(resting.price == kPrice);
        CHECK(resting.quantity == 10);
        CHECK(resting.timestamp_ns > 0);
        resting_id = resting.order_id;

        bob.send(limit(Side::Buy, 7, 4));
        const Accepted taker = bob.expect<Accepted>();
        CHECK(taker.client_order_id == 7);
        const Fill taker_fill = bob.expect<Fill>();
        CHECK(taker_fill.liquidity == Liquidity::Taker);
        CHECK(taker_fill.order_id == taker.order_id);
        CHECK(taker_fill.client_order_id == 7);
        CHECK(taker_fill.quantity == 4);
        CHECK(taker_fill.price == kPrice);
        CHECK(taker_fill.leaves == 0);
        const Fill maker_fill = alice.expect<Fill>();
        CHECK(maker_fill.liquidity == Liquidity::Maker);
        CHECK(maker_fill.side == Side::Sell);
        CHECK(maker_fill.order_id == resting_id);
        CHECK(maker_fill.client_order_id == 100);
        CHECK(maker_fill.trade_id == taker_fill.trade_id);
        CHECK(maker_fill.quantity == 4);
        CHECK(maker_fill.leaves == 6);

        // An IOC remainder is cancelled: Bob buys 1 at a price nobody sells at.
        NewOrder ioc = limit(Side::Buy, 8, 1);
        ioc.price = kPrice - 100;
        ioc.time_in_force = book::TimeInForce::ImmediateOrCancel;
        bob.send(ioc);
        CHECK(bob.expect<Accepted>().client_order_id == 8);
        const Cancelled cancelled = bob.expect<Cancelled>();
        CHECK(cancelled.client_order_id == 8);
        CHECK(cancelled.reason == book::CancelReason::ImmediateOrCancel);
        CHECK(cancelled.quantity == 1);

        // Bob may not cancel Alice's order.
        Cancel steal;
        steal.instrument = 1;
        steal.client_request_id = 55;
        steal.order_id = resting_id;
        bob.send(steal);
        const Rejected refused = bob.expect<Rejected>();
        CHECK(refused.request_type == MessageType::Cancel);
        CHECK(refused.client_id == 55);
        CHECK(refused.order_id == resting_id);

        alice_client.reset();
        bob_client.reset();
        CHECK(run.daemon->stop() == 0);
        INFO(run.daemon->output());
        CHECK(run.daemon->output().find("SIGTERM received; clean exit") != std::string::npos);
    }

    Started again = test::serve_daemon(dir, config, "second.out");
    INFO(again.daemon->output());
    CHECK(again.daemon->output().find("recovered from the store at LSN 4 plus 0 WAL records") != std::string::npos);
    std::optional<Client> alice_client(std::in_place, again.port);
    Client& alice = *alice_client;
    alice.login("alice", "alice-secret");
    alice.expect<LoginAccepted>();

    {
        // A resent client order id is a duplicate; the resting order is still there.
        alice.send(limit(Side::Sell, 100, 10));
        const Rejected duplicate = alice.expect<Rejected>();
        CHECK(duplicate.reason == reject_code(book::RejectReason::DuplicateClientOrderId));
        CHECK(duplicate.client_id == 100);
        CHECK(duplicate.request_type == MessageType::NewOrder);

        alice.send(OrderStatusRequest{1, 100});
        const OrderStatus status = alice.expect<OrderStatus>();
        CHECK(status.state == OrderState::Resting);
        CHECK(status.order_id == resting_id);
        CHECK(status.leaves == 6);
        CHECK(status.price == kPrice);
        CHECK(status.side == Side::Sell);

        alice.send(OrderStatusRequest{1, 999});
        CHECK(alice.expect<OrderStatus>().state == OrderState::NotFound);

        Cancel cancel;
        cancel.instrument = 1;
        cancel.client_request_id = 9;
        cancel.order_id = resting_id;
        alice.send(cancel);
        const Cancelled gone = alice.expect<Cancelled>();
        CHECK(gone.order_id == resting_id);
        CHECK(gone.client_request_id == 9);
        CHECK(gone.quantity == 6);
        CHECK(gone.reason == book::CancelReason::ClientRequest);
    }

    {
        // A wrong secret is refused.
        Client intruder(again.port);
        intruder.login("bob", "not-bobs-secret");
        CHECK(intruder.expect<LoginRejected>().reason == LoginRejectReason::BadCredentials);
    }

    alice_client.reset();
    CHECK(again.daemon->stop() == 0);
}
