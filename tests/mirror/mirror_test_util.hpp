// Shared by the mirror's tests: a log over a test server, and records to append.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <thread>

#include "mirror/mirror_log.hpp"
#include "redis_server.hpp"

namespace exchanged::test {

inline mirror::MirrorOptions mirror_options(const RedisServer& server) {
    mirror::MirrorOptions options;
    options.host = server.host();
    options.port = server.port();
    options.stream_key = mirror::stream_key("test:");
    options.timeout = std::chrono::milliseconds(500);
    options.batch_records = 64;
    options.queue_records = 4096;
    options.confirm_interval = std::chrono::milliseconds(20);
    return options;
}

// A payload that differs per call (the LSN it expects to get), so a record in the wrong place
// cannot compare equal.
inline std::array<std::byte, 68> payload_for(std::uint64_t n) {
    std::array<std::byte, 68> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<std::byte>((n * 31 + i) & 0xff);
    }
    return bytes;
}

// Blocks until the log's durable LSN reaches `lsn` (the test's timeout bounds a hang).
inline void wait_until_durable(const mirror::MirrorLog& log, wal::Lsn lsn) {
    while (log.durable_lsn() < lsn) {
        log.wait_durable(lsn);
    }
}

template <typename Condition>
void wait_until(Condition condition) {
    while (!condition()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

}  // namespace exchanged::test
