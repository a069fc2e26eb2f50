// UnflushedWindow with stamps the test chooses: the age it reports is never below the true age of
// the oldest record the store has not committed, and at most one bucket span above it.
#include <catch2/catch.hpp>

#include "service/unflushed_window.hpp"

using exchanged::TimestampNs;
using exchanged::service::UnflushedWindow;

namespace {

constexpr TimestampNs kMs = 1'000'000;
constexpr TimestampNs kStart = 1'700'000'000'000'000'000;

}  // namespace

TEST_CASE("UnflushedWindow without a bound is never exceeded", "[service][unflushed]") {
    UnflushedWindow window(0);
    CHECK_FALSE(window.enabled());
    window.logged(1, kStart);
    CHECK_FALSE(window.exceeded(0, kStart + 1000 * kMs));
}

TEST_CASE("UnflushedWindow ages the oldest record the store has not committed",
          "[service][unflushed]") {
    UnflushedWindow window(10 * kMs);
    CHECK(window.age(0, kStart) == 0);

    window.logged(1, kStart);
    window.logged(2, kStart + 4 * kMs);
    window.logged(3, kStart + 8 * kMs);
    CHECK(window.age(0, kStart + 9 * kMs) == 9 * kMs);
    CHECK_FALSE(window.exceeded(0, kStart + 10 * kMs));
    CHECK(window.exceeded(0, kStart + 10 * kMs + 1));

    // The store committed LSN 1: the oldest left is LSN 2, stamped at 4 ms.
    CHECK(window.age(1, kStart + 11 * kMs) == 7 * kMs);
    CHECK_FALSE(window.exceeded(1, kStart + 11 * kMs));
    CHECK(window.exceeded(2, kStart + 18 * kMs + 1));
    CHECK(window.age(3, kStart + 100 * kMs) == 0);
    CHECK_FALSE(window.exceeded(3, kStart + 100 * kMs));
}

TEST_CASE("UnflushedWindow over-estimates by at most one bucket span", "[service][unflushed]") {
    const TimestampNs span = 64 * kMs / UnflushedWindow::kBucketsPerWindow;  // 1 ms
    UnflushedWindow window(64 * kMs);
    // Records 1..10 a tenth of a span apart share the first bucket; 11 opens the next.
    for (TimestampNs i = 0; i < 11; ++i) {
        window.logged(static_cast<exchanged::wal::Lsn>(i + 1), kStart + i * span / 10);
    }
    // With LSN 5 committed, LSN 6 (stamped 0.5 spans in) is the oldest: the bucket reports its
    // first stamp, half a span early, never late.
    const TimestampNs now = kStart + 20 * kMs;
    const TimestampNs true_age = now - (kStart + 5 * span / 10);
    const TimestampNs age = window.age(5, now);
    CHECK(age >= true_age);
    CHECK(age - true_age <= span);
    // Once the first bucket is committed the second one's stamp is exact.
    CHECK(window.age(10, now) == now - (kStart + span));
}

TEST_CASE("UnflushedWindow with a full ring folds new records into the newest bucket",
          "[service][unflushed]") {
    UnflushedWindow window(64 * kMs, 4);
    for (TimestampNs i = 0; i < 8; ++i) {
        window.logged(static_cast<exchanged::wal::Lsn>(i + 1), kStart + i * 10 * kMs);
    }
    // Buckets: 1@0, 2@10, 3@20, 4..8@30. With 3 committed the oldest is 4 at 30 ms, and the
    // records folded in behind it (5..8, stamped later) keep that older, over-estimating stamp.
    CHECK(window.age(3, kStart + 100 * kMs) == 70 * kMs);
    CHECK(window.age(7, kStart + 100 * kMs) == 70 * kMs);
    CHECK(window.age(8, kStart + 100 * kMs) == 0);
    // Room again: a new record opens its own bucket.
    window.logged(9, kStart + 100 * kMs);
    CHECK(window.age(8, kStart + 105 * kMs) == 5 * kMs);
}

TEST_CASE("UnflushedWindow reports its age to another thread without under-estimating it",
          "[service][unflushed]") {
    UnflushedWindow window(10 * kMs);
    CHECK(window.age_at(0, kStart) == 0);
    window.logged(1, kStart);
    window.logged(2, kStart + 5 * kMs);
    // A stalled store: the age keeps growing with no command on the shard.
    CHECK(window.age_at(0, kStart + 50 * kMs) == 50 * kMs);
    // The store committed LSN 1 since the shard last looked: still the older stamp, never less.
    CHECK(window.age_at(1, kStart + 50 * kMs) == 50 * kMs);
    // Once the shard looked, the oldest is LSN 2; once the store has everything, 0.
    window.age(1, kStart + 50 * kMs);
    CHECK(window.age_at(1, kStart + 50 * kMs) == 45 * kMs);
    CHECK(window.age_at(2, kStart + 50 * kMs) == 0);
}
