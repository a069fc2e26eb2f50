// Test-only program for the kill -9 test: opens (recovers) the WAL in argv[1], writes records with
// contents derived from their LSN as fast as it can, and writes every durable LSN (8 bytes, native
// order) to stdout, which the parent reads through a pipe until it kills this process.
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"
#include "wal_test_util.hpp"

using namespace exchanged::wal;

int main(int argc, char** argv) {
    // It writes until killed: an option taken for a directory (a test runner listing tests with
    // `--list-test-names-only`) once filled 15 GB under that name.
    if (argc != 2 || argv[1][0] == '-') {
        std::fprintf(stderr, "usage: wal_crash_child DIR\n");
        return 2;
    }
    try {
        UringStorage storage(argv[1]);
        WalOptions options;
        options.segment_bytes = 256 * 1024;  // small, so the kills also hit rotations
        options.max_payload_bytes = 64;
        options.queue_capacity = 4096;
        options.batch_bytes_max = 64 * 1024;
        options.on_durable = [](Lsn lsn) {
            // The report must only leave after the LSN is durable: this runs after the fdatasync.
            const ssize_t written = ::write(STDOUT_FILENO, &lsn, sizeof(lsn));
            if (written != sizeof(lsn)) {
                std::_Exit(3);
            }
        };
        WalWriter writer(storage, options);
        for (Lsn lsn = writer.next_lsn();; ++lsn) {
            const std::vector<std::byte> payload = test::payload_for(lsn);
            AppendResult result;
            while ((result = writer.try_append(test::type_for(lsn), payload)).status ==
                   AppendStatus::Busy) {
                std::this_thread::yield();
            }
            if (result.status != AppendStatus::Ok || result.lsn != lsn) {
                std::fprintf(stderr, "wal_crash_child: append failed: %s\n",
                             writer.failure().c_str());
                return 1;
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "wal_crash_child: %s\n", e.what());
        return 1;
    }
}
