// What the epoch tests (log_epochs_test.cpp, epoch_file_test.cpp) write their logs with: small
// segments, and command records appended until durable.
#pragma once

#include <catch2/catch.hpp>

#include <vector>

#include "engine/command_record.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::test {

inline wal::WalOptions small_log_options() {
    wal::WalOptions o;
    o.segment_bytes = wal::kMinSegmentBytes;
    o.max_payload_bytes = 96;
    o.queue_capacity = 1024;
    o.batch_size = 32;
    o.batch_timeout_ms = 1;
    o.batch_bytes_max = 16384;
    return o;
}

// Appends `count` command records (zeroed payloads) and waits until they are durable.
inline void append_commands(wal::WalWriter& writer, int count) {
    const std::vector<std::byte> payload(engine::kCommandRecordBytes);
    for (int i = 0; i < count; ++i) {
        wal::AppendResult result;
        while ((result = writer.try_append(engine::kCommandRecordType, payload)).status ==
               wal::AppendStatus::Busy) {
        }
        REQUIRE(result.status == wal::AppendStatus::Ok);
    }
    REQUIRE(writer.wait_durable(writer.next_lsn() - 1));
}

}  // namespace exchanged::test
