#include "wire_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstddef>

namespace exchanged::test {

WireClient::WireClient(std::uint16_t port) {
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

WireClient::~WireClient() {
    ::close(fd_);
}

void WireClient::send(const net::Message& message) {
    std::array<std::byte, net::kLongestPossibleFrameBytes> frame{};
    const std::size_t size = net::encode(message, frame);
    REQUIRE(size > 0);
    REQUIRE(::send(fd_, frame.data(), size, MSG_NOSIGNAL) == static_cast<ssize_t>(size));
}

std::optional<net::Message> WireClient::receive(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const net::DecodeResult result =
            net::decode(buffer_, net::kLongestPossibleFrameBytes, net::Sender::Server);
        if (result.status == net::DecodeStatus::Decoded) {
            buffer_.erase(buffer_.begin(),
                          buffer_.begin() + static_cast<std::ptrdiff_t>(result.consumed));
            if (std::holds_alternative<net::Heartbeat>(result.message)) {
                continue;
            }
            return result.message;
        }
        REQUIRE(result.status == net::DecodeStatus::NeedMore);
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

void WireClient::login(std::string_view account, std::string_view secret) {
    net::Login message;
    REQUIRE(message.account_name.assign(account));
    REQUIRE(message.secret.assign(secret));
    send(message);
}

ServingDaemon serve_daemon(const TempDir& dir, const std::string& config,
                           const std::string& output_name) {
    return serve_daemon(dir, config, output_name, {});
}

ServingDaemon serve_daemon(const TempDir& dir, const std::string& config,
                           const std::string& output_name, const std::vector<std::string>& extra) {
    const std::uint16_t port = free_port();
    std::vector<std::string> args{"--config",   config,
                                  "--data-dir", (dir.path() / "data").string(),
                                  "--listen",   "127.0.0.1:" + std::to_string(port)};
    args.insert(args.end(), extra.begin(), extra.end());
    auto daemon = std::make_unique<DaemonProcess>(args, dir.path() / output_name);
    INFO(daemon->output());
    REQUIRE(daemon->await("exchanged: ready:"));
    REQUIRE(daemon->output().find("listen=127.0.0.1:" + std::to_string(port)) != std::string::npos);
    return ServingDaemon{std::move(daemon), port};
}

}  // namespace exchanged::test
