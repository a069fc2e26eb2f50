// The client library against a scripted fake server on loopback: every way a server can fail the
// client (refusing, rejecting the login, saying Goodbye, closing, going silent, sending garbage)
// must be a ClientError of the right kind with a message that says so, never a crash.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "net/protocol.hpp"
#include "tools/client/client_connection.hpp"

using namespace exchanged;
using namespace exchanged::tools;

namespace {

// Listens on a loopback port and runs `script` on the first connection, in a thread.
class FakeServer {
  public:
    explicit FakeServer(std::function<void(int fd)> script) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
        socklen_t length = sizeof(addr);
        REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
        port_ = ntohs(addr.sin_port);
        REQUIRE(::listen(listener_, 1) == 0);
        thread_ = std::thread([this, script = std::move(script)] {
            const int fd = ::accept(listener_, nullptr, nullptr);
            if (fd >= 0) {
                script(fd);
                ::close(fd);
            }
        });
    }
    ~FakeServer() {
        thread_.join();
        ::close(listener_);
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

void send_bytes(int fd, const std::vector<std::byte>& bytes) {
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

void send_message(int fd, const net::Message& message) {
    std::vector<std::byte> frame(net::encoded_size(message));
    net::encode(message, frame);
    send_bytes(fd, frame);
}

// Reads whatever the client sent first (its Login).
void read_some(int fd) {
    std::array<std::byte, 512> buffer{};
    ::recv(fd, buffer.data(), buffer.size(), 0);
}

ClientErrorKind login_error(const FakeServer& server, std::string& message) {
    ClientConnection connection(server.address(), std::chrono::milliseconds(2000));
    try {
        connection.login("alice", "secret", std::chrono::milliseconds(300));
    } catch (const ClientError& error) {
        message = error.what();
        return error.kind();
    }
    FAIL("login succeeded");
    return ClientErrorKind::Connect;
}

}  // namespace

TEST_CASE("client: a refused connection names the address", "[tools][client]") {
    // Bind a port, then close it: nothing listens there.
    int port = 0;
    {
        FakeServer server([](int) {});
        port = std::stoi(server.address().substr(10));
        ClientConnection touch(server.address(), std::chrono::milliseconds(1000));
    }
    try {
        ClientConnection connection("127.0.0.1:" + std::to_string(port),
                                    std::chrono::milliseconds(1000));
        FAIL("connected");
    } catch (const ClientError& error) {
        CHECK(error.kind() == ClientErrorKind::Connect);
        CHECK(
            std::string(error.what()).find("cannot connect to 127.0.0.1:" + std::to_string(port)) !=
            std::string::npos);
    }
    CHECK_THROWS_AS(ClientConnection("no-port-here", std::chrono::milliseconds(100)), ClientError);
}

TEST_CASE("client: server failures become errors of the right kind", "[tools][client]") {
    std::string message;
    SECTION("login rejected, with the reason and text") {
        FakeServer server([](int fd) {
            read_some(fd);
            net::LoginRejected rejected;
            rejected.reason = net::LoginRejectReason::BadCredentials;
            rejected.text.assign("who are you");
            send_message(fd, rejected);
        });
        CHECK(login_error(server, message) == ClientErrorKind::LoginRejected);
        CHECK(message == "login as 'alice' rejected: bad_credentials (who are you)");
    }
    SECTION("goodbye") {
        FakeServer server([](int fd) {
            read_some(fd);
            net::Goodbye goodbye;
            goodbye.reason = net::GoodbyeReason::ShuttingDown;
            send_message(fd, goodbye);
        });
        CHECK(login_error(server, message) == ClientErrorKind::Goodbye);
        CHECK(message.find("Goodbye: shutting_down") != std::string::npos);
    }
    SECTION("closed") {
        FakeServer server([](int fd) { read_some(fd); });
        CHECK(login_error(server, message) == ClientErrorKind::Closed);
        CHECK(message.find("closed the connection") != std::string::npos);
    }
    SECTION("silent") {
        FakeServer server([](int fd) {
            read_some(fd);
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        });
        CHECK(login_error(server, message) == ClientErrorKind::Timeout);
        CHECK(message.find("timed out waiting for the answer to Login") != std::string::npos);
    }
    SECTION("garbage bytes") {
        FakeServer server([](int fd) {
            read_some(fd);
            send_bytes(fd, {std::byte{0x01}, std::byte{0x00}, std::byte{0x7f}});
        });
        CHECK(login_error(server, message) == ClientErrorKind::Malformed);
        CHECK(message.find("malformed frame") != std::string::npos);
        CHECK(message.find("unknown message type") != std::string::npos);
    }
    SECTION("a client's message from the server") {
        FakeServer server([](int fd) {
            read_some(fd);
            send_message(fd, net::NewOrder{});
        });
        CHECK(login_error(server, message) == ClientErrorKind::Malformed);
        CHECK(message.find("not sent by this side") != std::string::npos);
    }
    SECTION("a reply other than the login's answer") {
        FakeServer server([](int fd) {
            read_some(fd);
            send_message(fd, net::OrderStatus{});
        });
        CHECK(login_error(server, message) == ClientErrorKind::Malformed);
        CHECK(message.find("expected LoginAccepted") != std::string::npos);
    }
}

TEST_CASE("client: heartbeats are skipped and frames split across reads are joined",
          "[tools][client]") {
    FakeServer server([](int fd) {
        read_some(fd);
        net::LoginAccepted accepted;
        accepted.account_id = 7;
        accepted.heartbeat_interval_ms = 1000;
        std::vector<std::byte> bytes(net::encoded_size(net::Heartbeat{}));
        net::encode(net::Heartbeat{}, bytes);
        std::vector<std::byte> frame(net::encoded_size(accepted));
        net::encode(accepted, frame);
        bytes.insert(bytes.end(), frame.begin(), frame.end());
        // One byte at a time: the decoder must wait for whole frames.
        for (const std::byte b : bytes) {
            send_bytes(fd, {b});
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        read_some(fd);  // the client's Logout
        net::Goodbye goodbye;
        send_message(fd, goodbye);
    });
    ClientConnection connection(server.address(), std::chrono::milliseconds(1000));
    const net::LoginAccepted accepted =
        connection.login("alice", "secret", std::chrono::milliseconds(2000));
    CHECK(accepted.account_id == 7);
    CHECK(connection.heartbeat_interval_ms() == 1000);
    connection.logout(std::chrono::milliseconds(1000));
}

// The load's journal judges two leaders' terms by when replies arrived. A reply the client reads
// late (descheduled on a loaded machine) must keep the kernel's arrival time, not the read's.
TEST_CASE("client: a reply read late keeps the time the kernel received it", "[tools][client]") {
    const auto realtime_ns = [] {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    std::atomic<std::int64_t> sent_ns{0};
    FakeServer server([&](int fd) {
        read_some(fd);
        net::LoginAccepted accepted;
        accepted.heartbeat_interval_ms = 5000;
        send_message(fd, accepted);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        sent_ns = realtime_ns();
        send_message(fd, net::Goodbye{});
    });
    ClientConnection connection(server.address(), std::chrono::milliseconds(1000));
    CHECK(connection.received_at_ns() == 0);
    connection.login("alice", "secret", std::chrono::milliseconds(2000));
    const std::int64_t login_read_ns = connection.received_at_ns();
    CHECK(login_read_ns > 0);
    // The Goodbye arrives while this thread sleeps; it is read 400 ms after it was sent.
    std::this_thread::sleep_for(std::chrono::milliseconds(450));
    const std::int64_t read_ns = realtime_ns();
    CHECK_THROWS_AS(connection.receive(Clock::now() + std::chrono::seconds(2)), ClientError);
    const std::int64_t arrived_ns = connection.received_at_ns();
    INFO("sent " << sent_ns.load() << " arrived " << arrived_ns << " read " << read_ns);
    CHECK(arrived_ns >= sent_ns.load());
    CHECK(arrived_ns > login_read_ns);
    CHECK(read_ns - arrived_ns > 250'000'000);
}
