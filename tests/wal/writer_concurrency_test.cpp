// Several producer threads against one writer, on simulated storage and on the real disk
// (io_uring). Labelled "concurrency" so they also run under ThreadSanitizer.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "wal/sim_storage.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"
#include "wal_test_util.hpp"

using namespace exchanged::wal;

namespace {

constexpr int kProducers = 4;
constexpr std::uint64_t kRecordsPerProducer = 20000;

struct Tagged {
    std::uint32_t producer;
    std::uint64_t sequence;
};

void run_producers(Storage& storage, const WalOptions& options) {
    std::vector<std::vector<Lsn>> lsns(kProducers);
    std::atomic<std::uint64_t> durable_callbacks{0};
    WalOptions with_callback = options;
    with_callback.on_durable = [&](Lsn) {
        durable_callbacks.fetch_add(1, std::memory_order_relaxed);
    };
    {
        WalWriter writer(storage, with_callback);
        std::vector<std::thread> threads;
        for (int p = 0; p < kProducers; ++p) {
            threads.emplace_back([&, p] {
                lsns[p].reserve(kRecordsPerProducer);
                for (std::uint64_t i = 0; i < kRecordsPerProducer; ++i) {
                    const Tagged tag{static_cast<std::uint32_t>(p), i};
                    std::byte payload[sizeof(Tagged)];
                    std::memcpy(payload, &tag, sizeof(tag));
                    AppendResult result;
                    while ((result = writer.try_append(static_cast<std::uint16_t>(p), payload))
                               .status == AppendStatus::Busy) {
                        std::this_thread::yield();
                    }
                    if (result.status != AppendStatus::Ok) {
                        return;
                    }
                    lsns[p].push_back(result.lsn);
                }
            });
        }
        for (std::thread& thread : threads) {
            thread.join();
        }
        const Lsn total = kProducers * kRecordsPerProducer;
        REQUIRE(writer.wait_durable(total));
        CHECK(writer.durable_lsn() == total);
        writer.close();
        CHECK(writer.state() == WalState::Closed);
        CHECK(durable_callbacks.load() == writer.stats().batches);
        // The histograms on /metrics: one sync time and one group size per group commit, and the
        // group sizes add up to every record.
        const WalStats stats = writer.stats();
        const exchanged::HistogramSnapshot sizes = writer.batch_records().snapshot();
        const exchanged::HistogramSnapshot syncs = writer.sync_seconds().snapshot();
        CHECK(sizes.count() == stats.batches);
        CHECK(sizes.sum == static_cast<double>(total));
        CHECK(syncs.count() == stats.batches);
        CHECK(syncs.sum >= 0);
        // The log keeps at least the active segment, of the configured size.
        CHECK(writer.segment_bytes() >= options.segment_bytes);
        CHECK(writer.segment_bytes() % options.segment_bytes == 0);
    }
    for (int p = 0; p < kProducers; ++p) {
        REQUIRE(lsns[p].size() == kRecordsPerProducer);
    }
    // Every record is where its producer was told, and each producer's records keep their order.
    std::vector<std::uint64_t> next_sequence(kProducers, 0);
    std::uint64_t count = 0;
    bool ok = true;
    const ScanResult result = scan_log(storage, {}, [&](const RecordView& record) {
        ++count;
        Tagged tag{};
        ok = ok && record.payload.size() == sizeof(Tagged);
        std::memcpy(&tag, record.payload.data(), sizeof(tag));
        ok = ok && record.lsn == count && tag.producer < kProducers &&
             record.type == tag.producer && tag.sequence == next_sequence[tag.producer] &&
             lsns[tag.producer][tag.sequence] == record.lsn;
        ++next_sequence[tag.producer];
    });
    CHECK(result.end == LogEnd::Clean);
    CHECK(ok);
    CHECK(count == kProducers * kRecordsPerProducer);
}

}  // namespace

TEST_CASE("concurrent producers on simulated storage: every record once, in LSN order",
          "[wal][concurrency]") {
    SimStorage sim(11);
    WalOptions options;
    options.segment_bytes = 256 * 1024;
    options.queue_capacity = 1024;
    options.batch_bytes_max = 64 * 1024;
    sim.set_sync_latency(std::chrono::microseconds(50));
    run_producers(sim, options);
}

TEST_CASE("concurrent producers on the real disk through io_uring", "[wal][concurrency][disk]") {
    test::ScratchDir dir;
    UringStorage storage(dir.path());
    WalOptions options;
    options.segment_bytes = 1 << 20;
    options.queue_capacity = 4096;
    options.batch_bytes_max = 256 * 1024;
    run_producers(storage, options);
}

TEST_CASE("while a batch is in flight the writer still empties a half-full queue",
          "[wal][concurrency]") {
    // The writer is not woken per record while a batch is in flight (that wake-up per record cost
    // the fdatasync latency); it must still wake when half the queue waits, or producers would see
    // `busy` after queue_capacity records instead of queue_capacity plus a batch buffer.
    SimStorage sim(5);
    WalOptions options;
    options.segment_bytes = 256 * 1024;
    options.queue_capacity = 8;
    options.batch_bytes_max = 64 * 1024;
    sim.set_sync_latency(std::chrono::milliseconds(500));
    WalWriter writer(sim, options);
    const std::byte payload[16] = {};
    REQUIRE(writer.try_append(1, payload).status == AppendStatus::Ok);
    // Let the writer submit the first batch (it commits at once when idle); from then on it is in
    // flight for 500 ms.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    std::uint64_t accepted = 0;
    while (accepted < 64 && std::chrono::steady_clock::now() < deadline) {
        const AppendResult result = writer.try_append(1, payload);
        if (result.status == AppendStatus::Ok) {
            ++accepted;
        } else {
            REQUIRE(result.status == AppendStatus::Busy);
            std::this_thread::yield();
        }
    }
    CHECK(writer.durable_lsn() == 0);  // the first batch is still in flight
    CHECK(accepted == 64);
    REQUIRE(writer.wait_durable(1 + accepted));
    writer.close();
    std::uint64_t count = 0;
    const ScanResult result = scan_log(sim, {}, [&](const RecordView& record) {
        ++count;
        CHECK(record.lsn == count);
    });
    CHECK(result.end == LogEnd::Clean);
    CHECK(count == 1 + accepted);
}
