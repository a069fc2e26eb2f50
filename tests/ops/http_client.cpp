#include "http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace exchanged::test {

using Clock = std::chrono::steady_clock;

std::string HttpResponse::header(const std::string& lower_case_name) const {
    const auto found = headers.find(lower_case_name);
    return found == headers.end() ? std::string() : found->second;
}

HttpClient::HttpClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        return;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
        close();
    }
}

HttpClient::~HttpClient() {
    close();
}

void HttpClient::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool HttpClient::send(std::string_view bytes) {
    if (fd_ < 0) {
        return false;
    }
    while (!bytes.empty()) {
        const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        if (sent <= 0) {
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
}

bool HttpClient::receive_more(Clock::time_point deadline) {
    if (fd_ < 0 || peer_closed_) {
        return false;
    }
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd poller{fd_, POLLIN, 0};
        const int ready = ::poll(&poller, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return false;
        }
        char buffer[4096];
        const ssize_t got = ::recv(fd_, buffer, sizeof(buffer), 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            peer_closed_ = true;
            return false;
        }
        pending_.append(buffer, static_cast<std::size_t>(got));
        return true;
    }
}

std::optional<HttpResponse> HttpClient::read_response(std::chrono::milliseconds within) {
    const Clock::time_point deadline = Clock::now() + within;
    std::size_t header_end = 0;
    while ((header_end = pending_.find("\r\n\r\n")) == std::string::npos) {
        if (!receive_more(deadline)) {
            return std::nullopt;
        }
    }
    HttpResponse response;
    const std::string head = pending_.substr(0, header_end);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    // "HTTP/1.1 200 OK"
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.")) {
        return std::nullopt;
    }
    response.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
        const std::size_t start = line_end + 2;
        line_end = head.find("\r\n", start);
        const std::string line = head.substr(start, line_end - start);
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        const std::size_t value = line.find_first_not_of(' ', colon + 1);
        response.headers[name] = value == std::string::npos ? "" : line.substr(value);
    }
    const std::string length = response.header("content-length");
    const std::size_t body_bytes = length.empty() ? 0 : std::stoul(length);
    const std::size_t body_start = header_end + 4;
    while (pending_.size() < body_start + body_bytes) {
        if (!receive_more(deadline)) {
            return std::nullopt;
        }
    }
    response.body = pending_.substr(body_start, body_bytes);
    pending_.erase(0, body_start + body_bytes);
    return response;
}

bool HttpClient::wait_closed(std::chrono::milliseconds within, std::string* received) {
    const Clock::time_point deadline = Clock::now() + within;
    while (receive_more(deadline)) {
    }
    if (received != nullptr) {
        *received = pending_;
    }
    return peer_closed_;
}

std::optional<HttpResponse> http_get(std::uint16_t port, std::string_view target) {
    HttpClient client(port);
    if (!client.send("GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n\r\n")) {
        return std::nullopt;
    }
    return client.read_response();
}

}  // namespace exchanged::test
