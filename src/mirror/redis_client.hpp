// A blocking connection to one Redis server (hiredis), for the mirror writer's thread and for
// start-up: commands are appended and their replies read later, so a batch of commands costs one
// round trip. Every failure of the connection (refused, reset, a reply later than the timeout)
// throws RedisError naming the server; an error reply is a reply, not an exception.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;

namespace exchanged::mirror {

class RedisError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A reply copied out of hiredis's tree.
struct RedisReply {
    enum class Type : std::uint8_t { String, Array, Integer, Nil, Status, Error };
    Type type = Type::Nil;
    long long integer = 0;
    std::string text;  // String, Status, Error
    std::vector<RedisReply> elements;

    bool is_error() const { return type == Type::Error; }
    // "TYPE: text" for messages.
    std::string describe() const;
};

class RedisClient {
  public:
    // Connects (throws RedisError when it cannot within `timeout`).
    RedisClient(std::string host, std::uint16_t port, std::chrono::milliseconds timeout);
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    // Queues one command (sent with the next read()).
    void append(const std::vector<std::string_view>& args);
    // The next reply in order; sends what is queued first. Throws RedisError on a broken
    // connection or a timeout (the connection is then unusable).
    RedisReply read();
    RedisReply command(const std::vector<std::string_view>& args) {
        append(args);
        return read();
    }
    const std::string& server() const { return server_; }

  private:
    [[noreturn]] void fail(const std::string& what);

    std::string server_;  // host:port, for messages
    redisContext* context_ = nullptr;
    std::vector<const char*> argv_;
    std::vector<std::size_t> argv_len_;
};

// The server's appendfsync setting ("always", "everysec", "no") and whether appendonly is on, as
// CONFIG GET reports them; "unknown" when the server refuses CONFIG (renamed or ACL).
struct RedisDurability {
    bool append_only = false;
    std::string append_fsync = "unknown";
};
RedisDurability read_durability(RedisClient& client);

// What a crash of the Redis machine can lose of what it acknowledged, in words.
std::string describe_redis_loss(const RedisDurability& durability);

}  // namespace exchanged::mirror
