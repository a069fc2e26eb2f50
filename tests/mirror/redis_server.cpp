#include "redis_server.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace exchanged::test {
namespace {

const std::string kScript = std::string(EXCHANGED_SOURCE_DIR) + "/scripts/redis-test-server.sh";

bool have_redis_server() {
    return std::system("command -v redis-server >/dev/null 2>&1") == 0;
}

}  // namespace

std::unique_ptr<RedisServer> RedisServer::start() {
    if (!have_redis_server()) {
        std::printf(
            "test skipped: redis-server is not installed (scripts/setup-deps.sh installs "
            "it)\n");
        return nullptr;
    }
    return std::unique_ptr<RedisServer>(new RedisServer());
}

RedisServer::RedisServer() : dir_((scratch_.path() / "redis").string()) {
    run("start");
    std::ifstream address(dir_ + "/address");
    std::string text;
    std::getline(address, text);
    const std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
        throw std::runtime_error("redis-test-server.sh wrote no address in " + dir_);
    }
    host_ = text.substr(0, colon);
    port_ = static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1)));
}

RedisServer::~RedisServer() {
    [[maybe_unused]] const int status =
        std::system((kScript + " stop '" + dir_ + "' >/dev/null 2>&1").c_str());
}

void RedisServer::run(const std::string& command) const {
    const std::string line = kScript + " " + command + " '" + dir_ + "' >/dev/null";
    if (std::system(line.c_str()) != 0) {
        throw std::runtime_error("failed: " + line);
    }
}

void RedisServer::kill() {
    run("kill");
}

void RedisServer::restart() {
    run("restart");
}

mirror::RedisClient RedisServer::client() const {
    return mirror::RedisClient(host_, port_, std::chrono::milliseconds(5000));
}

}  // namespace exchanged::test
