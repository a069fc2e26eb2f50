// A throw-away redis-server for one test (scripts/redis-test-server.sh: its own port, directory
// and AOF with appendfsync always), stopped and removed on destruction.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mirror/redis_client.hpp"
#include "temp_file.hpp"

namespace exchanged::test {

class RedisServer {
  public:
    // Null (after printing "test skipped: ...") when redis-server is not installed.
    static std::unique_ptr<RedisServer> start();
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    const std::string& host() const { return host_; }
    std::uint16_t port() const { return port_; }
    // kill -9; the AOF stays.
    void kill();
    // Starts it again on the same port and AOF.
    void restart();
    mirror::RedisClient client() const;

  private:
    RedisServer();
    void run(const std::string& command) const;

    TempDir scratch_;
    std::string dir_;
    std::string host_;
    std::uint16_t port_ = 0;
};

}  // namespace exchanged::test
