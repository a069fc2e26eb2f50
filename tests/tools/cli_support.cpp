#include "cli_support.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "wire_client.hpp"

namespace exchanged::test {

Daemon start_daemon(const TempDir& dir, const std::string& config, const std::string& output_name) {
    ServingDaemon serving = serve_daemon(dir, config, output_name);
    return Daemon{std::move(serving.daemon), "127.0.0.1:" + std::to_string(serving.port)};
}

CommandResult ctl(const TempDir& dir, const std::vector<std::string>& args) {
    static std::atomic<int> runs{0};
    return run_exchangectl(args, dir.path() / ("ctl-" + std::to_string(++runs)));
}

double json_number(const std::string& json, const std::string& key) {
    const std::size_t at = json.find("\"" + key + "\":");
    INFO("key " << key << " in " << json);
    REQUIRE(at != std::string::npos);
    return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

std::size_t count_lines_starting(const std::string& path, const std::string& prefix) {
    std::ifstream in(path);
    std::string line;
    std::size_t count = 0;
    while (std::getline(in, line)) {
        count += line.rfind(prefix, 0) == 0 ? 1 : 0;
    }
    return count;
}

std::string last_line(const std::string& text) {
    const std::size_t end = text.find_last_not_of('\n');
    const std::size_t start = text.rfind('\n', end);
    const std::size_t first = start == std::string::npos ? 0 : start + 1;
    return text.substr(first, end - first + 1);
}

}  // namespace exchanged::test
