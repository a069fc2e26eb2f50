// A wal::Storage that forwards everything to another one (the simulated disk) but holds the WAL
// writer back between group commits until its owner says "commit now". The writer's thread then
// takes every record handed over so far, commits it (one batch, or more where a segment or the
// batch buffer ends) and waits again. Which records share a batch, and therefore which records a
// crash leaves unsynced or tears, then follows from the owner's choices alone and never from
// thread timing, so a power-loss scenario replays exactly from its seed.
//
// The writer is unchanged: it still runs its own thread, its group commit and its failure path;
// only its sleep between batches is where this storage waits for the owner.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "wal/storage.hpp"

namespace exchanged::tools {

class SteppedStorage final : public wal::Storage {
  public:
    // `inner` must outlive this storage.
    explicit SteppedStorage(wal::Storage& inner) : inner_(inner) {}

    // Blocks until the writer has nothing in flight and waits for work (true), or its last batch
    // failed (false). Records handed over after it returns go into the next commit().
    bool wait_idle();
    // Lets the writer take and commit every record handed over so far, then waits until it is
    // idle again (true: they are durable) or a batch failed (false: the simulated crash).
    bool commit();
    // Stops holding the writer back, for WalWriter::close(), which must find it running freely.
    void run_freely();
    // Called on the writer's thread before each batch completes: waits for the writer's
    // background segment work (WalWriter::wait_background_idle), whose directory changes a
    // power loss keeps only if a directory sync came after them. Their place relative to the
    // crash then follows from the steps, not from thread timing.
    void set_background_wait(std::function<void()> wait);

    // --- wal::Storage: forwarded ---
    std::vector<std::string> list_files() override { return inner_.list_files(); }
    std::uint64_t file_bytes(const std::string& name) override { return inner_.file_bytes(name); }
    void read(const std::string& name, std::uint64_t offset, std::span<std::byte> out) override {
        inner_.read(name, offset, out);
    }
    void create_zeroed(const std::string& name, std::uint64_t bytes) override {
        inner_.create_zeroed(name, bytes);
    }
    void write_durable(const std::string& name, std::uint64_t offset,
                       std::span<const std::byte> data) override {
        inner_.write_durable(name, offset, data);
    }
    void rename(const std::string& from, const std::string& to, bool sync_directory) override {
        inner_.rename(from, to, sync_directory);
    }
    void remove(const std::string& name) override { inner_.remove(name); }
    void start_async(int wake_fd) override { inner_.start_async(wake_fd); }
    void set_active(const std::string& name, bool sync_directory_next) override {
        inner_.set_active(name, sync_directory_next);
    }
    void stop_async() override { inner_.stop_async(); }

    // --- wal::Storage: the group commit, where the writer is held ---
    void submit(std::uint64_t offset, std::span<const std::byte> data) override;
    std::optional<wal::BatchOutcome> wait(std::int64_t timeout_ns) override;

  private:
    wal::Storage& inner_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool in_flight_ = false;  // a batch was submitted and its outcome not yet returned
    bool idle_ = false;       // the writer sleeps with nothing in flight, waiting for a go
    bool go_ = false;         // the owner let it take what was handed over
    bool failed_ = false;     // a batch failed: the writer has stopped for good
    bool free_ = false;       // run_freely() was called
    std::function<void()> background_wait_;
};

}  // namespace exchanged::tools
