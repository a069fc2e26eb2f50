// The real disk: a child process writes through io_uring at full speed and reports each durable LSN
// on a pipe; the parent SIGKILLs it at random moments, recovers the log, and finds every reported
// record intact and in order.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>

#include "../sanitizer_scale.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"
#include "wal_test_util.hpp"

using namespace exchanged::wal;

namespace {

// Runs the child until it reports and then for about `run_ms` more, kills it, and returns the
// highest durable LSN it reported.
Lsn run_and_kill(const std::string& dir, int run_ms) {
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const std::string child = std::string(EXCHANGED_BIN_DIR) + "/wal_crash_child";
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        ::execl(child.c_str(), child.c_str(), dir.c_str(), static_cast<char*>(nullptr));
        std::_Exit(127);
    }
    ::close(pipe_fds[1]);
    Lsn highest = 0;
    Lsn buffer[512];
    std::size_t carry = 0;  // bytes of a partial LSN left from the last read
    auto drain = [&](int timeout_ms) {
        pollfd entry{pipe_fds[0], POLLIN, 0};
        if (::poll(&entry, 1, timeout_ms) <= 0) {
            return false;
        }
        const ssize_t got =
            ::read(pipe_fds[0], reinterpret_cast<char*>(buffer) + carry, sizeof(buffer) - carry);
        if (got <= 0) {
            return false;
        }
        const std::size_t bytes = carry + static_cast<std::size_t>(got);
        for (std::size_t i = 0; i + sizeof(Lsn) <= bytes; i += sizeof(Lsn)) {
            highest = std::max(highest, buffer[i / sizeof(Lsn)]);
        }
        carry = bytes % sizeof(Lsn);
        if (carry != 0) {
            std::memmove(buffer, reinterpret_cast<char*>(buffer) + bytes - carry, carry);
        }
        return true;
    };
    // The kill moment counts from the child's first report: recovering a long log takes a while,
    // far longer under sanitizers and a loaded CI machine, and a kill during recovery would test
    // nothing new.
    const auto started = std::chrono::steady_clock::now();
    while (highest == 0 && std::chrono::steady_clock::now() - started < std::chrono::seconds(120)) {
        drain(50);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        drain(5);
    }
    ::kill(pid, SIGKILL);
    // Whatever was reported before the kill is still in the pipe; a report counts only if whole.
    while (drain(100)) {
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(pipe_fds[0]);
    CHECK(WIFSIGNALED(status));
    return highest;
}

}  // namespace

TEST_CASE("SIGKILL at random moments never loses a reported durable record", "[wal][disk][kill]") {
    test::ScratchDir dir;
    std::mt19937 rng(12345);
    Lsn reported_before = 0;
    for (int cycle = 0; cycle < exchanged::sanitizer::scaled(6, 3); ++cycle) {
        INFO("cycle " << cycle);
        const Lsn reported = run_and_kill(dir.path(), 150 + static_cast<int>(rng() % 300));
        REQUIRE(reported > reported_before);  // the child made progress after recovering
        UringStorage storage(dir.path());
        const auto read_back = test::collect(storage);
        INFO(read_back.result.describe());
        REQUIRE(read_back.result.end != LogEnd::Corrupt);
        REQUIRE(read_back.mismatches == 0);
        REQUIRE(test::contiguous_from_one(read_back.lsns));
        REQUIRE(read_back.lsns.size() >= reported);
        // Recovery maps the segments instead of reading them: the same records, the same end.
        ScanOptions mapped;
        mapped.map_files = true;
        const auto mapped_back = test::collect(storage, mapped);
        CHECK(mapped_back.lsns == read_back.lsns);
        CHECK(mapped_back.mismatches == 0);
        CHECK(mapped_back.result.describe() == read_back.result.describe());
        CHECK(mapped_back.result.tail_offset == read_back.result.tail_offset);
        CHECK(mapped_back.result.tail_dirty_end == read_back.result.tail_dirty_end);
        reported_before = reported;
    }
}
