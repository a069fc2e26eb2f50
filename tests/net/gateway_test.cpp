// The gateway's session layer over loopback: a real Gateway on an OS-chosen port, io threads of
// its own, a fake OrderSink that answers at once, and plain blocking POSIX client sockets with a
// receive timeout so that no test can hang.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "net/gateway.hpp"
#include "net/protocol.hpp"
#include "service/gateway_settings.hpp"

using namespace exchanged;
using namespace exchanged::net;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Long enough for a loaded sanitizer build, short enough that a broken test fails fast.
constexpr int kReceiveTimeoutMs = 2000;

template <std::size_t N>
BoundedString<N> text(std::string_view value) {
    BoundedString<N> out;
    REQUIRE(out.assign(value));
    return out;
}

Login login(std::string_view name, std::string_view secret) {
    Login out;
    out.account_name = text<kMaxAccountNameBytes>(name);
    out.secret = text<kMaxSecretBytes>(secret);
    return out;
}

NewOrder new_order(ClientOrderId id) {
    NewOrder order;
    order.side = Side::Buy;
    order.instrument = 7;
    order.client_order_id = id;
    order.price = 100;
    order.quantity = 1;
    return order;
}

std::vector<std::byte> frame(const Message& message) {
    std::vector<std::byte> out(encoded_size(message));
    REQUIRE(encode(message, out) == out.size());
    return out;
}

// Records every request and answers a NewOrder with Accepted through Gateway::deliver, from the
// submitting thread, as the engine will do from its own.
class FakeSink : public OrderSink {
  public:
    struct Call {
        SessionId session;
        AccountId account;
        ClientRequest request;
    };

    SubmitResult submit(SessionId session, AccountId account,
                        const ClientRequest& request) override {
        {
            const std::lock_guard lock(mutex_);
            calls_.push_back(Call{session, account, request});
        }
        if (answer_busy.load()) {
            return SubmitResult::Busy;
        }
        if (const auto* order = std::get_if<NewOrder>(&request); order != nullptr && gateway) {
            Accepted accepted;
            accepted.side = order->side;
            accepted.instrument = order->instrument;
            accepted.client_order_id = order->client_order_id;
            accepted.order_id = order->client_order_id + 1000;
            accepted.price = order->price;
            accepted.quantity = order->quantity;
            gateway->deliver(session, accepted);
        }
        return SubmitResult::Queued;
    }

    bool on_login(SessionId session, AccountId /*account*/) override {
        if (refuse_logins.load()) {
            return false;
        }
        const std::lock_guard lock(mutex_);
        logins_.push_back(session);
        return true;
    }

    void on_logout(SessionId /*session*/, AccountId /*account*/) override { ++logouts; }

    std::vector<Call> calls() const {
        const std::lock_guard lock(mutex_);
        return calls_;
    }

    // The sessions logged in so far, in login order.
    std::vector<SessionId> logins() const {
        const std::lock_guard lock(mutex_);
        return logins_;
    }

    Gateway* gateway = nullptr;
    std::atomic<bool> answer_busy{false};
    // As the engine does when an account has kMaxSessionsPerAccount sessions already.
    std::atomic<bool> refuse_logins{false};
    std::atomic<int> logouts{0};

  private:
    mutable std::mutex mutex_;
    std::vector<Call> calls_;
    std::vector<SessionId> logins_;
};

GatewayOptions test_options() {
    GatewayOptions options;
    options.listen_host = "127.0.0.1";
    options.listen_port = 0;
    options.max_sessions = 8;
    options.heartbeat_interval_ms = 1000;
    options.accounts = {{"alice", 11, "alice-secret"}, {"bob", 12, "bob-secret"}};
    return options;
}

// A gateway on two io threads (so sessions really run concurrently) and a log it keeps.
class Harness {
  public:
    explicit Harness(GatewayOptions options = test_options()) {
        options.log = [this](std::string_view line) {
            const std::lock_guard lock(log_mutex_);
            log_.emplace_back(line);
        };
        gateway_.emplace(io_, std::move(options), sink);
        sink.gateway = &*gateway_;
        gateway_->start();
        for (auto& thread : threads_) {
            thread = std::thread([this] { io_.run(); });
        }
    }
    ~Harness() {
        gateway_->stop();
        work_.reset();
        // Sessions linger at most a heartbeat interval after the Goodbye; then the context runs
        // out.
        for (auto& thread : threads_) {
            thread.join();
        }
    }

    Gateway& gateway() { return *gateway_; }
    std::uint16_t port() { return gateway_->port(); }

    bool log_contains(std::string_view needle) const {
        const std::lock_guard lock(log_mutex_);
        for (const std::string& line : log_) {
            if (line.find(needle) != std::string::npos) {
                return true;
            }
        }
        return false;
    }

    // Polls until `condition` holds or the timeout passes.
    template <typename Condition>
    static bool wait_for(Condition condition,
                         milliseconds timeout = milliseconds(kReceiveTimeoutMs)) {
        const auto deadline = Clock::now() + timeout;
        while (!condition()) {
            if (Clock::now() > deadline) {
                return false;
            }
            std::this_thread::sleep_for(milliseconds(1));
        }
        return true;
    }

    FakeSink sink;

  private:
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
        io_.get_executor()};
    std::optional<Gateway> gateway_;
    std::thread threads_[2];
    mutable std::mutex log_mutex_;
    std::vector<std::string> log_;
};

class Client {
  public:
    explicit Client(std::uint16_t port, int receive_buffer_bytes = 0) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        timeval timeout{kReceiveTimeoutMs / 1000, (kReceiveTimeoutMs % 1000) * 1000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        if (receive_buffer_bytes > 0) {
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes,
                         sizeof receive_buffer_bytes);
        }
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    }
    ~Client() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // False when the connection broke (the server closed it).
    bool send_bytes(const std::vector<std::byte>& bytes) {
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            sent += static_cast<std::size_t>(n);
        }
        return true;
    }
    bool send(const Message& message) { return send_bytes(frame(message)); }

    // The next message, or nothing on EOF, error or timeout.
    std::optional<Message> receive() {
        bool malformed = false;
        std::optional<Message> message = receive_unchecked(malformed);
        REQUIRE_FALSE(malformed);
        return message;
    }

    // As receive(), without Catch's assertions, which are not thread-safe: for reader threads.
    // A malformed frame sets `malformed` and returns nothing.
    std::optional<Message> receive_unchecked(bool& malformed) {
        for (;;) {
            const DecodeResult result = decode(std::span(buffer_.data(), buffer_.size()),
                                               kLongestPossibleFrameBytes, Sender::Server);
            if (result.status == DecodeStatus::Malformed) {
                malformed = true;
                return std::nullopt;
            }
            if (result.status == DecodeStatus::Decoded) {
                buffer_.erase(buffer_.begin(),
                              buffer_.begin() + static_cast<std::ptrdiff_t>(result.consumed));
                return result.message;
            }
            std::byte chunk[65536];
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) {
                return std::nullopt;
            }
            buffer_.insert(buffer_.end(), chunk, chunk + n);
        }
    }

    // The next message other than a Heartbeat (unless T is one): the gateway sends one after
    // every quiet heartbeat interval, which a slow run (TSan) can let pass between two steps.
    template <typename T>
    T receive_as() {
        std::optional<Message> message = receive();
        while (!std::is_same_v<T, Heartbeat> && message.has_value() &&
               std::holds_alternative<Heartbeat>(*message)) {
            message = receive();
        }
        REQUIRE(message.has_value());
        INFO("got " << to_string(type_of(*message)));
        REQUIRE(std::holds_alternative<T>(*message));
        return std::get<T>(*message);
    }

    void close() {
        ::close(fd_);
        fd_ = -1;
    }

    // True when the server closed the connection (EOF or reset) with nothing more to read.
    bool closed_by_server() {
        std::optional<Message> extra = receive();
        if (extra) {
            UNSCOPED_INFO("unexpected " << to_string(type_of(*extra)));
            return false;
        }
        return errno != EAGAIN && errno != EWOULDBLOCK;
    }

    void log_in(std::string_view name = "alice", std::string_view secret = "alice-secret") {
        REQUIRE(send(login(name, secret)));
        receive_as<LoginAccepted>();
    }

  private:
    int fd_ = -1;
    std::vector<std::byte> buffer_;
};

}  // namespace

TEST_CASE("gateway: login with the right secret is accepted with account and interval",
          "[net][gateway]") {
    Harness harness;
    Client client(harness.port());
    REQUIRE(client.send(login("bob", "bob-secret")));
    const auto accepted = client.receive_as<LoginAccepted>();
    CHECK(accepted.account_id == 12);
    CHECK(accepted.heartbeat_interval_ms == 1000);
    CHECK(accepted.max_frame_bytes == kDefaultMaxFrameBytes);
    CHECK(accepted.protocol_version == kProtocolVersion);

    // Orders now reach the sink under the session's account, and a Logout ends it politely.
    REQUIRE(client.send(new_order(5)));
    CHECK(client.receive_as<Accepted>().client_order_id == 5);
    const auto calls = harness.sink.calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].account == 12);
    REQUIRE(client.send(Logout{}));
    CHECK(client.receive_as<Goodbye>().reason == GoodbyeReason::Logout);
    CHECK(client.closed_by_server());
    client.close();
    CHECK(Harness::wait_for([&] { return harness.gateway().session_count() == 0; }));
}

TEST_CASE("gateway: a wrong secret and an unknown account get the same LoginRejected",
          "[net][gateway]") {
    Harness harness;
    for (const auto& [name, secret] :
         {std::pair{"alice", "bob-secret"}, std::pair{"alice", "alice-secre"},
          std::pair{"alice", "alice-secretX"}, std::pair{"mallory", "alice-secret"},
          std::pair{"", ""}}) {
        INFO(name << " / " << secret);
        Client client(harness.port());
        REQUIRE(client.send(login(name, secret)));
        const auto rejected = client.receive_as<LoginRejected>();
        CHECK(rejected.reason == LoginRejectReason::BadCredentials);
        CHECK(client.closed_by_server());
    }
    CHECK(harness.gateway().stats().logins_rejected == 5);
    CHECK(harness.log_contains("login for 'mallory' refused: bad credentials"));
    CHECK(harness.sink.calls().empty());
}

TEST_CASE("gateway: order messages before login are rejected with not_logged_in",
          "[net][gateway]") {
    Harness harness;
    Client client(harness.port());
    REQUIRE(client.send(new_order(42)));
    const auto first = client.receive_as<Rejected>();
    CHECK(first.reason == RejectCode::NotLoggedIn);
    CHECK(first.client_id == 42);
    CHECK(first.request_type == MessageType::NewOrder);

    Cancel cancel;
    cancel.instrument = 7;
    cancel.client_request_id = 9;
    cancel.order_id = 1234;
    REQUIRE(client.send(cancel));
    const auto second = client.receive_as<Rejected>();
    CHECK(second.reason == RejectCode::NotLoggedIn);
    CHECK(second.client_id == 9);
    CHECK(second.order_id == 1234);
    CHECK(second.request_type == MessageType::Cancel);
    CHECK(harness.sink.calls().empty());

    // The session is still open and can log in afterwards.
    client.log_in();
    REQUIRE(client.send(new_order(43)));
    CHECK(client.receive_as<Accepted>().client_order_id == 43);
}

TEST_CASE("gateway: a second Login ends the session with protocol_violation", "[net][gateway]") {
    Harness harness;
    Client client(harness.port());
    client.log_in();
    REQUIRE(client.send(login("alice", "alice-secret")));
    CHECK(client.receive_as<Goodbye>().reason == GoodbyeReason::ProtocolViolation);
    CHECK(client.closed_by_server());
}

TEST_CASE("gateway: a busy sink turns into Rejected(busy) at once", "[net][gateway]") {
    Harness harness;
    harness.sink.answer_busy = true;
    Client client(harness.port());
    client.log_in();
    REQUIRE(client.send(new_order(77)));
    const auto rejected = client.receive_as<Rejected>();
    CHECK(rejected.reason == reject_code(book::RejectReason::Busy));
    CHECK(rejected.client_id == 77);
}

TEST_CASE("gateway: 1,000 pipelined NewOrders in one write arrive in order and all are answered",
          "[net][gateway]") {
    Harness harness;
    Client client(harness.port());
    client.log_in();
    constexpr ClientOrderId kOrders = 1000;
    std::vector<std::byte> burst;
    for (ClientOrderId id = 1; id <= kOrders; ++id) {
        const auto one = frame(new_order(id));
        burst.insert(burst.end(), one.begin(), one.end());
    }
    REQUIRE(client.send_bytes(burst));
    for (ClientOrderId id = 1; id <= kOrders; ++id) {
        const auto accepted = client.receive_as<Accepted>();
        REQUIRE(accepted.client_order_id == id);
        REQUIRE(accepted.order_id == id + 1000);
    }
    const auto calls = harness.sink.calls();
    REQUIRE(calls.size() == kOrders);
    for (ClientOrderId id = 1; id <= kOrders; ++id) {
        const auto* order = std::get_if<NewOrder>(&calls[id - 1].request);
        REQUIRE(order != nullptr);
        REQUIRE(order->client_order_id == id);
        REQUIRE(calls[id - 1].account == 11);
    }
}

TEST_CASE("gateway: a malformed frame closes the session with the decoder's reason",
          "[net][gateway]") {
    Harness harness;
    SECTION("zero length") {
        Client client(harness.port());
        client.log_in();
        REQUIRE(client.send_bytes({std::byte{0}, std::byte{0}}));
        const auto goodbye = client.receive_as<Goodbye>();
        CHECK(goodbye.reason == GoodbyeReason::MalformedFrame);
        CHECK(goodbye.text.view() == to_string(MalformedReason::ZeroLength));
        CHECK(client.closed_by_server());
        CHECK(harness.log_contains(to_string(MalformedReason::ZeroLength)));
    }
    SECTION("a server message type from a client, after good frames in the same write") {
        Client client(harness.port());
        client.log_in();
        auto bytes = frame(new_order(1));
        const auto bad = frame(Accepted{});
        bytes.insert(bytes.end(), bad.begin(), bad.end());
        REQUIRE(client.send_bytes(bytes));
        // The order reached the sink, but its answer, delivered after the session ended, is
        // dropped: the Goodbye is the last message.
        const auto goodbye = client.receive_as<Goodbye>();
        CHECK(goodbye.reason == GoodbyeReason::MalformedFrame);
        CHECK(goodbye.text.view() == to_string(MalformedReason::WrongSender));
        CHECK(client.closed_by_server());
        CHECK(harness.log_contains(to_string(MalformedReason::WrongSender)));
        REQUIRE(harness.sink.calls().size() == 1);
        CHECK(std::get<NewOrder>(harness.sink.calls()[0].request).client_order_id == 1);
    }
    CHECK(harness.gateway().stats().malformed_frames == 1);
}

TEST_CASE("gateway: heartbeats flow and a silent session expires after three intervals",
          "[net][gateway]") {
    GatewayOptions options = test_options();
    options.heartbeat_interval_ms = 50;
    Harness harness(options);
    Client client(harness.port());
    const auto start = Clock::now();
    client.log_in();
    int heartbeats = 0;
    std::optional<Goodbye> goodbye;
    // Bounded, so that a gateway that never expires the session fails here instead of looping
    // on its heartbeats; generous, so that a loaded machine cannot make it flake.
    const auto give_up = start + milliseconds(10'000);
    while (auto message = client.receive()) {
        if (Clock::now() > give_up) {
            break;
        }
        if (std::holds_alternative<Heartbeat>(*message)) {
            ++heartbeats;
        } else {
            REQUIRE(std::holds_alternative<Goodbye>(*message));
            goodbye = std::get<Goodbye>(*message);
            break;
        }
    }
    const auto elapsed = Clock::now() - start;
    REQUIRE(goodbye.has_value());
    CHECK(goodbye->reason == GoodbyeReason::HeartbeatTimeout);
    CHECK(heartbeats >= 1);
    // Never early: three intervals of silence at least (a late expiry is the machine's load).
    CHECK(elapsed >= milliseconds(150));
    CHECK(client.closed_by_server());
    CHECK(harness.gateway().stats().heartbeat_timeouts == 1);
}

TEST_CASE("gateway: a client that heartbeats stays connected", "[net][gateway]") {
    GatewayOptions options = test_options();
    options.heartbeat_interval_ms = 100;
    Harness harness(options);
    Client client(harness.port());
    client.log_in();
    // A heartbeat every 10 ms for longer than the 300 ms timeout: only a gateway whose timer the
    // heartbeats do not reset drops the session; a flake needs one 290 ms stall of this thread.
    const auto start = Clock::now();
    while (Clock::now() - start < milliseconds(450)) {
        std::this_thread::sleep_for(milliseconds(10));
        REQUIRE(client.send(Heartbeat{}));
    }
    REQUIRE(client.send(new_order(3)));
    // Server heartbeats may come first; the order's answer must still come.
    for (;;) {
        auto message = client.receive();
        REQUIRE(message.has_value());
        if (std::holds_alternative<Heartbeat>(*message)) {
            continue;
        }
        REQUIRE(std::holds_alternative<Accepted>(*message));
        break;
    }
    CHECK(harness.gateway().stats().heartbeat_timeouts == 0);
}

TEST_CASE("gateway: connections beyond max_sessions get a Goodbye and are closed",
          "[net][gateway]") {
    GatewayOptions options = test_options();
    options.max_sessions = 2;
    options.heartbeat_interval_ms = 200;  // the over-limit connection lingers at most this long
    Harness harness(options);
    Client first(harness.port());
    first.log_in();
    Client second(harness.port());
    second.log_in("bob", "bob-secret");

    {
        Client third(harness.port());
        const auto goodbye = third.receive_as<Goodbye>();
        CHECK(goodbye.reason == GoodbyeReason::Unavailable);
        CHECK(goodbye.text.view() == "too many sessions");
        CHECK(third.closed_by_server());
    }
    CHECK(harness.gateway().stats().sessions_over_limit == 1);
    CHECK(harness.log_contains("max_sessions (2) reached"));

    // A slot freed by a Logout is usable again.
    REQUIRE(first.send(Logout{}));
    CHECK(first.receive_as<Goodbye>().reason == GoodbyeReason::Logout);
    first.close();
    REQUIRE(Harness::wait_for([&] { return harness.gateway().session_count() == 1; }));
    Client fourth(harness.port());
    fourth.log_in();
}

TEST_CASE("gateway: a client that never reads is disconnected, its buffer bounded",
          "[net][gateway]") {
    GatewayOptions options = test_options();
    options.outgoing_buffer_bytes = 16 * 1024;
    options.delivery_queue_messages = 4096;
    options.socket_send_buffer_bytes = 4096;
    Harness harness(options);
    Client client(harness.port(), 4096);
    client.log_in();
    // 20,000 orders ask for ~960 KB of Accepted, far beyond what the buffers, the delivery queue
    // and the kernel hold.
    std::vector<std::byte> burst;
    for (ClientOrderId id = 1; id <= 20000; ++id) {
        const auto one = frame(new_order(id));
        burst.insert(burst.end(), one.begin(), one.end());
    }
    const auto start = Clock::now();
    client.send_bytes(burst);  // may fail part-way once the server has cut the connection
    REQUIRE(Harness::wait_for([&] { return harness.gateway().stats().slow_consumers == 1; }));
    CHECK(Harness::wait_for([&] { return harness.gateway().session_count() == 0; }));
    CHECK(Clock::now() - start < milliseconds(10 * kReceiveTimeoutMs));
    CHECK(harness.log_contains("slow consumer"));
}

TEST_CASE("gateway: deliver() to a closed or unknown session is harmless", "[net][gateway]") {
    Harness harness;
    Client client(harness.port());
    client.log_in();
    REQUIRE(client.send(new_order(1)));
    client.receive_as<Accepted>();
    const SessionId session = harness.sink.calls().at(0).session;

    // The engine keeps delivering from its own thread while the session ends. Paced: a flood
    // faster than the client reads would fill the session's delivery queue and end it as a slow
    // consumer instead (tested below).
    std::atomic<bool> done{false};
    std::thread engine([&] {
        ClientOrderId id = 100;
        while (!done.load()) {
            harness.gateway().deliver(session, Accepted{Side::Buy, 7, id++, 1, 1, 1, 0});
            std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
    });
    REQUIRE(client.send(Logout{}));
    for (;;) {
        auto message = client.receive();
        REQUIRE(message.has_value());
        if (std::holds_alternative<Goodbye>(*message)) {
            CHECK(std::get<Goodbye>(*message).reason == GoodbyeReason::Logout);
            break;
        }
        REQUIRE(std::holds_alternative<Accepted>(*message));
    }
    CHECK(client.closed_by_server());
    client.close();  // the session lingers for the client's close after its Goodbye
    REQUIRE(Harness::wait_for([&] { return harness.gateway().session_count() == 0; }));
    done = true;
    engine.join();

    CHECK_FALSE(harness.gateway().deliver(session, Heartbeat{}));
    CHECK_FALSE(harness.gateway().deliver(987654, Heartbeat{}));
    CHECK(harness.gateway().stats().deliveries_dropped >= 2);
}

TEST_CASE("gateway: options come from [server] and [accounts]", "[net][gateway]") {
    exchanged::ServerConfig server;
    server.listen = {"127.0.0.1", 0};
    server.max_sessions = 3;
    server.heartbeat_interval_ms = 250;
    server.max_frame_bytes = 512;
    std::vector<exchanged::AccountConfig> accounts(1);
    accounts[0].name = "carol";
    accounts[0].id = 33;
    accounts[0].secret = "s3";
    const GatewayOptions options = service::gateway_options(server, accounts);
    CHECK(options.listen_host == "127.0.0.1");
    CHECK(options.max_sessions == 3);
    CHECK(options.heartbeat_interval_ms == 250);
    CHECK(options.max_frame_bytes == 512);
    REQUIRE(options.accounts.size() == 1);
    CHECK(options.accounts[0].name == "carol");

    Harness harness(options);
    Client client(harness.port());
    REQUIRE(client.send(login("carol", "s3")));
    const auto accepted = client.receive_as<LoginAccepted>();
    CHECK(accepted.account_id == 33);
    CHECK(accepted.heartbeat_interval_ms == 250);
    CHECK(accepted.max_frame_bytes == 512);
}

TEST_CASE("gateway: a login the engine cannot serve gets LoginRejected(too_many_sessions)",
          "[net][gateway]") {
    Harness harness;
    harness.sink.refuse_logins = true;
    Client client(harness.port());
    REQUIRE(client.send(login("alice", "alice-secret")));
    const auto rejected = client.receive_as<LoginRejected>();
    CHECK(rejected.reason == LoginRejectReason::TooManySessions);
    CHECK(rejected.text.view() ==
          "more than " + std::to_string(kMaxSessionsPerAccount) + " sessions of this account");
    CHECK(client.closed_by_server());
    client.close();
    REQUIRE(Harness::wait_for([&] { return harness.gateway().session_count() == 0; }));
    CHECK(harness.gateway().stats().logins_rejected == 1);
    CHECK(harness.gateway().stats().logins_accepted == 0);
    CHECK(harness.log_contains("login for 'alice' refused: the account already has 32 sessions"));
    // Never logged in, so never logged out either.
    CHECK(harness.sink.logouts == 0);

    // Once the engine has room again, the account logs in as usual.
    harness.sink.refuse_logins = false;
    Client again(harness.port());
    again.log_in();
}

// A leader paused between a reply's release and its write must not send it once its lease lapsed:
// the last check before the socket closes the session instead.
TEST_CASE("gateway: a write that may_write refuses closes the session with nothing written",
          "[net][gateway]") {
    auto writable = std::make_shared<std::atomic<bool>>(true);
    GatewayOptions options = test_options();
    options.may_write = [writable] { return writable->load(); };
    Harness harness(options);
    Client client(harness.port());
    client.log_in();
    const SessionId id = harness.sink.logins().at(0);
    REQUIRE(harness.gateway().deliver(id, Heartbeat{}));
    client.receive_as<Heartbeat>();

    writable->store(false);
    REQUIRE(harness.gateway().deliver(id, Heartbeat{}));
    CHECK(client.closed_by_server());
    REQUIRE(Harness::wait_for([&] { return harness.gateway().session_count() == 0; }));
    CHECK(harness.log_contains("not written: this leader's lease has lapsed"));

    writable->store(true);
    Client again(harness.port());
    again.log_in();
}

TEST_CASE("gateway: deliver() to a closed or stale session returns false and counts each",
          "[net][gateway]") {
    GatewayOptions options = test_options();
    options.max_sessions = 1;  // the second session reuses the first one's slot
    Harness harness(options);
    SessionId first_id = 0;
    {
        Client first(harness.port());
        first.log_in();
        first_id = harness.sink.logins().at(0);
        REQUIRE(harness.gateway().deliver(first_id, Heartbeat{}));
        first.receive_as<Heartbeat>();
        REQUIRE(first.send(Logout{}));
        CHECK(first.receive_as<Goodbye>().reason == GoodbyeReason::Logout);
    }
    REQUIRE(Harness::wait_for([&] { return harness.gateway().session_count() == 0; }));
    const std::uint64_t dropped_before = harness.gateway().stats().deliveries_dropped;
    CHECK_FALSE(harness.gateway().deliver(first_id, Heartbeat{}));
    CHECK_FALSE(harness.gateway().deliver(first_id, Heartbeat{}));
    CHECK_FALSE(harness.gateway().deliver(0, Heartbeat{}));
    CHECK(harness.gateway().stats().deliveries_dropped == dropped_before + 3);

    // The same slot under a new id: the old id still reaches nothing.
    Client second(harness.port());
    second.log_in();
    const SessionId second_id = harness.sink.logins().at(1);
    CHECK(second_id != first_id);
    CHECK_FALSE(harness.gateway().deliver(first_id, Heartbeat{}));
    CHECK(harness.gateway().stats().deliveries_dropped == dropped_before + 4);
    Fill fill;
    fill.trade_id = 99;
    REQUIRE(harness.gateway().deliver(second_id, fill));
    CHECK(second.receive_as<Fill>().trade_id == 99);
}

TEST_CASE("gateway: a session whose delivery queue fills is disconnected, deliver never waits",
          "[net][gateway]") {
    GatewayOptions options = test_options();
    options.delivery_queue_messages = 16;
    options.socket_send_buffer_bytes = 4096;
    Harness harness(options);
    Client client(harness.port(), 4096);  // logs in, then never reads again
    client.log_in();
    const SessionId session = harness.sink.logins().at(0);

    std::uint64_t refused = 0;
    std::uint64_t calls = 0;
    const auto start = Clock::now();
    Fill fill;
    while (harness.gateway().session_count() != 0 &&
           Clock::now() - start < milliseconds(kReceiveTimeoutMs)) {
        ++calls;
        if (!harness.gateway().deliver(session, fill)) {
            ++refused;
        }
    }
    CHECK(harness.gateway().session_count() == 0);
    CHECK(refused >= 1);
    CHECK(harness.gateway().stats().slow_consumers == 1);
    CHECK(harness.log_contains("slow consumer"));
    // Every refused call was counted, and so was what the queue held when the session closed.
    CHECK(harness.gateway().stats().deliveries_dropped >= refused);
    CHECK_FALSE(harness.gateway().deliver(session, fill));
    INFO(calls << " calls");
}

TEST_CASE(
    "gateway: deliveries from several threads to many sessions all arrive, in order per thread",
    "[net][gateway]") {
    constexpr int kSessions = 12;
    constexpr int kProducers = 4;
    constexpr std::uint64_t kPerProducerPerSession = 2000;
    GatewayOptions options = test_options();
    options.max_sessions = kSessions;
    options.heartbeat_interval_ms = 10000;  // no heartbeat comes between the fills
    // Room for everything at once, so that however the threads are scheduled nothing overflows.
    options.delivery_queue_messages = kProducers * kPerProducerPerSession;
    options.outgoing_buffer_bytes = 2 * 1024 * 1024;
    Harness harness(options);

    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < kSessions; ++i) {
        clients.push_back(std::make_unique<Client>(harness.port()));
        if (i % 2 == 0) {
            clients.back()->log_in();
        } else {
            clients.back()->log_in("bob", "bob-secret");
        }
    }
    const std::vector<SessionId> sessions = harness.sink.logins();
    REQUIRE(sessions.size() == kSessions);

    // Each client checks, per producer, that trade ids come 0, 1, 2, ... with no gap.
    std::atomic<int> failures{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < kSessions; ++i) {
        readers.emplace_back([&, i] {
            std::vector<std::uint64_t> next(kProducers, 0);
            for (std::uint64_t n = 0; n < kProducers * kPerProducerPerSession; ++n) {
                bool malformed = false;
                std::optional<Message> message =
                    clients[static_cast<std::size_t>(i)]->receive_unchecked(malformed);
                if (!message || !std::holds_alternative<Fill>(*message)) {
                    ++failures;
                    return;
                }
                const Fill& fill = std::get<Fill>(*message);
                if (fill.order_id >= kProducers || fill.trade_id != next[fill.order_id]++) {
                    ++failures;
                    return;
                }
            }
        });
    }
    std::atomic<std::uint64_t> refused{0};
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
        producers.emplace_back([&, p] {
            Fill fill;
            fill.order_id = static_cast<OrderId>(p);
            // Interleaved over the sessions, as an engine's fills for many accounts would be.
            for (std::uint64_t seq = 0; seq < kPerProducerPerSession; ++seq) {
                fill.trade_id = seq;
                for (const SessionId session : sessions) {
                    if (!harness.gateway().deliver(session, fill)) {
                        ++refused;
                    }
                }
            }
        });
    }
    for (auto& producer : producers) {
        producer.join();
    }
    for (auto& reader : readers) {
        reader.join();
    }
    CHECK(refused == 0);
    CHECK(failures == 0);
    const GatewayStats stats = harness.gateway().stats();
    CHECK(stats.deliveries_dropped == 0);
    CHECK(stats.slow_consumers == 0);
    CHECK(harness.gateway().session_count() == kSessions);
}
