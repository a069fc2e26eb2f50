#include "mirror/redis_client.hpp"

#include <sys/time.h>

#include <hiredis/hiredis.h>

namespace exchanged::mirror {
namespace {

timeval to_timeval(std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    return tv;
}

RedisReply copy_reply(const redisReply& reply) {
    RedisReply out;
    switch (reply.type) {
        case REDIS_REPLY_STRING:
            out.type = RedisReply::Type::String;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = RedisReply::Type::Array;
            break;
        case REDIS_REPLY_INTEGER:
            out.type = RedisReply::Type::Integer;
            break;
        case REDIS_REPLY_STATUS:
            out.type = RedisReply::Type::Status;
            break;
        case REDIS_REPLY_ERROR:
            out.type = RedisReply::Type::Error;
            break;
        default:
            out.type = RedisReply::Type::Nil;
            break;
    }
    out.integer = reply.integer;
    if (reply.str != nullptr) {
        out.text.assign(reply.str, reply.len);
    }
    if (reply.type == REDIS_REPLY_ARRAY) {
        out.elements.reserve(reply.elements);
        for (std::size_t i = 0; i < reply.elements; ++i) {
            out.elements.push_back(copy_reply(*reply.element[i]));
        }
    }
    return out;
}

}  // namespace

std::string RedisReply::describe() const {
    switch (type) {
        case Type::String:
            return "string: " + text;
        case Type::Array:
            return "array of " + std::to_string(elements.size());
        case Type::Integer:
            return "integer: " + std::to_string(integer);
        case Type::Nil:
            return "nil";
        case Type::Status:
            return "status: " + text;
        case Type::Error:
            return "error: " + text;
    }
    return "?";
}

RedisClient::RedisClient(std::string host, std::uint16_t port, std::chrono::milliseconds timeout)
    : server_(host + ":" + std::to_string(port)) {
    context_ = redisConnectWithTimeout(host.c_str(), port, to_timeval(timeout));
    if (context_ == nullptr) {
        throw RedisError("Redis " + server_ + ": cannot allocate a connection");
    }
    // A constructor that throws runs no destructor: free the context before throwing.
    const auto fail_and_free = [this](const std::string& what) {
        try {
            fail(what);
        } catch (...) {
            redisFree(context_);
            context_ = nullptr;
            throw;
        }
    };
    if (context_->err != 0) {
        fail_and_free("cannot connect");
    }
    if (redisSetTimeout(context_, to_timeval(timeout)) != REDIS_OK) {
        fail_and_free("cannot set the reply timeout");
    }
}

RedisClient::~RedisClient() {
    if (context_ != nullptr) {
        redisFree(context_);
    }
}

void RedisClient::fail(const std::string& what) {
    const std::string reason = context_->errstr[0] != '\0' ? context_->errstr : "unknown error";
    throw RedisError("Redis " + server_ + ": " + what + ": " + reason);
}

void RedisClient::append(const std::vector<std::string_view>& args) {
    argv_.clear();
    argv_len_.clear();
    for (const std::string_view arg : args) {
        argv_.push_back(arg.data());
        argv_len_.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv_.size()), argv_.data(),
                               argv_len_.data()) != REDIS_OK) {
        fail("cannot queue a command");
    }
}

RedisReply RedisClient::read() {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
        fail("no reply");
    }
    auto* reply = static_cast<redisReply*>(raw);
    RedisReply out = copy_reply(*reply);
    freeReplyObject(reply);
    return out;
}

RedisDurability read_durability(RedisClient& client) {
    RedisDurability out;
    const RedisReply fsync = client.command({"CONFIG", "GET", "appendfsync"});
    const RedisReply only = client.command({"CONFIG", "GET", "appendonly"});
    if (fsync.type == RedisReply::Type::Array && fsync.elements.size() == 2) {
        out.append_fsync = fsync.elements[1].text;
    }
    if (only.type == RedisReply::Type::Array && only.elements.size() == 2) {
        out.append_only = only.elements[1].text == "yes";
    }
    return out;
}

std::string describe_redis_loss(const RedisDurability& d) {
    const std::string setting = "(Redis appendonly " + std::string(d.append_only ? "yes" : "no") +
                                ", appendfsync " + d.append_fsync + ")";
    if (!d.append_only) {
        return "everything not in the store if Redis restarts: it keeps no AOF " + setting;
    }
    if (d.append_fsync == "always") {
        return "none for acknowledged orders while Redis's disk survives " + setting;
    }
    if (d.append_fsync == "everysec") {
        return "up to 1 s of acknowledged orders not yet in the store if the Redis machine loses "
               "power " +
               setting;
    }
    if (d.append_fsync == "no") {
        return "unbounded: Redis leaves syncing its AOF to the OS " + setting;
    }
    return "unknown: Redis did not report its AOF settings " + setting;
}

}  // namespace exchanged::mirror
