// The Redis mirror as the command log (mode double_write, docs/durability.md: Double write). The
// shards append their sequenced command records into a bounded ring exactly as into the WAL (no
// lock, no allocation, no system call unless the writer sleeps); the mirror writer thread drains
// the ring in batches and sends each batch to Redis pipelined, one round trip, as stream entries
// XADD <key> <lsn>-0 r <record>, where <record> holds the bytes a WAL record would
// (wal::encode_record). On the replies it advances durable_lsn(), the `mirror` point, and calls
// on_durable.
//
// Redis down or slow (a reply later than the timeout): the batch stays in the ring, new appends
// are refused (Closed: the shard refuses the order as unavailable) and the writer reconnects; the
// held acks wait, but not longer than hold_limit after the first round trip Redis left
// unanswered: those orders are matched, so refusing them would be false and acknowledging them
// would be false too. Past the limit the log fails as a WAL does on a failed fdatasync (the
// daemon drops the held replies and exits; recovery reads the store and the stream). After a
// reconnect the writer first reads the stream's last ID: entries of the
// failed batch that Redis did take are compared byte for byte with the ring and count as sent;
// anything else there (another writer, a stream from another store) fails the log for good.
//
// The confirmation: every confirm_interval the writer trims the stream below the store's LSN
// (stored()), so Redis holds only what the store lacks, and checks that the entries above it are
// contiguous from store_lsn + 1 (a gap: Redis lost acknowledged entries; logged and counted).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/command_log.hpp"
#include "mirror/redis_client.hpp"
#include "wal/record_ring.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::mirror {

struct MirrorOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string stream_key = "exchanged:log";
    std::chrono::milliseconds timeout{1000};
    // How long appended records may wait for a Redis that does not answer before the log fails.
    // Checked on the writer thread between round trips, so it fires up to one timeout late.
    std::chrono::milliseconds hold_limit{10000};
    std::uint32_t batch_records = 1000;
    std::uint32_t queue_records = 1u << 16;  // a power of two
    std::chrono::milliseconds confirm_interval{200};
    std::uint32_t gap_sample = 100;  // entries above store_lsn read by each check
    // The LSN the first append gets; everything below it is already in Redis or the store.
    wal::Lsn first_lsn = 1;
    // The store's LSN at start (what the confirmation may trim below).
    wal::Lsn store_lsn = 0;
    // On the writer thread: the durable LSN moved, or the log failed.
    std::function<void(wal::Lsn)> on_durable;
    std::function<void(const std::string&)> on_error;  // Redis lost, a gap, a failure
    std::function<void(const std::string&)> on_info;   // Redis back
    // Fatal: the stream is not this log's, or Redis stayed silent past hold_limit.
    std::function<void(const std::string&)> on_failed;
};

struct MirrorStats {
    std::uint64_t records = 0;  // acknowledged by Redis
    std::uint64_t batches = 0;
    std::uint64_t failed_round_trips = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t gaps = 0;  // confirmation checks that found entries missing
    wal::Lsn durable_lsn = 0;
    wal::Lsn trimmed_below = 0;  // the stream holds no entry below this
    bool unavailable = false;
    bool failed = false;
};

// The stream key of a profile's mirror.
std::string stream_key(const std::string& prefix);

class MirrorLog final : public engine::CommandLog {
  public:
    // Appends are refused until start() connected to Redis.
    explicit MirrorLog(MirrorOptions options);
    // Connects once on the calling thread (so that a daemon that just read Redis takes orders at
    // once) and starts the writer, which keeps reconnecting if Redis did not answer. Throws
    // std::runtime_error when the stream does not continue this log. Once only.
    void start();
    ~MirrorLog() override;
    MirrorLog(const MirrorLog&) = delete;
    MirrorLog& operator=(const MirrorLog&) = delete;

    wal::AppendResult try_append(std::uint16_t type,
                                 std::span<const std::byte> payload) noexcept override;
    wal::Lsn durable_lsn() const noexcept override {
        return durable_.load(std::memory_order_acquire);
    }
    // Waits a little (the caller loops); false once the log failed or closed below `lsn`.
    bool wait_durable(wal::Lsn lsn) const override;
    bool failed() const noexcept override { return failed_.load(std::memory_order_acquire); }
    bool running() const noexcept override { return !failed() && !ring_.closed(); }
    bool persists() const noexcept override { return true; }
    wal::Lsn next_lsn() const noexcept override { return ring_.claimed_end(); }

    // The store committed everything up to `lsn`: those entries may leave Redis.
    void stored(wal::Lsn lsn) noexcept;
    // Refuses appends, sends what was appended while Redis answers within the timeout, stops the
    // writer. Idempotent.
    void close();

    MirrorStats stats() const;
    bool unavailable() const noexcept { return unavailable_.load(std::memory_order_acquire); }

  private:
    void run();
    void connect();
    void resync();
    bool send_batch();
    void confirm();
    void sleep_until_work(std::chrono::milliseconds at_most);
    void lost_connection(const std::string& why, std::chrono::steady_clock::time_point since);
    // True (after failing the log) once records waited past hold_limit for a silent Redis.
    bool hold_expired();
    void fail(const std::string& why);
    void set_durable(wal::Lsn lsn);

    const MirrorOptions options_;
    wal::RecordRing ring_;
    std::unique_ptr<RedisClient> client_;  // writer thread only
    std::atomic<wal::Lsn> durable_;
    std::atomic<wal::Lsn> store_lsn_;
    std::atomic<bool> unavailable_{true};
    std::atomic<bool> failed_{false};
    std::atomic<bool> writer_sleeping_{false};
    std::atomic<bool> stopping_{false};
    std::atomic<bool> writer_done_{true};  // no writer runs (not started, or it returned)
    int wake_fd_ = -1;

    // Writer thread state.
    wal::Lsn trimmed_below_ = 0;
    std::chrono::steady_clock::time_point next_confirm_{};
    std::chrono::steady_clock::time_point next_connect_{};
    std::string last_error_;
    // When Redis stopped answering the round trip the oldest unacknowledged record waits on;
    // the epoch while Redis answers (or nothing waits).
    std::chrono::steady_clock::time_point silent_since_{};
    std::string failure_;  // why the log failed

    mutable std::mutex mutex_;  // wait_durable's sleep; the counters below
    mutable std::condition_variable moved_;
    MirrorStats stats_;
    std::thread writer_;
};

}  // namespace exchanged::mirror
