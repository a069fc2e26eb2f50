// A loopback HTTP server that answers every request with the same bytes, or never answers: the
// etcd client's tests use it for what a real etcd does not do (bad JSON, a hung member).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace exchanged::ha::test {

class CannedHttpServer {
  public:
    // `answer` is the raw response (status line, headers, body); empty = read and never answer.
    explicit CannedHttpServer(std::string answer);
    // One answer per request, in order; the last one answers every request after it.
    explicit CannedHttpServer(std::vector<std::string> answers);
    ~CannedHttpServer();
    CannedHttpServer(const CannedHttpServer&) = delete;
    CannedHttpServer& operator=(const CannedHttpServer&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int requests() const { return requests_.load(); }
    // Each request's line and headers, in the order they came.
    std::vector<std::string> heads() const;

    // An HTTP/1.1 200 answer carrying `body` as JSON.
    static std::string ok(const std::string& body);

  private:
    struct State;
    std::unique_ptr<State> state_;
    std::uint16_t port_ = 0;
    std::atomic<int> requests_{0};
    mutable std::mutex heads_mutex_;
    std::vector<std::string> heads_;
    std::thread thread_;
};

}  // namespace exchanged::ha::test
