// The pieces together, without sockets or threads of our own: a leader's WAL scanned into Records
// frames, the byte stream cut into random chunks, decoded on the follower and appended with
// append_replicated, its Acks decoded back on the leader and counted by the quorum tracker. The
// follower's log ends up record for record the leader's.
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "common/random.hpp"
#include "logged_records.hpp"
#include "repl/frame_decoder.hpp"
#include "repl/frame_format.hpp"
#include "repl/quorum_tracker.hpp"
#include "wal/record_format.hpp"
#include "wal/sim_storage.hpp"
#include "wal/wal_reader.hpp"
#include "wal/wal_writer.hpp"

using namespace exchanged;
using namespace exchanged::repl;

namespace {

wal::WalOptions options() {
    wal::WalOptions o;
    o.segment_bytes = wal::kMinSegmentBytes;
    o.max_payload_bytes = 64;
    o.queue_capacity = 256;
    o.batch_size = 16;
    o.batch_timeout_ms = 1;
    o.batch_bytes_max = 8192;
    return o;
}

std::vector<std::byte> payload_for(wal::Lsn lsn) {
    std::vector<std::byte> payload(lsn % 50);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<std::byte>(lsn * 17 + i);
    }
    return payload;
}

using test::Logged;
using test::read_log;

}  // namespace

TEST_CASE("a leader's log shipped as frames becomes the follower's log, and its acks the quorum",
          "[repl][ship]") {
    constexpr Epoch kEpoch = 2;
    constexpr wal::Lsn kRecords = 900;
    wal::SimStorage leader_disk(1);
    {
        wal::WalWriter leader(leader_disk, options());
        for (wal::Lsn lsn = 1; lsn <= kRecords; ++lsn) {
            const std::vector<std::byte> payload = payload_for(lsn);
            while (leader.try_append(static_cast<std::uint16_t>(lsn % 5), payload).status ==
                   wal::AppendStatus::Busy) {
                std::this_thread::yield();
            }
        }
        REQUIRE(leader.wait_durable(kRecords));
    }
    const std::vector<Logged> leader_records = read_log(leader_disk);
    REQUIRE(leader_records.size() == kRecords);

    // The leader's sender: frames of up to 1 KiB of records.
    std::vector<std::byte> stream;
    {
        std::size_t i = 0;
        while (i < leader_records.size()) {
            RecordsFrameBuilder frame(stream, kEpoch, leader_records[i].lsn);
            while (i < leader_records.size() && frame.frame_bytes() < 1024) {
                frame.add(leader_records[i].lsn, leader_records[i].type, leader_records[i].payload);
                ++i;
            }
            frame.finish();
        }
    }

    // The follower: decode in random chunks, append, acknowledge what is durable.
    wal::SimStorage follower_disk(2);
    std::vector<std::byte> acks;
    {
        wal::WalWriter follower(follower_disk, options());
        FrameDecoder decoder;
        SplitMix64 rng(16);
        std::size_t at = 0;
        while (at < stream.size()) {
            const std::size_t chunk = std::min<std::size_t>(1 + rng.below(700), stream.size() - at);
            const bool ok = decoder.feed(std::span(stream).subspan(at, chunk), [&](const Frame& f) {
                REQUIRE(f.header.kind == FrameKind::Records);
                for (const RecordOfFrame& record : records_of(f)) {
                    wal::ReplicatedAppendResult result;
                    while ((result =
                                follower.append_replicated(record.lsn, record.type, record.payload))
                               .status == wal::AppendStatus::Busy) {
                        std::this_thread::yield();
                    }
                    REQUIRE_FALSE(result.not_next);
                    REQUIRE(result.status == wal::AppendStatus::Ok);
                }
                const wal::Lsn last = f.header.first_lsn + f.header.record_count - 1;
                REQUIRE(follower.wait_durable(last));
                encode_ack({kEpoch, follower.durable_lsn()}, acks);
            });
            REQUIRE(ok);
            at += chunk;
        }
    }
    CHECK(read_log(follower_disk) == leader_records);

    // The leader counts the acks: with its own log durable, one follower makes the quorum (3).
    QuorumTracker tracker(3, {2, 3}, kEpoch);
    tracker.leader_durable(kRecords);
    FrameDecoder leader_decoder;
    wal::Lsn last_ack = 0;
    REQUIRE(leader_decoder.feed(acks, [&](const Frame& f) {
        const Ack ack = ack_of(f);
        REQUIRE(tracker.ack(2, ack.epoch, ack.durable_lsn).outcome == AckOutcome::Counted);
        REQUIRE(tracker.frontier() == ack.durable_lsn);
        last_ack = ack.durable_lsn;
    }));
    CHECK(last_ack == kRecords);
    CHECK(tracker.frontier() == kRecords);
}
