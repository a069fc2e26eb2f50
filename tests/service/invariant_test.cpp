// The durability invariants stay on in Release builds (common/invariant.hpp): a broken promise on
// the ack path aborts the daemon instead of acknowledging what it cannot honour. Each violation
// runs in a forked child whose stderr goes to a pipe; the parent checks that the child died of
// SIGABRT and named the invariant. This binary runs no threads, so fork() is safe here.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cassert>
#include <csignal>
#include <cstdio>
#include <functional>
#include <string>

#include "service_fakes.hpp"

using namespace exchanged;
using namespace exchanged::service;
using namespace exchanged::service::test;

namespace {

struct ChildResult {
    int status = 0;
    std::string err;  // everything the child wrote to stderr

    bool aborted() const { return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT; }
    bool exited_cleanly() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// Runs `body` in a child process and returns how it ended. A body that returns exits with 0.
ChildResult run_in_child(const std::function<void()>& body) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    std::fflush(nullptr);  // nothing buffered in the parent is written twice by the child
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        // Catch2 handles SIGABRT to report a crashed test; in the child the abort is the
        // expected outcome and must reach the parent as is.
        std::signal(SIGABRT, SIG_DFL);
        body();
        _exit(0);  // no atexit handlers, no Catch2 teardown in the child
    }
    close(fds[1]);
    ChildResult result;
    char buffer[512];
    ssize_t n = 0;
    while ((n = read(fds[0], buffer, sizeof buffer)) > 0) {
        result.err.append(buffer, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    REQUIRE(waitpid(pid, &result.status, 0) == pid);
    return result;
}

engine::ShardEvent accepted(wal::Lsn lsn) {
    engine::ShardEvent out;
    out.lsn = lsn;
    out.event.type = book::EventType::Accepted;
    out.event.instrument = kInstrument;
    return out;
}

// A gate at `wal` over fake points, for the gate's own invariants.
struct GateRig {
    GateRig() : points(match, wal, store), gate(sink, points, AckPoint::Wal, AckPoint::Wal, 16) {}
    MatchPoint match;
    FakePoint wal;
    FakePoint store;
    DurabilityPoints points;
    RecordingSink sink;
    ReleaseGate gate;
};

#ifdef NDEBUG
constexpr bool kAssertCompiledOut = true;
#else
constexpr bool kAssertCompiledOut = false;
#endif

}  // namespace

TEST_CASE("Replies queued into a gate with a decreasing LSN abort", "[service][invariant]") {
    const ChildResult bad = run_in_child([] {
        GateRig rig;
        rig.gate.push(accepted(5), ReplyOrigin{});
        rig.gate.push(accepted(4), ReplyOrigin{});
    });
    INFO("child stderr: " << bad.err);
    CHECK(bad.aborted());
    CHECK_THAT(bad.err,
               Catch::Contains("invariant violated: replies reach a gate in LSN order (4 vs 5)"));

    // The same replies in LSN order (and a refusal, LSN 0, in between) are fine: the harness tells
    // an abort from a clean exit.
    const ChildResult good = run_in_child([] {
        GateRig rig;
        rig.gate.push(accepted(4), ReplyOrigin{});
        rig.gate.push(accepted(0), ReplyOrigin{});
        rig.gate.push(accepted(5), ReplyOrigin{});
    });
    INFO("child stderr: " << good.err);
    CHECK(good.exited_cleanly());
    CHECK(good.err.empty());
}

TEST_CASE("A durability frontier that moves backwards aborts the gate", "[service][invariant]") {
    const ChildResult result = run_in_child([] {
        GateRig rig;
        rig.gate.push(accepted(5), ReplyOrigin{});
        rig.wal.set_frontier(3);
        rig.gate.release();  // the gate saw 3
        rig.wal.set_frontier(2);
        rig.gate.release();
    });
    INFO("child stderr: " << result.err);
    CHECK(result.aborted());
    CHECK_THAT(
        result.err,
        Catch::Contains("invariant violated: a durability frontier never decreases (2 vs 3)"));
}

TEST_CASE("StorePoint::advance above the WAL's durable LSN aborts", "[service][invariant]") {
    const ChildResult result = run_in_child([] {
        FakeCommandLog log;
        log.set_durable(5);
        StorePoint store(log, 0);
        store.advance(5);  // as far as the WAL: fine
        store.advance(6);
    });
    INFO("child stderr: " << result.err);
    CHECK(result.aborted());
    CHECK_THAT(result.err,
               Catch::Contains("invariant violated: store LSN <= WAL durable LSN (6 vs 5)"));

    // Without a WAL (a log that persists nothing) the store is the only durable copy, and may
    // run ahead of a durable LSN that never moves.
    engine::UnloggedCommandLog unlogged;
    StorePoint store(unlogged, 0);
    store.advance(6);
    CHECK(store.frontier() == 6);
}

TEST_CASE("The invariants do not depend on NDEBUG", "[service][invariant]") {
    // In a Release tree NDEBUG is defined and assert() is gone; the invariant still aborts, from
    // inside the library compiled with the same flags.
    const ChildResult with_assert = run_in_child([] { assert(false && "compiled out"); });
    CHECK(with_assert.exited_cleanly() == kAssertCompiledOut);

    const ChildResult with_invariant = run_in_child([] {
        FakeCommandLog log;
        StorePoint store(log, 0);
        store.advance(1);  // the log is durable up to 0
    });
    CHECK(with_invariant.aborted());
    CHECK_THAT(with_invariant.err, Catch::Contains("invariant violated"));
}
