// What the epoch tests (log_epochs_test.cpp, epoch_file_test.cpp) write their logs with: small
// segments, command records appended until durable, and a log of three terms.
#pragma once

#include <catch2/catch.hpp>

#include <vector>

#include "engine/command_record.hpp"
#include "repl/log_epochs.hpp"
#include "wal/sim_storage.hpp"
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

// Terms 1 at LSN 1, 2 at LSN 42, 5 at LSN 343 (segments of a few dozen records each), then the
// segments below `release_below` released as a store would.
inline void write_three_terms(wal::SimStorage& sim, wal::Lsn release_below) {
    wal::WalWriter writer(sim, small_log_options());
    repl::EpochHistory history;
    REQUIRE(repl::begin_term(writer, sim, history, 1, 1) == 1);
    append_commands(writer, 40);
    REQUIRE(repl::begin_term(writer, sim, history, 2, 2) == 42);
    append_commands(writer, 300);
    REQUIRE(repl::begin_term(writer, sim, history, 5, 3) == 343);
    append_commands(writer, 7);
    writer.release_below(release_below);
    writer.wait_background_idle();
    writer.close();
}

}  // namespace exchanged::test
