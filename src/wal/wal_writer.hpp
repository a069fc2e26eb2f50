// The WAL's owner-facing object: recovers the log at construction, then one writer thread turns
// handed-over records into group commits.
//
//   producers --try_append--> RecordRing --writer thread--> batch buffer --Storage--> segment file
//                                                              write + fdatasync (one in flight,
//                                                              the next batch fills meanwhile)
//
// A record is durable once durable_lsn() >= its LSN; the writer then signals durable_event_fd()
// (an eventfd an Asio loop can watch) and calls on_durable. A failed write or fdatasync is fatal:
// the state becomes Failed, nothing is retried (after a failed fsync the page cache may already
// have dropped the dirty pages, so a retry could "succeed" over lost data), producers get
// AppendStatus::Failed, and on_failed gets the message naming the file and errno.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/histogram.hpp"
#include "common/page_prefault.hpp"
#include "wal/record_ring.hpp"
#include "wal/segment_preparer.hpp"
#include "wal/storage.hpp"
#include "wal/wal_reader.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::wal {

struct WalOptions {
    std::uint64_t segment_bytes = 64ull << 20;
    std::uint32_t max_payload_bytes = 240;
    std::uint32_t queue_capacity = 65536;  // records waiting for the writer; a power of two
    // Group-commit trigger: commit when batch_size records wait or the oldest waited
    // batch_timeout_ms, whichever is first; with commit_when_idle also as soon as the writer finds
    // no more records to take (the lowest latency when load is light).
    std::uint32_t batch_size = 4096;
    std::uint32_t batch_timeout_ms = 2;
    bool commit_when_idle = true;
    std::uint64_t batch_bytes_max = 4ull << 20;  // one batch buffer (two are allocated)
    // Obsolete segments kept (renamed wal-recycled-<n>.tmp) to become the next segments instead
    // of zero-filling new ones; 0 deletes them and zero-fills every spare.
    std::uint32_t max_recycled_segments = 1;
    bool salvage = false;  // open a log with corruption in the middle, skipping the damage
    // Called on the writer thread; must be quick and must not call back into the writer.
    std::function<void(Lsn durable_lsn)> on_durable;
    std::function<void(const std::string& error)> on_failed;
    // Called on the writer thread as each batch goes to the disk (before its fdatasync), with its
    // records exactly as encoded, LSNs first..last: a replication leader ships them from here so
    // that its followers' fsyncs run alongside its own. Must be quick, never block, not allocate.
    std::function<void(Lsn first, Lsn last, std::span<const std::byte> records)> on_submitted;
    // Called for each record the opening scan reads, in LSN order, before the constructor
    // returns: for an owner that needs something from the whole log (a leader's terms) and so
    // need not scan it a second time. May throw; the constructor then throws it.
    RecordCallback on_recovered;
};

// Checks options against the limits; throws WalError naming the setting.
void validate(const WalOptions& options);

enum class WalState : std::uint8_t { Running, Failed, Closed };
enum class AppendStatus : std::uint8_t {
    Ok,
    Busy,      // the queue is full: the caller rejects the input, nothing was written
    TooLarge,  // payload above max_payload_bytes
    Failed,    // the log failed; see failure()
    Closed,
};
const char* to_string(AppendStatus status);

struct AppendResult {
    AppendStatus status = AppendStatus::Ok;
    Lsn lsn = 0;  // valid when status == Ok
};

// What append_replicated did: as try_append's status when the LSN was the next one; otherwise
// nothing was written and `error` says whether records are missing before it or it repeats one.
struct ReplicatedAppendResult {
    AppendStatus status = AppendStatus::Ok;
    bool not_next = false;
    Lsn expected = 0;  // the LSN the log takes next, when not_next
    std::string error;
};

struct RecoveryReport {
    LogEnd end = LogEnd::Clean;
    std::uint64_t log_id = 0;
    std::uint64_t records = 0;
    Lsn first_lsn = 0;
    Lsn last_lsn = 0;
    std::uint64_t torn_bytes = 0;
    std::vector<SkippedRegion> skipped;  // salvage only
    std::string description;
};

struct WalStats {
    std::uint64_t batches = 0;
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
    std::uint64_t rotations = 0;
    std::uint64_t rotation_stalls = 0;        // rotations that had to wait for the spare
    std::uint64_t rotations_recycled = 0;     // into a recycled segment
    std::uint64_t rotations_zero_filled = 0;  // into a zero-filled spare
    std::uint64_t segments_recycled = 0;      // obsolete segments kept for reuse
    std::uint64_t segments_zero_filled = 0;   // spares zero-filled (the one made at open included)
};

class WalWriter {
  public:
    // Recovers the log in `storage` (which must outlive the writer): truncates a torn tail durably,
    // refuses corruption by throwing WalError with its place, and starts the writer thread.
    WalWriter(Storage& storage, WalOptions options);
    ~WalWriter();
    WalWriter(const WalWriter&) = delete;
    WalWriter& operator=(const WalWriter&) = delete;

    const RecoveryReport& recovery() const { return recovery_; }

    // Any thread; never blocks, never allocates, no syscall unless the writer sleeps waiting for
    // records (not while it only waits for a batch in flight).
    AppendResult try_append(std::uint16_t type, std::span<const std::byte> payload) noexcept;

    // A follower's append of a record the leader logged under `lsn`: refused (not_next) unless
    // `lsn` is exactly next_lsn(), so the follower's log never has a gap or a repeated LSN. One
    // thread appends this way; try_append must not be used on the same log.
    ReplicatedAppendResult append_replicated(Lsn lsn, std::uint16_t type,
                                             std::span<const std::byte> payload);

    Lsn durable_lsn() const noexcept { return durable_lsn_.load(std::memory_order_acquire); }
    // Blocks until `lsn` is durable (true) or the log failed or closed first (false).
    bool wait_durable(Lsn lsn) const;
    // Readable (counter > 0) after durable_lsn advanced or the state changed.
    int durable_event_fd() const { return durable_fd_; }
    WalState state() const noexcept { return state_.load(std::memory_order_acquire); }
    std::string failure() const;
    // Returns once the ring's and the batches' pages are faulted in (they are not zeroed at
    // construction; a thread of the writer's faults them in): for a benchmark that must not
    // count a start's one-time page faults. Not concurrently with close().
    void wait_prefaulted() { prefault_.wait(); }
    // First LSN the next append gets (a hint: producers race for it).
    Lsn next_lsn() const noexcept { return ring_->claimed_end(); }

    // Recycles (up to max_recycled_segments) or deletes, in the background, the segments whose
    // records all lie below `lsn` (clamped to what is durable). The active segment always stays.
    void release_below(Lsn lsn);
    // Blocks until the background segment work asked for so far (spare, deletions) is done; for
    // simulations that must replay exactly.
    void wait_background_idle() { preparer_.wait_idle(); }
    // Commits everything already handed over, then stops the threads. Idempotent.
    void close();
    WalStats stats() const;
    // The size of the segments the log keeps (each preallocated in full), without the spare:
    // what the store's progress lets release_below() delete.
    std::uint64_t segment_bytes() const;
    // The segments the log holds, oldest first (the last is active): what a replication leader's
    // retention weighs before it releases any (repl/retention_policy.hpp).
    std::vector<HeldSegment> held_segments() const;
    // Written by the writer thread, read by any (the scrape): seconds from a batch's submission
    // to its write + fdatasync completing, and records per group commit.
    const Histogram& sync_seconds() const { return sync_seconds_; }
    const Histogram& batch_records() const { return batch_records_; }

  private:
    struct Batch;
    struct Segment {
        std::string name;
        Lsn first_lsn;
        std::uint64_t bytes;
    };

    Lsn recover();
    void begin_segment(Batch& batch, Lsn first_lsn);
    void wake_writer();
    void hand_over(Lsn lsn, std::uint16_t type, std::span<const std::byte> payload) noexcept;
    void run();
    bool drain(Batch& batch);
    void submit(Batch& batch);
    void complete(const BatchOutcome& outcome);
    void fail(const std::string& error);
    void signal_durable_fd();

    Storage& storage_;
    const WalOptions options_;
    const std::uint32_t max_record_bytes_;
    RecoveryReport recovery_;
    std::uint64_t log_id_ = 0;
    std::unique_ptr<RecordRing> ring_;  // made once recovery knows the next LSN

    // Writer-thread state.
    std::unique_ptr<Batch> batches_[2];
    Batch* filling_ = nullptr;
    Batch* in_flight_ = nullptr;
    Lsn next_to_copy_ = 0;
    std::string active_name_;
    std::uint64_t active_segment_bytes_ = 0;
    std::uint64_t active_write_offset_ = 0;  // next free byte, counting the filling batch
    bool active_accepts_records_ = false;    // false forces a rotation before the next record
    bool spare_requested_ = false;           // asked the preparer for the next spare

    mutable std::mutex segments_mutex_;
    std::vector<Segment> segments_;  // oldest first; the last is active

    SegmentPreparer preparer_;
    int wake_fd_ = -1;
    int durable_fd_ = -1;
    // The writer sleeps until the record with this LSN is handed over (kNoWake: not awake for
    // records at all); the producer of a record at or past it wakes the writer.
    static constexpr Lsn kNoWake = ~Lsn{0};
    std::atomic<Lsn> wake_at_lsn_{kNoWake};
    std::atomic<bool> closing_{false};
    std::atomic<WalState> state_{WalState::Running};
    std::atomic<Lsn> durable_lsn_{0};
    // Bumped whenever durable_lsn_ or state_ changes; wait_durable() sleeps on it.
    mutable std::atomic<std::uint32_t> epoch_{0};
    mutable std::mutex failure_mutex_;
    std::string failure_;
    mutable std::mutex stats_mutex_;
    WalStats stats_;
    Histogram sync_seconds_{latency_bounds_seconds()};
    Histogram batch_records_{count_bounds()};
    std::thread thread_;
    // After the ring and the batches, so that it stops before they go.
    PagePrefault prefault_;
    std::once_flag close_once_;
};

}  // namespace exchanged::wal
