#include "notify_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstring>

namespace exchanged::test {

NotifySocket::NotifySocket(const std::filesystem::path& path) : address_(path.string()) {
    bind_to(address_);
}

NotifySocket::NotifySocket() {
    static std::atomic<int> counter{0};
    const std::string name =
        "exchanged-notify-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    address_ = "@" + name;
    bind_to(std::string(1, '\0') + name);
}

NotifySocket::~NotifySocket() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    if (!address_.empty() && address_[0] == '/') {
        ::unlink(address_.c_str());
    }
}

void NotifySocket::bind_to(const std::string& sun_path_bytes) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(sun_path_bytes.size() < sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, sun_path_bytes.data(), sun_path_bytes.size());
    const auto length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + sun_path_bytes.size());
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), length) == 0);
}

std::optional<std::string> NotifySocket::receive(int timeout_ms) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) <= 0) {
        return std::nullopt;
    }
    std::array<char, 4096> buffer;
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n < 0) {
        return std::nullopt;
    }
    return std::string(buffer.data(), static_cast<std::size_t>(n));
}

}  // namespace exchanged::test
