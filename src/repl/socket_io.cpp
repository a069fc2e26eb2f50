#include "repl/socket_io.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace exchanged::repl {

Socket::~Socket() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Socket& Socket::operator=(Socket&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = other.release();
    }
    return *this;
}

void Socket::shutdown_both() const {
    if (fd_ >= 0) {
        ::shutdown(fd_, SHUT_RDWR);
    }
}

namespace {

std::string where(const std::string& host, std::uint16_t port) {
    return host + ":" + std::to_string(port);
}

addrinfo* resolve(const std::string& host, std::uint16_t port, bool passive) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
    if (rc != 0) {
        throw std::runtime_error("replication address " + where(host, port) + ": " +
                                 ::gai_strerror(rc));
    }
    return found;
}

void no_delay(int fd) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

Socket connect_to(const std::string& host, std::uint16_t port) {
    addrinfo* found = resolve(host, port, false);
    int error = 0;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        Socket socket(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
        if (!socket.valid()) {
            error = errno;
            continue;
        }
        if (::connect(socket.fd(), a->ai_addr, a->ai_addrlen) == 0) {
            ::freeaddrinfo(found);
            no_delay(socket.fd());
            return socket;
        }
        error = errno;
    }
    ::freeaddrinfo(found);
    throw std::runtime_error("connecting to " + where(host, port) + ": " + std::strerror(error));
}

Socket listen_on(const std::string& host, std::uint16_t port) {
    addrinfo* found = resolve(host, port, true);
    int error = 0;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        Socket socket(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
        if (!socket.valid()) {
            error = errno;
            continue;
        }
        const int one = 1;
        ::setsockopt(socket.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (::bind(socket.fd(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(socket.fd(), 8) == 0) {
            ::freeaddrinfo(found);
            return socket;
        }
        error = errno;
    }
    ::freeaddrinfo(found);
    throw std::runtime_error("listening on " + where(host, port) + ": " + std::strerror(error));
}

Socket accept_one(const Socket& listener) {
    while (true) {
        const int fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
            no_delay(fd);
            return Socket(fd);
        }
        if (errno != EINTR && errno != ECONNABORTED) {
            return Socket();
        }
    }
}

bool write_all(const Socket& socket, std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(socket.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return true;
}

std::size_t read_some(const Socket& socket, std::span<std::byte> out) {
    while (true) {
        const ssize_t n = ::recv(socket.fd(), out.data(), out.size(), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n > 0 ? static_cast<std::size_t>(n) : 0;
    }
}

}  // namespace exchanged::repl
