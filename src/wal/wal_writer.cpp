#include "wal/wal_writer.hpp"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <random>

#include "common/test_fault.hpp"
#include "wal/record_format.hpp"
#include "wal/segment_format.hpp"

namespace exchanged::wal {

struct WalWriter::Batch {
    // The buffer holds `bytes` of header and records plus the end marker. Not zeroed (as the
    // record ring, and faulted in behind the constructor likewise): every byte submitted was
    // written first, the end marker included.
    explicit Batch(std::size_t bytes)
        : buffer(std::make_unique_for_overwrite<std::byte[]>(bytes + kEndMarkerBytes)),
          capacity(bytes) {}

    void reset() {
        used = 0;
        records = 0;
        last_lsn = 0;
        file_offset = 0;
        starts_segment = false;
        sealed = false;
        segment.clear();
    }

    std::unique_ptr<std::byte[]> buffer;
    const std::size_t capacity;
    std::size_t used = 0;
    std::uint64_t records = 0;
    Lsn last_lsn = 0;
    std::string segment;
    std::uint64_t file_offset = 0;
    bool starts_segment =
        false;            // the batch begins with the segment header; rename the spare first
    bool sealed = false;  // no more records fit (buffer or segment full)
    std::chrono::steady_clock::time_point first_record_at;
    std::chrono::steady_clock::time_point submitted_at;
};

namespace {

bool is_power_of_two(std::uint64_t value) {
    return value != 0 && (value & (value - 1)) == 0;
}

std::uint64_t make_log_id() {
    std::random_device device;
    std::uint64_t id = 0;
    while (id == 0) {
        id =
            (static_cast<std::uint64_t>(device()) << 32) ^ device() ^
            static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    }
    return id;
}

}  // namespace

void validate(const WalOptions& options) {
    const auto bad = [](const std::string& what) { throw WalError("WAL option " + what); };
    if (options.max_payload_bytes > kMaxPayloadBytesLimit) {
        bad("max_payload_bytes " + std::to_string(options.max_payload_bytes) +
            " is above the limit " + std::to_string(kMaxPayloadBytesLimit));
    }
    const std::uint64_t record_max = record_bytes_for(options.max_payload_bytes);
    if (options.segment_bytes < kMinSegmentBytes || options.segment_bytes > kMaxSegmentBytes ||
        options.segment_bytes < kSegmentHeaderBytes + record_max) {
        bad("segment_bytes " + std::to_string(options.segment_bytes) + " must be within [" +
            std::to_string(kMinSegmentBytes) + ", " + std::to_string(kMaxSegmentBytes) + "]");
    }
    if (!is_power_of_two(options.queue_capacity) || options.queue_capacity < 2 ||
        options.queue_capacity > (1u << 24)) {
        bad("queue_capacity " + std::to_string(options.queue_capacity) +
            " must be a power of two in [2, 16777216]");
    }
    if (options.max_recycled_segments > kMaxRecycledSegments) {
        bad("max_recycled_segments " + std::to_string(options.max_recycled_segments) +
            " is above the limit " + std::to_string(kMaxRecycledSegments));
    }
    if (options.batch_size == 0) {
        bad("batch_size must be at least 1");
    }
    if (options.batch_timeout_ms > 60'000) {
        bad("batch_timeout_ms " + std::to_string(options.batch_timeout_ms) + " is above 60000");
    }
    if (options.batch_bytes_max < kSegmentHeaderBytes + record_max ||
        options.batch_bytes_max > (1ull << 30)) {
        bad("batch_bytes_max " + std::to_string(options.batch_bytes_max) +
            " must hold a segment header and the largest record, and be at most 1 GiB");
    }
}

const char* to_string(AppendStatus status) {
    switch (status) {
        case AppendStatus::Ok:
            return "ok";
        case AppendStatus::Busy:
            return "busy";
        case AppendStatus::TooLarge:
            return "too-large";
        case AppendStatus::Failed:
            return "failed";
        case AppendStatus::Closed:
            return "closed";
    }
    return "?";
}

WalWriter::WalWriter(Storage& storage, WalOptions options)
    : storage_(storage),
      options_((validate(options), std::move(options))),
      max_record_bytes_(static_cast<std::uint32_t>(record_bytes_for(options_.max_payload_bytes))),
      preparer_(storage, options_.segment_bytes, options_.max_recycled_segments) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
    durable_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0 || durable_fd_ < 0) {
        const int error = errno;
        if (wake_fd_ >= 0)
            ::close(wake_fd_);
        if (durable_fd_ >= 0)
            ::close(durable_fd_);
        throw WalError(errno_message("eventfd", error));
    }
    try {
        const Lsn next_lsn = recover();
        ring_ = std::make_unique<RecordRing>(options_.queue_capacity, max_record_bytes_, next_lsn);
        next_to_copy_ = next_lsn;
        durable_lsn_.store(next_lsn - 1, std::memory_order_release);
        batches_[0] = std::make_unique<Batch>(options_.batch_bytes_max);
        batches_[1] = std::make_unique<Batch>(options_.batch_bytes_max);
        filling_ = batches_[0].get();
        preparer_.start();
        storage_.start_async(wake_fd_);
        // The ring and the batches are not zeroed: their pages are faulted in on a thread of
        // their own rather than by the producers' first pass or by this constructor.
        prefault_.start({ring_->memory(),
                         {batches_[0]->buffer.get(), batches_[0]->capacity + kEndMarkerBytes},
                         {batches_[1]->buffer.get(), batches_[1]->capacity + kEndMarkerBytes}});
    } catch (...) {
        preparer_.stop();
        ::close(wake_fd_);
        ::close(durable_fd_);
        throw;
    }
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "wal-writer");
        run();
    });
}

WalWriter::~WalWriter() {
    close();
    ::close(wake_fd_);
    ::close(durable_fd_);
}

Lsn WalWriter::recover() {
    ScanOptions scan_options;
    scan_options.salvage = options_.salvage;
    // Nothing writes the log before this scan ends (the writer is its only writer), so the
    // segments can be mapped rather than copied: a start scans a long log twice (replay, here).
    scan_options.map_files = true;
    const ScanResult scan = scan_log(storage_, scan_options, options_.on_recovered);
    if (scan.end == LogEnd::Corrupt && (!options_.salvage || scan.stopped_at_damage)) {
        throw WalError("WAL recovery refused: " + scan.error);
    }
    if (scan.end == LogEnd::TornTail) {
        // The torn bytes were never acknowledged. Zero them durably before appending after them, so
        // a later scan cannot mistake them for records after the new ones.
        if (!scan.tail_segment.empty() && scan.tail_dirty_end > scan.tail_offset) {
            const std::vector<std::byte> zeros(scan.tail_dirty_end - scan.tail_offset);
            storage_.write_durable(scan.tail_segment, scan.tail_offset, zeros);
        }
        for (const std::string& name : scan.drop_segments) {
            storage_.remove(name);
        }
    }
    for (const SegmentInfo& info : scan.segments) {
        segments_.push_back(Segment{info.name, info.first_lsn, info.segment_bytes});
    }
    log_id_ = scan.log_id != 0 ? scan.log_id : make_log_id();
    if (!scan.segments.empty()) {
        const SegmentInfo& last = scan.segments.back();
        active_name_ = last.name;
        active_segment_bytes_ = last.segment_bytes;
        active_write_offset_ = last.end_offset;
        active_accepts_records_ = last.max_record_bytes >= max_record_bytes_;
        if (!active_accepts_records_ && last.records == 0) {
            // The new segment will take this one's name (same first LSN); an empty file goes.
            storage_.remove(last.name);
            segments_.pop_back();
        } else {
            // Records a killed process left in the page cache are valid but maybe not on disk yet;
            // make them durable before building on them.
            storage_.write_durable(last.name, 0, {});
        }
    }
    recovery_.end = scan.end;
    recovery_.log_id = log_id_;
    recovery_.records = scan.records;
    recovery_.first_lsn = scan.first_lsn;
    recovery_.last_lsn = scan.last_lsn;
    recovery_.torn_bytes = scan.torn_bytes;
    recovery_.skipped = scan.skipped;
    recovery_.description = scan.describe();
    return scan.next_lsn;
}

AppendResult WalWriter::try_append(std::uint16_t type,
                                   std::span<const std::byte> payload) noexcept {
    const WalState current = state_.load(std::memory_order_acquire);
    if (current != WalState::Running) {
        return {current == WalState::Failed ? AppendStatus::Failed : AppendStatus::Closed, 0};
    }
    if (payload.size() > options_.max_payload_bytes) {
        return {AppendStatus::TooLarge, 0};
    }
    Lsn lsn = 0;
    switch (ring_->try_claim(&lsn)) {
        case RecordRing::Claim::Ok:
            break;
        case RecordRing::Claim::Full:
            return {AppendStatus::Busy, 0};
        case RecordRing::Claim::Closed:
        case RecordRing::Claim::NotNext:  // only from try_claim_exact
            return {state() == WalState::Failed ? AppendStatus::Failed : AppendStatus::Closed, 0};
    }
    hand_over(lsn, type, payload);
    return {AppendStatus::Ok, lsn};
}

void WalWriter::hand_over(Lsn lsn, std::uint16_t type,
                          std::span<const std::byte> payload) noexcept {
    const std::size_t bytes = encode_record(lsn, type, payload, ring_->slot(lsn));
    ring_->publish(lsn, static_cast<std::uint32_t>(bytes));
    // Only a writer sleeping for this LSN costs a syscall; the CAS lets exactly one producer pay
    // it. A failed CAS reloads wake_at: the writer may have gone back to sleep for another LSN.
    Lsn wake_at = wake_at_lsn_.load(std::memory_order_seq_cst);
    while (lsn >= wake_at) {
        if (wake_at_lsn_.compare_exchange_weak(wake_at, kNoWake, std::memory_order_seq_cst)) {
            wake_writer();
            break;
        }
    }
}

namespace {

ReplicatedAppendResult status_only(AppendStatus status) {
    ReplicatedAppendResult result;
    result.status = status;
    return result;
}

}  // namespace

ReplicatedAppendResult WalWriter::append_replicated(Lsn lsn, std::uint16_t type,
                                                    std::span<const std::byte> payload) {
    const WalState current = state_.load(std::memory_order_acquire);
    if (current != WalState::Running) {
        return status_only(current == WalState::Failed ? AppendStatus::Failed
                                                       : AppendStatus::Closed);
    }
    if (payload.size() > options_.max_payload_bytes) {
        return status_only(AppendStatus::TooLarge);
    }
    switch (ring_->try_claim_exact(lsn)) {
        case RecordRing::Claim::Ok:
            hand_over(lsn, type, payload);
            return status_only(AppendStatus::Ok);
        case RecordRing::Claim::Full:
            return status_only(AppendStatus::Busy);
        case RecordRing::Claim::Closed:
            return status_only(state() == WalState::Failed ? AppendStatus::Failed
                                                           : AppendStatus::Closed);
        case RecordRing::Claim::NotNext:
            break;
    }
    const Lsn expected = ring_->claimed_end();
    std::string error = "replicated record LSN " + std::to_string(lsn) +
                        " is not the log's next LSN " + std::to_string(expected);
    error += lsn > expected ? " (records " + std::to_string(expected) + ".." +
                                  std::to_string(lsn - 1) + " are missing)"
                            : " (the log already holds it)";
    return {AppendStatus::Ok, true, expected, std::move(error)};
}

void WalWriter::wake_writer() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof(one));
}

void WalWriter::signal_durable_fd() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(durable_fd_, &one, sizeof(one));
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    epoch_.notify_all();
}

bool WalWriter::wait_durable(Lsn lsn) const {
    while (true) {
        const std::uint32_t epoch = epoch_.load(std::memory_order_acquire);
        if (durable_lsn() >= lsn) {
            return true;
        }
        if (state() != WalState::Running) {
            return durable_lsn() >= lsn;
        }
        epoch_.wait(epoch, std::memory_order_acquire);
    }
}

std::string WalWriter::failure() const {
    std::lock_guard lock(failure_mutex_);
    return failure_;
}

WalStats WalWriter::stats() const {
    WalStats stats;
    {
        std::lock_guard lock(stats_mutex_);
        stats = stats_;
    }
    const PreparerStats prepared = preparer_.stats();
    stats.rotations_recycled = prepared.took_recycled;
    stats.rotations_zero_filled = prepared.took_zero_filled;
    stats.segments_recycled = prepared.recycled;
    stats.segments_zero_filled = prepared.zero_filled;
    return stats;
}

std::uint64_t WalWriter::segment_bytes() const {
    std::lock_guard lock(segments_mutex_);
    std::uint64_t total = 0;
    for (const Segment& segment : segments_) {
        total += segment.bytes;
    }
    return total;
}

std::vector<HeldSegment> WalWriter::held_segments() const {
    std::lock_guard lock(segments_mutex_);
    std::vector<HeldSegment> held;
    held.reserve(segments_.size());
    for (const Segment& segment : segments_) {
        held.push_back(HeldSegment{segment.first_lsn, segment.bytes});
    }
    return held;
}

void WalWriter::release_below(Lsn lsn) {
    lsn = std::min(lsn, durable_lsn() + 1);
    std::vector<std::string> obsolete;
    {
        std::lock_guard lock(segments_mutex_);
        std::size_t drop = 0;
        while (drop + 1 < segments_.size() && segments_[drop + 1].first_lsn <= lsn) {
            obsolete.push_back(segments_[drop].name);
            ++drop;
        }
        segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(drop));
    }
    if (!obsolete.empty()) {
        preparer_.retire_later(std::move(obsolete));
    }
}

void WalWriter::close() {
    std::call_once(close_once_, [this] {
        prefault_.stop();
        closing_.store(true, std::memory_order_seq_cst);
        ring_->close();
        wake_writer();
        if (thread_.joinable()) {
            thread_.join();
        }
        preparer_.stop();
        storage_.stop_async();
        WalState expected = WalState::Running;
        state_.compare_exchange_strong(expected, WalState::Closed, std::memory_order_acq_rel);
        signal_durable_fd();
    });
}

void WalWriter::fail(const std::string& error) {
    {
        std::lock_guard lock(failure_mutex_);
        failure_ = error;
    }
    state_.store(WalState::Failed, std::memory_order_release);
    ring_->close();
    signal_durable_fd();
    if (options_.on_failed) {
        options_.on_failed(error);
    }
}

void WalWriter::begin_segment(Batch& batch, Lsn first_lsn) {
    assert(batch.records == 0 && batch.used == 0);
    SegmentHeader header;
    header.max_record_bytes = max_record_bytes_;
    header.log_id = log_id_;
    header.first_lsn = first_lsn;
    header.segment_bytes = options_.segment_bytes;
    encode_segment_header(header, {batch.buffer.get(), batch.capacity});
    batch.used = kSegmentHeaderBytes;
    batch.starts_segment = true;
    batch.segment = segment_file_name(first_lsn);
    batch.file_offset = 0;
    active_name_ = batch.segment;
    active_segment_bytes_ = options_.segment_bytes;
    active_write_offset_ = kSegmentHeaderBytes;
    active_accepts_records_ = true;
}

bool WalWriter::drain(Batch& batch) {
    bool took = false;
    while (!batch.sealed && ring_->ready(next_to_copy_)) {
        const std::span<const std::byte> record = ring_->record(next_to_copy_);
        if (!active_accepts_records_ ||
            active_write_offset_ + record.size() > active_segment_bytes_) {
            if (batch.records > 0) {
                batch.sealed = true;  // a batch never spans segments
                break;
            }
            begin_segment(batch, next_to_copy_);
        }
        if (batch.used + record.size() > batch.capacity) {
            assert(batch.records > 0);
            batch.sealed = true;
            break;
        }
        if (batch.records == 0) {
            batch.first_record_at = std::chrono::steady_clock::now();
            if (!batch.starts_segment) {
                batch.segment = active_name_;
                batch.file_offset = active_write_offset_;
            }
        }
        std::memcpy(batch.buffer.get() + batch.used, record.data(), record.size());
        batch.used += record.size();
        active_write_offset_ += record.size();
        ++batch.records;
        batch.last_lsn = next_to_copy_;
        ++next_to_copy_;
        took = true;
    }
    if (took) {
        ring_->release_below(next_to_copy_);
        if (!spare_requested_ && active_write_offset_ >= active_segment_bytes_ / 2) {
            preparer_.request_spare();
            spare_requested_ = true;
        }
    }
    return took;
}

void WalWriter::submit(Batch& batch) {
    assert(in_flight_ == nullptr && batch.records > 0);
    try {
        if (batch.starts_segment) {
            std::string error;
            bool stalled = false;
            spare_requested_ = false;
            if (!preparer_.take_spare(batch.segment, &error, &stalled)) {
                fail(error);
                return;
            }
            storage_.set_active(batch.segment, true);
            {
                std::lock_guard lock(segments_mutex_);
                segments_.push_back(Segment{batch.segment, batch.last_lsn - batch.records + 1,
                                            options_.segment_bytes});
            }
            std::lock_guard lock(stats_mutex_);
            ++stats_.rotations;
            stats_.rotation_stalls += stalled ? 1 : 0;
        } else {
            storage_.set_active(batch.segment, false);
        }
    } catch (const WalError& e) {
        fail(e.what());
        return;
    }
    // The end marker rides in the same write; a segment's last bytes may have no room for it, and
    // then the reader stops there anyway (no record fits).
    const std::uint64_t batch_end = batch.file_offset + batch.used;
    const auto marker = static_cast<std::size_t>(std::min<std::uint64_t>(
        kEndMarkerBytes,
        active_segment_bytes_ > batch_end ? active_segment_bytes_ - batch_end : 0));
    std::memset(batch.buffer.get() + batch.used, 0, marker);
    batch.submitted_at = std::chrono::steady_clock::now();
    storage_.submit(batch.file_offset, {batch.buffer.get(), batch.used + marker});
    if (options_.on_submitted) {
        const std::size_t records_at = batch.starts_segment ? kSegmentHeaderBytes : 0;
        options_.on_submitted(batch.last_lsn - batch.records + 1, batch.last_lsn,
                              {batch.buffer.get() + records_at, batch.used - records_at});
    }
    if (test_fault::armed(test_fault::Fault::EarlyAcks)) {
        // Mutation check: the batch counts as durable (its acks leave) before its sync completed.
        durable_lsn_.store(batch.last_lsn, std::memory_order_release);
        signal_durable_fd();
    }
    in_flight_ = &batch;
    filling_ = &batch == batches_[0].get() ? batches_[1].get() : batches_[0].get();
    assert(filling_->records == 0);
}

void WalWriter::complete(const BatchOutcome& outcome) {
    assert(in_flight_ != nullptr);
    if (!outcome.ok) {
        fail("WAL write failed (fatal, not retried): " + outcome.error);
        return;
    }
    const Lsn durable = in_flight_->last_lsn;
    sync_seconds_.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - in_flight_->submitted_at)
            .count());
    batch_records_.observe(static_cast<double>(in_flight_->records));
    {
        std::lock_guard lock(stats_mutex_);
        ++stats_.batches;
        stats_.records += in_flight_->records;
        stats_.bytes += in_flight_->used;
    }
    in_flight_->reset();
    in_flight_ = nullptr;
    durable_lsn_.store(durable, std::memory_order_release);
    signal_durable_fd();
    if (options_.on_durable) {
        options_.on_durable(durable);
    }
}

void WalWriter::run() {
    const auto timeout = std::chrono::milliseconds(options_.batch_timeout_ms);
    while (state() != WalState::Failed) {
        bool progressed = drain(*filling_);
        if (in_flight_ != nullptr) {
            if (auto outcome = storage_.wait(0)) {
                complete(*outcome);
                progressed = true;
                continue;
            }
        }
        const bool closing = closing_.load(std::memory_order_seq_cst);
        const auto now = std::chrono::steady_clock::now();
        if (in_flight_ == nullptr && filling_->records > 0) {
            const bool idle = !ring_->ready(next_to_copy_);
            if (filling_->sealed || closing || filling_->records >= options_.batch_size ||
                (options_.commit_when_idle && idle) || now - filling_->first_record_at >= timeout) {
                submit(*filling_);
                continue;
            }
        }
        if (closing && in_flight_ == nullptr && filling_->records == 0 &&
            next_to_copy_ == ring_->claimed_end()) {
            break;
        }
        if (progressed) {
            continue;
        }
        std::int64_t wait_ns = -1;
        if (in_flight_ == nullptr && filling_->records > 0) {
            wait_ns =
                std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              filling_->first_record_at + timeout - now)
                                              .count());
        }
        // Which hand-over wakes us. With no batch in flight any record may start a commit. With
        // one in flight nothing can be committed before it completes, so a wake per record (at
        // 100k records/s: 100k eventfd writes and writer wake-ups competing with the io-wq worker
        // running the fdatasync for the same 2 cores) buys nothing; measured at 100k/s, it slowed
        // submit-to-completion from ~125 us (the disk's fdatasync) to ~200 us p50, with stalls of
        // milliseconds. We then wake only when half the ring waits, to copy it into the filling
        // batch, so producers keep the full queue plus a batch buffer of headroom before `busy`.
        Lsn wake_at = kNoWake;
        if (in_flight_ == nullptr) {
            wake_at = next_to_copy_;
        } else if (!filling_->sealed) {
            wake_at = next_to_copy_ + ring_->capacity() / 2;
        }
        wake_at_lsn_.store(wake_at, std::memory_order_seq_cst);
        // seq_cst pairs with the producer's publish-then-load (try_append): either the record at
        // wake_at is visible here, or its producer sees wake_at and wakes us.
        if (wake_at != kNoWake && ring_->ready(wake_at)) {
            wake_at_lsn_.store(kNoWake, std::memory_order_relaxed);
            continue;
        }
        auto outcome = storage_.wait(wait_ns);
        wake_at_lsn_.store(kNoWake, std::memory_order_relaxed);
        if (outcome) {
            complete(*outcome);
        }
    }
}

}  // namespace exchanged::wal
