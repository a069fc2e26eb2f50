// `exchangectl bench wal`: this machine's fdatasync latency, then the WAL's durable throughput and
// hand-over-to-durable latency at saturation, then latency at an offered rate (open loop: each
// record's latency counts from its scheduled time, so a stalled writer cannot hide its backlog)
// over a run long enough to rotate segments several times, beside the ideal one-batch writer.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/cli_args.hpp"
#include "tools/bench/ideal_writer.hpp"
#include "tools/cli/subcommands.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::tools {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

struct Percentiles {
    double p50_us = 0;
    double p99_us = 0;
    double p999_us = 0;
    double max_us = 0;
};

Percentiles percentiles(std::vector<std::int64_t> samples_ns) {
    Percentiles out;
    if (samples_ns.empty()) {
        return out;
    }
    std::sort(samples_ns.begin(), samples_ns.end());
    const auto at = [&](double q) {
        const auto index = static_cast<std::size_t>(q * static_cast<double>(samples_ns.size() - 1));
        return static_cast<double>(samples_ns[index]) / 1000.0;
    };
    out.p50_us = at(0.50);
    out.p99_us = at(0.99);
    out.p999_us = at(0.999);
    out.max_us = at(1.0);
    return out;
}

// p50 of 1,000 small writes, each followed by fdatasync, into a preallocated zero-filled file.
double measure_fdatasync_p50_us(const std::string& dir) {
    constexpr int kSyncs = 1000;
    constexpr std::size_t kStrideBytes = 4096;
    const std::string path = dir + "/fdatasync-probe";
    const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw wal::WalError(wal::errno_message("open " + path, errno));
    }
    const std::vector<char> zeros(kSyncs * kStrideBytes, 0);
    if (::pwrite(fd, zeros.data(), zeros.size(), 0) != static_cast<ssize_t>(zeros.size()) ||
        ::fsync(fd) != 0) {
        const int error = errno;
        ::close(fd);
        throw wal::WalError(wal::errno_message("preallocate " + path, error));
    }
    std::vector<std::int64_t> samples;
    samples.reserve(kSyncs);
    const char record[64] = {1};
    for (int i = 0; i < kSyncs; ++i) {
        const std::int64_t start = now_ns();
        if (::pwrite(fd, record, sizeof(record), static_cast<off_t>(i) * kStrideBytes) !=
                sizeof(record) ||
            ::fdatasync(fd) != 0) {
            const int error = errno;
            ::close(fd);
            throw wal::WalError(wal::errno_message("write+fdatasync " + path, error));
        }
        samples.push_back(now_ns() - start);
    }
    ::close(fd);
    std::filesystem::remove(path);
    return percentiles(std::move(samples)).p50_us;
}

// The floor the disk itself sets, measured in one piece (the --slice-ms 0 method): `seconds` of
// the ideal writer's syncs, replayed at `rate`.
Percentiles measure_floor_in_one_piece(const std::string& dir, double rate, double seconds) {
    IdealWriterProbe probe(dir + "/ideal-writer");
    probe.sync_until(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(seconds)));
    return percentiles(replay_one_batch_in_flight(probe.syncs_ns(), rate));
}

// How the offered phase shares the run with the ideal writer: alternating slices of `slice_ns`,
// the WAL's records scheduled only in its own slices, the probe syncing only in the others, so
// both sample the same minutes of a shared machine and disk.
struct Interleave {
    std::int64_t slice_ns = 0;
    IdealWriterProbe* probe = nullptr;
};

// Sleeps until `deadline_ns` on the clock of now_ns(); returns at once when it has passed.
void sleep_until_ns(std::int64_t deadline_ns) {
    if (now_ns() >= deadline_ns) {
        return;
    }
    timespec until{};
    until.tv_sec = static_cast<time_t>(deadline_ns / 1'000'000'000);
    until.tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000);
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
    }
}

// When each batch became durable: (last LSN of the batch, time), appended on the writer thread.
struct DurableLog {
    explicit DurableLog(std::size_t capacity) { events.reserve(capacity); }
    void record(wal::Lsn lsn) {
        if (recording.load(std::memory_order_acquire) && events.size() < events.capacity()) {
            events.emplace_back(lsn, now_ns());
        }
    }
    // Time at which `lsn` was durable: the first event covering it.
    std::int64_t durable_at(wal::Lsn lsn, std::size_t* cursor) const {
        while (*cursor < events.size() && events[*cursor].first < lsn) {
            ++*cursor;
        }
        return *cursor < events.size() ? events[*cursor].second : -1;
    }
    std::vector<std::pair<wal::Lsn, std::int64_t>> events;
    std::atomic<bool> recording{true};
};

struct PhaseResult {
    std::uint64_t records = 0;
    double seconds = 0;
    double records_per_sec = 0;
    Percentiles latency;
    std::uint64_t batches = 0;
    std::uint64_t busy_retries = 0;
    // Segment handling during the measured records (the warm-up excluded).
    std::uint64_t rotations = 0;
    std::uint64_t rotations_recycled = 0;
    std::uint64_t rotations_zero_filled = 0;
    std::uint64_t rotation_stalls = 0;
    std::uint64_t segments_zero_filled = 0;
    std::uint64_t segments_recycled = 0;
};

struct SegmentSettings {
    std::uint64_t segment_bytes = 64ull << 20;
    std::uint32_t max_recycled = 1;
    // Fill the log until segments are recycled before measuring: the steady state of a daemon
    // that has run for a few segments, not a fresh log's first zero-fills.
    bool warm_up = false;
};

// Stands in for the store's checkpoint: releases everything durable every 100 ms, so obsolete
// segments are recycled (or deleted) as they would be behind a store that keeps up.
class Releaser {
  public:
    explicit Releaser(wal::WalWriter& writer)
        : thread_([this, &writer] {
              std::unique_lock lock(mutex_);
              while (!stop_) {
                  stopped_.wait_for(lock, std::chrono::milliseconds(100));
                  writer.release_below(writer.durable_lsn() + 1);
              }
          }) {}
    ~Releaser() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        stopped_.notify_all();
        thread_.join();
    }
    Releaser(const Releaser&) = delete;
    Releaser& operator=(const Releaser&) = delete;

  private:
    std::mutex mutex_;
    std::condition_variable stopped_;
    bool stop_ = false;
    std::thread thread_;
};

void warm_up(wal::WalWriter& writer, std::uint32_t payload_bytes, std::uint32_t max_recycled) {
    const std::vector<std::byte> payload(payload_bytes, std::byte{0x5A});
    // Steady state: three rotations, and (with recycling) two segments recycled. The recycling
    // happens in the background, and whether a released segment is recycled or deleted depends on
    // what the preparer holds at that moment, so keep writing (and releasing) until it has been
    // seen, never waiting on a count that may not move.
    constexpr std::uint64_t kMaxRotations = 200;
    const auto settled = [&] {
        const wal::WalStats stats = writer.stats();
        return stats.rotations >= 3 && (max_recycled == 0 || stats.segments_recycled >= 2);
    };
    while (!settled()) {
        if (writer.stats().rotations > kMaxRotations) {
            throw wal::WalError("the warm-up rotated " + std::to_string(kMaxRotations) +
                                " segments without two being recycled");
        }
        wal::Lsn last = 0;
        for (int i = 0; i < 10'000; ++i) {
            wal::AppendResult result;
            while ((result = writer.try_append(1, payload)).status == wal::AppendStatus::Busy) {
                std::this_thread::yield();
            }
            if (result.status != wal::AppendStatus::Ok) {
                throw wal::WalError("WAL failed during the warm-up: " + writer.failure());
            }
            last = result.lsn;
        }
        writer.wait_durable(last);
        writer.release_below(writer.durable_lsn() + 1);
        writer.wait_background_idle();
    }
}

wal::WalOptions bench_options(std::uint32_t payload_bytes, const SegmentSettings& segments) {
    wal::WalOptions options;
    options.segment_bytes = segments.segment_bytes;
    options.max_recycled_segments = segments.max_recycled;
    options.max_payload_bytes = std::max<std::uint32_t>(payload_bytes, 1);
    options.queue_capacity = 1u << 17;
    options.batch_bytes_max = 8ull << 20;
    options.batch_size =
        1u << 20;  // at saturation, batches are bounded by bytes and the fsync pace
    options.commit_when_idle = true;
    return options;
}

// How the open-loop producer waits for a record's planned hand-over time.
enum class Pace : std::uint8_t {
    Sleep,  // an absolute-time sleep, as an event-driven gateway waits: leaves the cores free
    Spin,   // a busy loop: punctual, but takes a whole core from the writer and the kernel
};

// Producers append `records` records: as fast as they can (rate 0), or one producer open loop at
// `rate`, each record due at its planned time whether or not the producer is late. With an
// interleave, the records are planned only in every other slice and the probe syncs in the others.
PhaseResult run_phase(const std::string& dir, std::uint64_t records, std::uint32_t payload_bytes,
                      unsigned producers, double rate, const SegmentSettings& segments,
                      Pace pace = Pace::Sleep, const Interleave& interleave = {}) {
    std::filesystem::create_directories(dir);
    wal::UringStorage storage(dir);
    DurableLog durable(records + 16);
    wal::WalOptions options = bench_options(payload_bytes, segments);
    options.on_durable = [&durable](wal::Lsn lsn) { durable.record(lsn); };
    wal::WalWriter writer(storage, options);
    // The writer's memory is faulted in behind its constructor: a start's one-time cost, not
    // the appends' (the constructor zeroed it before 2026-12-05, outside the phase too).
    writer.wait_prefaulted();
    if (segments.warm_up) {
        durable.recording = false;
        warm_up(writer, payload_bytes, segments.max_recycled);
        durable.recording = true;
    }
    const wal::WalStats before = writer.stats();
    std::optional<Releaser> releaser;
    releaser.emplace(writer);
    const wal::Lsn base = writer.next_lsn();
    std::vector<std::int64_t> start_ns(records, 0);
    std::atomic<std::uint64_t> busy{0};
    std::atomic<bool> failed{false};
    std::string probe_error;  // written by the probe's thread before it sets `failed`
    const std::vector<std::byte> payload(payload_bytes, std::byte{0x5A});
    const std::int64_t phase_start = now_ns() + 1'000'000;
    const std::uint64_t per_producer = records / producers;
    const std::uint64_t per_slice =
        interleave.probe != nullptr
            ? std::max<std::uint64_t>(1, static_cast<std::uint64_t>(
                                             rate * static_cast<double>(interleave.slice_ns) / 1e9))
            : records;
    const auto planned_ns = [&](std::uint64_t i) {
        return phase_start + static_cast<std::int64_t>(i / per_slice) * 2 * interleave.slice_ns +
               static_cast<std::int64_t>(static_cast<double>(i % per_slice) * 1e9 / rate);
    };
    std::vector<std::thread> threads;
    if (interleave.probe != nullptr) {
        // The probe's slice k starts once the WAL's slice k is planned out and durable, so the
        // two never share the disk, and ends where the WAL's next slice begins.
        threads.emplace_back([&] {
            try {
                for (std::uint64_t k = 0; k * per_slice < records && !failed; ++k) {
                    const std::uint64_t last = std::min(records, (k + 1) * per_slice) - 1;
                    if (!writer.wait_durable(base + last)) {
                        return;
                    }
                    const std::int64_t slice_start =
                        phase_start + static_cast<std::int64_t>(2 * k + 1) * interleave.slice_ns;
                    sleep_until_ns(slice_start);
                    interleave.probe->sync_until(Clock::time_point(
                        std::chrono::nanoseconds(slice_start + interleave.slice_ns)));
                }
            } catch (const std::exception& e) {
                probe_error = e.what();
                failed = true;
            }
        });
    }
    for (unsigned p = 0; p < producers; ++p) {
        const std::uint64_t count = p + 1 == producers ? records - per_producer * p : per_producer;
        threads.emplace_back([&, p, count] {
            (void)p;
            std::uint64_t local_busy = 0;
            for (std::uint64_t i = 0; i < count; ++i) {
                std::int64_t start = 0;
                if (rate > 0) {
                    start = planned_ns(i);
                    if (pace == Pace::Sleep) {
                        sleep_until_ns(start);
                    } else {
                        while (now_ns() < start) {
                        }
                    }
                }
                wal::AppendResult result;
                while (true) {
                    if (rate <= 0) {
                        start = now_ns();
                    }
                    result = writer.try_append(1, payload);
                    if (result.status != wal::AppendStatus::Busy) {
                        break;
                    }
                    ++local_busy;
                    std::this_thread::yield();
                }
                if (result.status != wal::AppendStatus::Ok) {
                    failed = true;
                    return;
                }
                start_ns[result.lsn - base] = start;
            }
            busy += local_busy;
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    if (!probe_error.empty()) {
        throw wal::WalError("the ideal writer failed: " + probe_error);
    }
    if (failed || !writer.wait_durable(base + records - 1)) {
        throw wal::WalError("WAL failed during the benchmark: " + writer.failure());
    }
    const wal::WalStats stats = writer.stats();
    releaser.reset();
    writer.close();

    PhaseResult result;
    result.records = records;
    result.batches = stats.batches - before.batches;
    result.rotations = stats.rotations - before.rotations;
    result.rotations_recycled = stats.rotations_recycled - before.rotations_recycled;
    result.rotations_zero_filled = stats.rotations_zero_filled - before.rotations_zero_filled;
    result.rotation_stalls = stats.rotation_stalls - before.rotation_stalls;
    result.segments_zero_filled = stats.segments_zero_filled - before.segments_zero_filled;
    result.segments_recycled = stats.segments_recycled - before.segments_recycled;
    result.busy_retries = busy.load();
    std::vector<std::int64_t> latencies;
    latencies.reserve(records);
    std::size_t cursor = 0;
    std::int64_t first_start = INT64_MAX;
    std::int64_t last_durable = 0;
    for (std::uint64_t i = 0; i < records; ++i) {
        const std::int64_t done = durable.durable_at(base + i, &cursor);
        latencies.push_back(done - start_ns[i]);
        first_start = std::min(first_start, start_ns[i]);
        last_durable = std::max(last_durable, done);
    }
    result.seconds = static_cast<double>(last_durable - first_start) / 1e9;
    result.records_per_sec = static_cast<double>(records) / result.seconds;
    result.latency = percentiles(std::move(latencies));
    return result;
}

}  // namespace

int bench_wal_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {{"records", true},
                                             {"record-bytes", true},
                                             {"producers", true},
                                             {"rate", true},
                                             {"dir", true},
                                             {"json", false},
                                             {"offered-seconds", true},
                                             {"floor-seconds", true},
                                             {"segment-mib", true},
                                             {"max-recycled", true},
                                             {"slice-ms", true},
                                             {"pace", true}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional()[0] + "'");
    }
    const std::uint64_t records = args.unsigned_or("records", 2'000'000, 1000, 100'000'000);
    const auto payload_bytes = static_cast<std::uint32_t>(
        args.unsigned_or("record-bytes", 64, 0, wal::kMaxPayloadBytesLimit));
    const auto producers = static_cast<unsigned>(args.unsigned_or("producers", 1, 1, 64));
    const double rate = static_cast<double>(args.unsigned_or("rate", 100'000, 0, 10'000'000));
    const bool json = args.has("json");
    const std::uint64_t offered_seconds = args.unsigned_or("offered-seconds", 30, 1, 3600);
    const std::uint64_t slice_ms = args.unsigned_or("slice-ms", 500, 0, 60'000);
    if (slice_ms > 0 && args.has("floor-seconds")) {
        throw CliError(
            "--floor-seconds applies only with --slice-ms 0: interleaved, the ideal writer runs "
            "in the slices between the WAL's, as long as the WAL does");
    }
    const std::uint64_t floor_seconds =
        slice_ms > 0 ? offered_seconds
                     : args.unsigned_or("floor-seconds", offered_seconds, 1, 3600);
    Pace pace = Pace::Sleep;
    if (const auto given = args.text("pace")) {
        if (*given == "spin") {
            pace = Pace::Spin;
        } else if (*given != "sleep") {
            throw CliError("--pace must be sleep or spin, not '" + *given + "'");
        }
    }
    SegmentSettings segments;
    segments.segment_bytes = args.unsigned_or("segment-mib", 64, 1, 1024) << 20;
    segments.max_recycled = static_cast<std::uint32_t>(
        args.unsigned_or("max-recycled", 1, 0, wal::kMaxRecycledSegments));
    if (rate > 0 && rate * static_cast<double>(offered_seconds) > 100e6) {
        throw CliError("--rate times --offered-seconds is above 100,000,000 records");
    }

    std::string dir;
    bool remove_dir = false;
    if (auto given = args.text("dir")) {
        dir = *given + "/exchanged-bench-wal";
        if (std::filesystem::exists(dir)) {
            throw CliError("'" + dir + "' already exists; remove it or pick another --dir");
        }
        std::filesystem::create_directories(dir);
        remove_dir = true;
    } else {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "exchanged-bench-wal-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw wal::WalError(wal::errno_message("mkdtemp", errno));
        }
        dir = pattern;
        remove_dir = true;
    }
    struct Cleanup {
        std::string dir;
        bool active;
        ~Cleanup() {
            if (active) {
                std::error_code ignored;
                std::filesystem::remove_all(dir, ignored);
            }
        }
    } cleanup{dir, remove_dir};

    const double fdatasync_p50_us = measure_fdatasync_p50_us(dir);
    Percentiles floor =
        rate > 0 && slice_ms == 0
            ? measure_floor_in_one_piece(dir, rate, static_cast<double>(floor_seconds))
            : Percentiles{};
    const PhaseResult saturation =
        run_phase(dir + "/saturation", records, payload_bytes, producers, 0, segments);
    PhaseResult offered;
    {
        // Let the saturation phase's writeback settle so it does not land in the next phase's
        // fsyncs.
        std::error_code ignored;
        std::filesystem::remove_all(dir + "/saturation", ignored);
        ::sync();
    }
    if (rate > 0) {
        const auto offered_records =
            static_cast<std::uint64_t>(rate * static_cast<double>(offered_seconds));
        SegmentSettings offered_segments = segments;
        offered_segments.warm_up = true;
        std::optional<IdealWriterProbe> probe;
        Interleave interleave;
        if (slice_ms > 0) {
            probe.emplace(dir + "/ideal-writer");
            interleave = {static_cast<std::int64_t>(slice_ms) * 1'000'000, &*probe};
        }
        offered = run_phase(dir + "/offered", std::max<std::uint64_t>(offered_records, 1000),
                            payload_bytes, 1, rate, offered_segments, pace, interleave);
        if (probe) {
            floor = percentiles(replay_one_batch_in_flight(probe->syncs_ns(), rate));
        }
    }

    const double p50_ratio = offered.latency.p50_us / fdatasync_p50_us;
    const double p99_ratio = offered.latency.p99_us / fdatasync_p50_us;
    const double p50_over_floor = floor.p50_us > 0 ? offered.latency.p50_us / floor.p50_us : 0;
    const double p99_over_floor = floor.p99_us > 0 ? offered.latency.p99_us / floor.p99_us : 0;
    if (json) {
        std::printf(
            "{\"fdatasync_p50_us\": %.1f, \"records\": %llu, \"record_bytes\": %u, \"producers\": "
            "%u, "
            "\"records_per_sec\": %.0f, \"saturation_batches\": %llu, \"saturation_busy_retries\": "
            "%llu, "
            "\"saturation_durable_p50_us\": %.1f, \"saturation_durable_p99_us\": %.1f, "
            "\"saturation_durable_p999_us\": %.1f, \"offered_rate\": %.0f, \"offered_records\": "
            "%llu, "
            "\"durable_p50_us\": %.1f, \"durable_p99_us\": %.1f, \"durable_p999_us\": %.1f, "
            "\"durable_max_us\": %.1f, \"p50_over_fdatasync\": %.2f, \"p99_over_fdatasync\": "
            "%.2f, \"disk_floor_p50_us\": %.1f, \"disk_floor_p99_us\": %.1f, "
            "\"p50_over_floor\": %.2f, \"p99_over_floor\": %.2f, \"offered_seconds\": %llu, "
            "\"floor_seconds\": %llu, \"segment_bytes\": %llu, \"max_recycled_segments\": %u, "
            "\"offered_rotations\": %llu, \"offered_rotations_recycled\": %llu, "
            "\"offered_rotations_zero_filled\": %llu, \"offered_rotation_stalls\": %llu, "
            "\"offered_segments_zero_filled\": %llu, \"offered_segments_recycled\": %llu, "
            "\"slice_ms\": %llu, \"pace\": \"%s\"}\n",
            fdatasync_p50_us, static_cast<unsigned long long>(records), payload_bytes, producers,
            saturation.records_per_sec, static_cast<unsigned long long>(saturation.batches),
            static_cast<unsigned long long>(saturation.busy_retries), saturation.latency.p50_us,
            saturation.latency.p99_us, saturation.latency.p999_us, rate,
            static_cast<unsigned long long>(offered.records), offered.latency.p50_us,
            offered.latency.p99_us, offered.latency.p999_us, offered.latency.max_us, p50_ratio,
            p99_ratio, floor.p50_us, floor.p99_us, p50_over_floor, p99_over_floor,
            static_cast<unsigned long long>(offered_seconds),
            static_cast<unsigned long long>(floor_seconds),
            static_cast<unsigned long long>(segments.segment_bytes), segments.max_recycled,
            static_cast<unsigned long long>(offered.rotations),
            static_cast<unsigned long long>(offered.rotations_recycled),
            static_cast<unsigned long long>(offered.rotations_zero_filled),
            static_cast<unsigned long long>(offered.rotation_stalls),
            static_cast<unsigned long long>(offered.segments_zero_filled),
            static_cast<unsigned long long>(offered.segments_recycled),
            static_cast<unsigned long long>(slice_ms), pace == Pace::Sleep ? "sleep" : "spin");
        return 0;
    }
    std::printf("fdatasync p50 (1000 x 64 B write + fdatasync): %.1f us\n", fdatasync_p50_us);
    std::printf(
        "saturation: %llu records of %u B, %u producer(s): %.0f records/s durable, %llu batches\n",
        static_cast<unsigned long long>(records), payload_bytes, producers,
        saturation.records_per_sec, static_cast<unsigned long long>(saturation.batches));
    std::printf("  hand-over to durable: p50 %.1f us  p99 %.1f us  p99.9 %.1f us\n",
                saturation.latency.p50_us, saturation.latency.p99_us, saturation.latency.p999_us);
    if (rate > 0) {
        std::printf(
            "offered %.0f records/s (open loop, producer pace %s, %llu records): %llu batches\n",
            rate, pace == Pace::Sleep ? "sleep" : "spin",
            static_cast<unsigned long long>(offered.records),
            static_cast<unsigned long long>(offered.batches));
        std::printf(
            "  scheduled to durable: p50 %.1f us (%.2fx fdatasync)  p99 %.1f us (%.2fx)  p99.9 "
            "%.1f us  max %.1f us\n",
            offered.latency.p50_us, p50_ratio, offered.latency.p99_us, p99_ratio,
            offered.latency.p999_us, offered.latency.max_us);
        std::printf(
            "  ideal one-batch writer (%llu s of back-to-back write + fdatasync, %s): p50 "
            "%.1f us (%.2fx)  p99 %.1f us (%.2fx)\n",
            static_cast<unsigned long long>(floor_seconds),
            slice_ms > 0
                ? ("in the " + std::to_string(slice_ms) + " ms slices between the WAL's").c_str()
                : "in one piece before the WAL",
            floor.p50_us, floor.p50_us / fdatasync_p50_us, floor.p99_us,
            floor.p99_us / fdatasync_p50_us);
        std::printf("  WAL over the ideal writer: p50 %.2fx  p99 %.2fx\n", p50_over_floor,
                    p99_over_floor);
        std::printf(
            "  segments of %llu MiB during the offered phase (after a warm-up): %llu rotations "
            "(%llu into recycled segments, %llu into zero-filled spares, %llu waited for the "
            "spare), %llu segments recycled, %llu zero-filled\n",
            static_cast<unsigned long long>(segments.segment_bytes >> 20),
            static_cast<unsigned long long>(offered.rotations),
            static_cast<unsigned long long>(offered.rotations_recycled),
            static_cast<unsigned long long>(offered.rotations_zero_filled),
            static_cast<unsigned long long>(offered.rotation_stalls),
            static_cast<unsigned long long>(offered.segments_recycled),
            static_cast<unsigned long long>(offered.segments_zero_filled));
    }
    return 0;
}

}  // namespace exchanged::tools
