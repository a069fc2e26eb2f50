// Simulated storage for tests: files live in memory, and every file keeps its written bytes apart
// from the bytes a sync made durable, so a test can pull the plug:
//   - DropUnsynced: every byte not yet synced is lost;
//   - TornPrefix: a random prefix of the unsynced writes survives, cut at a 512-byte boundary (a
//     sector), the rest is lost;
//   - FlipSyncedBit: unsynced bytes are lost and one random bit of synced data flips.
// A crash point is set as "the Nth group-commit submit": its write reaches the (simulated) cache
// but its sync never completes, and from then on every operation fails as if the process had died.
// All randomness comes from the seed, so a failing case is reproducible from its seed.
//
// Directory entries are volatile too, as on a real file system: a name created, renamed or removed
// reverts on a power loss unless the directory was fsynced after it (create_zeroed, rename with
// sync_directory, or a group commit after set_active(..., true)). Files are inodes under names, so
// a renamed file keeps its data under whichever name survives, and a file whose every surviving
// name is gone is lost with its data.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "wal/storage.hpp"

namespace exchanged::wal {

class SimStorage final : public Storage {
  public:
    enum class PowerLoss : std::uint8_t { DropUnsynced, TornPrefix, FlipSyncedBit };

    explicit SimStorage(std::uint64_t seed);

    // --- fault injection and inspection (any thread) ---
    // The `submit_count`-th submit from now is the crash point (1 = the next one).
    void crash_at_submit(std::uint64_t submit_count);
    // The next submitted batch fails its fdatasync with `errno_value`.
    void fail_next_sync(int errno_value);
    // Applies the power loss to every file and clears the crashed state. Returns a description of
    // what was done (which bit flipped, how many bytes survived), for test messages.
    std::string lose_power(PowerLoss mode);
    void flip_bit(const std::string& name, std::uint64_t offset, int bit);
    // Current contents of a file as a reader would see them.
    std::vector<std::byte> contents(const std::string& name);
    bool crashed();
    std::uint64_t unsynced_bytes();
    // Simulated latency of each group commit (its outcome is reported only that long after submit).
    void set_sync_latency(std::chrono::microseconds latency);

    // --- Storage ---
    std::vector<std::string> list_files() override;
    std::uint64_t file_bytes(const std::string& name) override;
    void read(const std::string& name, std::uint64_t offset, std::span<std::byte> out) override;
    void create_zeroed(const std::string& name, std::uint64_t bytes) override;
    void write_durable(const std::string& name, std::uint64_t offset,
                       std::span<const std::byte> data) override;
    void rename(const std::string& from, const std::string& to, bool sync_directory) override;
    void remove(const std::string& name) override;

    void start_async(int wake_fd) override;
    void set_active(const std::string& name, bool sync_directory_next) override;
    void submit(std::uint64_t offset, std::span<const std::byte> data) override;
    std::optional<BatchOutcome> wait(std::int64_t timeout_ns) override;
    void stop_async() override;

  private:
    struct Extent {
        std::uint64_t offset;
        std::uint64_t bytes;
    };
    struct File {                        // an inode
        std::vector<std::byte> current;  // what reads return
        std::vector<std::byte> synced;   // what survives power loss
        std::vector<Extent> unsynced;    // writes since the last sync, in order
    };
    using Directory = std::map<std::string, std::uint64_t>;  // name -> inode
    struct Pending {
        std::string name;
        std::uint64_t offset = 0;
        std::span<const std::byte> data;
        std::chrono::steady_clock::time_point ready_at;
    };

    File& file_locked(const std::string& name);
    void check_alive_locked(const std::string& what);
    BatchOutcome complete_locked(const Pending& pending);
    // The only places a file's data and the directory become durable (and where the mutation
    // checks' faults skip them).
    void sync_data_locked(File& file);
    void sync_directory_locked();
    void drop_unreachable_locked();

    std::mutex mutex_;
    std::mt19937_64 rng_;
    std::map<std::uint64_t, File> inodes_;
    Directory names_;          // the directory as reads see it
    Directory durable_names_;  // the directory as of its last fsync: what a power loss leaves
    std::uint64_t next_inode_ = 1;
    bool directory_sync_pending_ = false;  // the next group commit also fsyncs the directory
    std::uint64_t crash_countdown_ = 0;    // 0: no crash scheduled
    bool crashed_ = false;
    int fail_sync_errno_ = 0;
    std::chrono::microseconds sync_latency_{0};
    // Writer-thread state.
    int wake_fd_ = -1;
    std::string active_name_;
    std::optional<Pending> pending_;
};

}  // namespace exchanged::wal
