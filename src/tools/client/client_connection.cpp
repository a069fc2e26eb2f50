#include "tools/client/client_connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "config/values.hpp"

namespace exchanged::tools {
namespace {

// Enough for a burst of replies per system call; the buffers grow only to what is unread.
constexpr std::size_t kReadChunkBytes = 64 * 1024;

std::string errno_text(int error) {
    return std::strerror(error);
}

// The wait until `deadline` at the clock's precision, capped at a second. poll()'s milliseconds
// would turn the 10-200 µs gaps of an open-loop schedule into a busy loop that starves the daemon
// sharing the machine (or, rounded up, into sends a millisecond late).
timespec remaining(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now()).count();
    const long long wait_ns = std::clamp<long long>(left, 0, 1'000'000'000);
    return timespec{static_cast<time_t>(wait_ns / 1'000'000'000),
                    static_cast<long>(wait_ns % 1'000'000'000)};
}

// Connects one resolved address within the timeout; returns the socket or -1 with errno set.
int connect_address(const addrinfo& address, std::chrono::milliseconds timeout) {
    const int fd = ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            address.ai_protocol);
    if (fd < 0) {
        return -1;
    }
    if (::connect(fd, address.ai_addr, address.ai_addrlen) == 0) {
        return fd;
    }
    if (errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
        int error = 0;
        socklen_t length = sizeof(error);
        if (ready == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 &&
            error == 0) {
            return fd;
        }
        errno = ready == 0 ? ETIMEDOUT : (error != 0 ? error : errno);
    }
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
}

// recv() that also returns the kernel's arrival stamp of the newest segment read (SO_TIMESTAMPNS),
// or the time of the read when the kernel attached none.
ssize_t receive_stamped(int fd, std::byte* buffer, std::size_t length, std::int64_t& stamp_ns) {
    iovec data{buffer, length};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(timespec))> control{};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    const ssize_t got = ::recvmsg(fd, &message, 0);
    if (got <= 0) {
        return got;
    }
    timespec at{};
    bool stamped = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
            c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
            std::memcpy(&at, CMSG_DATA(c), sizeof(at));
            stamped = at.tv_sec > 0;
        }
    }
    if (!stamped) {
        ::clock_gettime(CLOCK_REALTIME, &at);
    }
    stamp_ns = static_cast<std::int64_t>(at.tv_sec) * 1'000'000'000 + at.tv_nsec;
    return got;
}

}  // namespace

std::string refusal_leader(const ClientError& error) {
    if (error.kind() != ClientErrorKind::LoginRejected) {
        return "";
    }
    const std::string_view text = error.what();
    static constexpr std::string_view kMark = "replication follower; leader at ";
    const std::size_t at = text.find(kMark);
    if (at == std::string_view::npos) {
        return "";
    }
    const std::string_view rest = text.substr(at + kMark.size());
    return std::string(rest.substr(0, rest.find_first_of(") \n")));
}

ClientConnection::ClientConnection(const std::string& host_port, std::chrono::milliseconds timeout)
    : peer_(host_port) {
    exchanged::Endpoint endpoint;
    try {
        endpoint = config_detail::parse_endpoint(host_port);
    } catch (const std::exception& error) {
        throw ClientError(ClientErrorKind::Connect, std::string("--connect: ") + error.what());
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* addresses = nullptr;
    const std::string port = std::to_string(endpoint.port);
    if (const int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &addresses);
        rc != 0) {
        throw ClientError(ClientErrorKind::Connect,
                          "cannot resolve '" + endpoint.host + "': " + ::gai_strerror(rc));
    }
    int error = 0;
    for (const addrinfo* address = addresses; address != nullptr && fd_ < 0;
         address = address->ai_next) {
        fd_ = connect_address(*address, timeout);
        error = fd_ < 0 ? errno : 0;
    }
    ::freeaddrinfo(addresses);
    if (fd_ < 0) {
        throw ClientError(ClientErrorKind::Connect,
                          "cannot connect to " + peer_ + ": " + errno_text(error) +
                              (error == ECONNREFUSED ? " (is exchanged running there?)" : ""));
    }
    // Orders are small and latency matters: never wait to coalesce them.
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    // Arrival stamps for the journal: a reply read late (this process descheduled on a loaded
    // machine) keeps the time it really arrived. Without them the read time stands in.
    ::setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    in_.reserve(kReadChunkBytes * 2);
}

ClientConnection::~ClientConnection() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

net::LoginAccepted ClientConnection::login(std::string_view account, std::string_view secret,
                                           std::chrono::milliseconds timeout) {
    net::Login message;
    if (!message.account_name.assign(account)) {
        throw ClientError(ClientErrorKind::LoginRejected,
                          "account name '" + std::string(account) + "' is longer than " +
                              std::to_string(net::kMaxAccountNameBytes) + " bytes");
    }
    if (!message.secret.assign(secret)) {
        throw ClientError(
            ClientErrorKind::LoginRejected,
            "the secret is longer than " + std::to_string(net::kMaxSecretBytes) + " bytes");
    }
    queue(message);
    const net::Message reply = expect_reply(Clock::now() + timeout, "the answer to Login");
    if (const auto* rejected = std::get_if<net::LoginRejected>(&reply)) {
        std::string text = "login as '" + std::string(account) +
                           "' rejected: " + std::string(net::to_string(rejected->reason));
        if (rejected->text.size() > 0) {
            text += " (" + std::string(rejected->text.view()) + ")";
        }
        throw ClientError(ClientErrorKind::LoginRejected, text);
    }
    const auto* accepted = std::get_if<net::LoginAccepted>(&reply);
    if (accepted == nullptr) {
        throw ClientError(ClientErrorKind::Malformed,
                          "expected LoginAccepted, the server sent " +
                              std::string(net::to_string(net::type_of(reply))));
    }
    if (accepted->heartbeat_interval_ms > 0) {
        heartbeat_interval_ms_ = accepted->heartbeat_interval_ms;
    }
    return *accepted;
}

void ClientConnection::queue(const net::Message& message) {
    const std::size_t size = net::encoded_size(message);
    // Drop what was already written before growing, so the buffer stays as large as one batch.
    if (out_sent_ == out_.size()) {
        out_.clear();
        out_sent_ = 0;
    }
    const std::size_t at = out_.size();
    out_.resize(at + size);
    net::encode(message, std::span<std::byte>(out_.data() + at, size));
}

void ClientConnection::flush() {
    while (out_sent_ < out_.size()) {
        const ssize_t sent =
            ::send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }
            if (errno == EINTR) {
                continue;
            }
            throw ClientError(ClientErrorKind::Closed,
                              "connection lost: sending to " + peer_ + ": " + errno_text(errno));
        }
        out_sent_ += static_cast<std::size_t>(sent);
        last_send_ = Clock::now();
    }
    out_.clear();
    out_sent_ = 0;
}

void ClientConnection::send_heartbeat_if_quiet() {
    if (logging_out_ || queued_bytes() > 0) {
        return;
    }
    if (Clock::now() - last_send_ >= std::chrono::milliseconds(heartbeat_interval_ms_)) {
        queue(net::Heartbeat{});
    }
}

std::optional<net::Message> ClientConnection::decode_buffered() {
    for (;;) {
        const std::span<const std::byte> unread(in_.data() + in_read_, in_.size() - in_read_);
        net::DecodeResult result =
            net::decode(unread, net::kLongestPossibleFrameBytes, net::Sender::Server);
        if (result.status == net::DecodeStatus::NeedMore) {
            return std::nullopt;
        }
        if (result.status == net::DecodeStatus::Malformed) {
            throw ClientError(ClientErrorKind::Malformed,
                              "malformed frame from " + peer_ + ": " +
                                  std::string(net::to_string(result.malformed)));
        }
        in_read_ += result.consumed;
        if (std::holds_alternative<net::Heartbeat>(result.message)) {
            continue;
        }
        if (const auto* goodbye = std::get_if<net::Goodbye>(&result.message)) {
            std::string text = "connection lost: the server said Goodbye: " +
                               std::string(net::to_string(goodbye->reason));
            if (goodbye->text.size() > 0) {
                text += " (" + std::string(goodbye->text.view()) + ")";
            }
            throw ClientError(ClientErrorKind::Goodbye, text);
        }
        return std::move(result.message);
    }
}

bool ClientConnection::pump(Clock::time_point deadline) {
    send_heartbeat_if_quiet();
    flush();
    pollfd p{fd_, static_cast<short>(POLLIN | (queued_bytes() > 0 ? POLLOUT : 0)), 0};
    const timespec wait = remaining(deadline);
    const int ready = ::ppoll(&p, 1, &wait, nullptr);
    if (ready < 0 && errno != EINTR) {
        throw ClientError(ClientErrorKind::Closed, "poll: " + errno_text(errno));
    }
    if (ready <= 0) {
        return Clock::now() < deadline;
    }
    if ((p.revents & POLLOUT) != 0) {
        flush();
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        return true;
    }
    // Compact before reading so the buffer holds at most one partial frame plus one chunk.
    if (in_read_ > 0) {
        in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_read_));
        in_read_ = 0;
    }
    const std::size_t at = in_.size();
    in_.resize(at + kReadChunkBytes);
    const ssize_t got = receive_stamped(fd_, in_.data() + at, kReadChunkBytes, received_at_ns_);
    if (got <= 0) {
        in_.resize(at);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return true;
        }
        throw ClientError(ClientErrorKind::Closed,
                          got == 0 ? "connection lost: " + peer_ + " closed the connection"
                                   : "connection lost: " + peer_ + ": " + errno_text(errno));
    }
    in_.resize(at + static_cast<std::size_t>(got));
    return true;
}

std::optional<net::Message> ClientConnection::receive(Clock::time_point deadline) {
    for (;;) {
        if (std::optional<net::Message> message = decode_buffered()) {
            return message;
        }
        if (!pump(deadline)) {
            // One last look: the final poll may have brought the message in.
            return decode_buffered();
        }
    }
}

net::Message ClientConnection::expect_reply(Clock::time_point deadline,
                                            std::string_view waiting_for) {
    std::optional<net::Message> message = receive(deadline);
    if (!message) {
        throw ClientError(ClientErrorKind::Timeout,
                          "timed out waiting for " + std::string(waiting_for) + " from " + peer_);
    }
    return std::move(*message);
}

}  // namespace exchanged::tools
