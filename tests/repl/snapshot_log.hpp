// What the in-process snapshot re-sync tests (snapshot_link_test.cpp, snapshot_pg_test.cpp) write
// their logs with: small segments that are never recycled (a leader's released segments must be
// gone), filler records of types the engine does not know, and a bounded wait.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "repl/ship_buffer.hpp"
#include "small_log.hpp"
#include "tracked_quorum.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::test {

inline wal::WalOptions snapshot_log_options() {
    wal::WalOptions o = small_log_options();
    o.max_recycled_segments = 0;
    return o;
}

// Appends LSN `from`..`to` (which must be the writer's next ones): types 10..16, which the
// engine does not know and a follower takes as they are (3, a term start, it would decode).
inline void append_filler(wal::WalWriter& leader, wal::Lsn from, wal::Lsn to) {
    for (wal::Lsn lsn = from; lsn <= to; ++lsn) {
        std::vector<std::byte> payload(lsn % 40, static_cast<std::byte>(lsn));
        wal::AppendResult result;
        const auto type = static_cast<std::uint16_t>(10 + lsn % 7);
        while ((result = leader.try_append(type, payload)).status == wal::AppendStatus::Busy) {
            std::this_thread::yield();
        }
        REQUIRE(result.status == wal::AppendStatus::Ok);
    }
}

// Polls `condition` for up to 30 s: a bound for a loaded machine, never a timing claim.
template <typename Condition>
bool eventually(Condition condition) {
    for (int i = 0; i < 3000; ++i) {
        if (condition()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return condition();
}

// A leader of epoch 1 in `dir` whose log holds filler records 1..`records`, durable, each batch
// published to `buffer` and counted by `quorum` (the sender's hooks come from it).
struct FillerLeader {
    FillerLeader(const std::filesystem::path& dir, wal::Lsn records)
        : storage(dir.string()),
          log(storage, quorum.leader_options(snapshot_log_options(), buffer)) {
        append_filler(log, 1, records);
        REQUIRE(log.wait_durable(records));
    }
    // Drops the segments below `lsn`, as a store that holds them lets the leader do.
    void release_below(wal::Lsn lsn) {
        log.release_below(lsn);
        log.wait_background_idle();
    }

    TrackedQuorum quorum{1};
    repl::ShipBuffer buffer{16 * 1024};
    wal::UringStorage storage;
    wal::WalWriter log;
};

}  // namespace exchanged::test
