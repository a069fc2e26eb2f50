#include "ops/service_notifier.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <spdlog/spdlog.h>

namespace exchanged::ops {
namespace {

// Closes the socket on every way out of notify().
struct SocketFd {
    int fd;
    ~SocketFd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

}  // namespace

ServiceNotifier::ServiceNotifier(std::string socket_path, ErrorReport on_error)
    : socket_path_(std::move(socket_path)), on_error_(std::move(on_error)) {}

ServiceNotifier ServiceNotifier::from_environment(ErrorReport on_error) {
    const char* socket_path = std::getenv("NOTIFY_SOCKET");
    return ServiceNotifier(socket_path != nullptr ? socket_path : "", std::move(on_error));
}

bool ServiceNotifier::ready(std::string_view status) {
    return notify("READY=1\nSTATUS=" + status_line(status));
}

bool ServiceNotifier::stopping(std::string_view status) {
    return notify("STOPPING=1\nSTATUS=" + status_line(status));
}

bool ServiceNotifier::status(std::string_view status) {
    return notify("STATUS=" + status_line(status));
}

bool ServiceNotifier::progress(std::string_view status, std::chrono::microseconds extension) {
    return notify("STATUS=" + status_line(status) +
                  "\nEXTEND_TIMEOUT_USEC=" + std::to_string(extension.count()));
}

bool ServiceNotifier::notify(std::string_view state) {
    if (!enabled()) {
        return false;
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    // systemd also hands out "vsock:" addresses (to virtual machines); a daemon on a host or in a
    // container is given a path or an abstract name.
    if (socket_path_[0] != '/' && socket_path_[0] != '@') {
        report_once("NOTIFY_SOCKET=" + socket_path_ + " is not a unix socket path");
        return false;
    }
    if (socket_path_.size() >= sizeof(address.sun_path)) {
        report_once("NOTIFY_SOCKET=" + socket_path_ + " is too long for a unix socket address");
        return false;
    }
    std::memcpy(address.sun_path, socket_path_.data(), socket_path_.size());
    socklen_t length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());
    if (socket_path_[0] == '@') {
        address.sun_path[0] = '\0';  // abstract: the name is exactly the bytes that follow
    } else {
        ++length;  // a path counts its terminating NUL, as systemd's own client does
    }

    // A socket per message, as libsystemd does: notifications are rare and may come from any
    // thread, and there is nothing to keep open between them.
    const SocketFd socket{::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    if (socket.fd < 0) {
        report_once(std::string("cannot create a notification socket: ") + std::strerror(errno));
        return false;
    }
    const ssize_t sent = ::sendto(socket.fd, state.data(), state.size(), MSG_NOSIGNAL,
                                  reinterpret_cast<const sockaddr*>(&address), length);
    if (sent != static_cast<ssize_t>(state.size())) {
        report_once("cannot notify the service manager at " + socket_path_ + ": " +
                    (sent < 0 ? std::strerror(errno) : "short write"));
        return false;
    }
    return true;
}

void ServiceNotifier::report_once(const std::string& error) {
    if (!error_reported_.exchange(true) && on_error_) {
        on_error_(error);
    }
}

std::string status_line(std::string_view text) {
    std::string line(text);
    for (char& c : line) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    return line;
}

ServiceNotifier& service_notifier() {
    static ServiceNotifier notifier = ServiceNotifier::from_environment([](std::string_view error) {
        spdlog::warn("sd_notify: {} (further notification errors are not logged)", error);
    });
    return notifier;
}

}  // namespace exchanged::ops
