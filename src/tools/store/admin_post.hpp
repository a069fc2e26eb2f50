// `POST path` / `GET path` to a daemon's admin endpoint ([server] admin_listen), for `backup
// create` and `cluster status`: one request, one answer, within a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace exchanged::tools {

struct AdminAnswer {
    unsigned status = 0;
    std::string body;
};

// Throws std::runtime_error naming host:port when it cannot connect, or no answer came within
// `timeout`.
AdminAnswer admin_post(const std::string& host, std::uint16_t port, const std::string& path,
                       std::chrono::milliseconds timeout, const std::string& body = "");
AdminAnswer admin_get(const std::string& host, std::uint16_t port, const std::string& path,
                      std::chrono::milliseconds timeout);

}  // namespace exchanged::tools
