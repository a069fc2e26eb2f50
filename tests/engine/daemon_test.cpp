// The built daemon end to end: start `exchanged` on a free port in a temporary directory, talk to
// it over a plain socket with the wire codec, and check acks, fills, duplicate client order ids
// across a clean restart, status of a resting order after it, and a refused login.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_process.hpp"
#include "net/protocol.hpp"
#include "temp_file.hpp"

extern char** environ;

using namespace exchanged;
using namespace exchanged::net;

namespace {

// Long enough for a sanitizer build's fsync, short enough that a hang fails fast.
constexpr int kReceiveTimeoutMs = 5000;

constexpr Price kPrice = 2'000'000;

class Client {
  public:
    explicit Client(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    ~Client() { ::close(fd_); }

    void send(const Message& message) {
        std::array<std::byte, kLongestPossibleFrameBytes> frame{};
        const std::size_t size = encode(message, frame);
        REQUIRE(size > 0);
        REQUIRE(::send(fd_, frame.data(), size, MSG_NOSIGNAL) == static_cast<ssize_t>(size));
    }

    // The next message other than a Heartbeat, or nothing on timeout or close.
    std::optional<Message> receive() {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(kReceiveTimeoutMs);
        for (;;) {
            const DecodeResult result = decode(buffer_, kLongestPossibleFrameBytes, Sender::Server);
            if (result.status == DecodeStatus::Decoded) {
                buffer_.erase(buffer_.begin(),
                              buffer_.begin() + static_cast<std::ptrdiff_t>(result.consumed));
                if (std::holds_alternative<Heartbeat>(result.message)) {
                    continue;
                }
                return result.message;
            }
            REQUIRE(result.status == DecodeStatus::NeedMore);
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return std::nullopt;
            }
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                return std::nullopt;
            }
            std::array<std::byte, 4096> chunk{};
            const ssize_t got = ::recv(fd_, chunk.data(), chunk.size(), 0);
            if (got <= 0) {
                return std::nullopt;
            }
            buffer_.insert(buffer_.end(), chunk.begin(), chunk.begin() + got);
        }
    }

    template <typename T>
    T expect() {
        const std::optional<Message> message = receive();
        REQUIRE(message.has_value());
        INFO("received " << to_string(type_of(*message)));
        REQUIRE(std::holds_alternative<T>(*message));
        return std::get<T>(*message);
    }

    void login(std::string_view account, std::string_view secret) {
        Login message;
        REQUIRE(message.account_name.assign(account));
        REQUIRE(message.secret.assign(secret));
        send(message);
    }

  private:
    int fd_ = -1;
    std::vector<std::byte> buffer_;
};

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
                     "[instruments]\n"
                     "AMZN = id=1 tick_size=100 lot_size=1 min_price=1000000 max_price=4000000 "
                     "max_order_quantity=1000000\n"
                     "[accounts]\n"
                     "alice = id=1 secret=alice-secret\n"
                     "bob = id=2 secret=bob-secret\n");
}

struct Started {
    std::unique_ptr<test::DaemonProcess> daemon;
    std::uint16_t port;
};

Started start(const test::TempDir& dir, const std::string& config, const std::string& name) {
    const std::uint16_t port = test::free_port();
    auto daemon = std::make_unique<test::DaemonProcess>(
        std::vector<std::string>{"--config", config, "--data-dir", (dir.path() / "data").string(),
                                 "--listen", "127.0.0.1:" + std::to_string(port)},
        dir.path() / name);
    REQUIRE(daemon->await("exchanged: ready:"));
    INFO(daemon->output());
    REQUIRE(daemon->output().find("listen=127.0.0.1:" + std::to_string(port)) != std::string::npos);
    return Started{std::move(daemon), port};
}

}  // namespace

TEST_CASE("exchanged serves orders, fills, and keeps them across a restart", "[engine][daemon]") {
    test::TempDir dir;
    const std::string config = write_config(dir);
    OrderId resting_id = 0;
    {
        Started run = start(dir, config, "first.out");
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

    Started again = start(dir, config, "second.out");
    INFO(again.daemon->output());
    CHECK(again.daemon->output().find("recovered 4 records") != std::string::npos);
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
