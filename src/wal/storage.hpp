// The file layer under the WAL: one directory of segment files. The writer runs unchanged on the
// real disk (UringStorage: io_uring) and on a simulated one that can lose power (SimStorage).
//
// Synchronous calls are for open, rotation and recovery (off the per-record path) and throw
// WalError naming the file and errno. The group commit is asynchronous: one batch at a time is
// submitted as write + fdatasync (+ directory fsync after a rotation), and wait() returns its
// outcome.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "wal/wal_types.hpp"

namespace exchanged::wal {

struct BatchOutcome {
    bool ok = true;
    std::string error;  // names the file and errno when !ok
};

// A whole file mapped read-only (recovery's scan: no copy into a buffer the scan first zeroes).
class MappedFile {
  public:
    virtual ~MappedFile() = default;
    virtual std::span<const std::byte> bytes() const = 0;
};

class Storage {
  public:
    virtual ~Storage() = default;

    // Names of the regular files in the directory (unsorted).
    virtual std::vector<std::string> list_files() = 0;
    virtual std::uint64_t file_bytes(const std::string& name) = 0;
    // Reads exactly out.size() bytes at `offset`; the range must lie inside the file.
    virtual void read(const std::string& name, std::uint64_t offset, std::span<std::byte> out) = 0;
    // The whole file mapped, or nullptr where the storage cannot map (the caller then read()s).
    // Never for a file that may shrink while mapped (touching the lost pages kills the process):
    // a segment keeps its size from creation to removal (only the spare, which no reader maps,
    // is ever recreated). What a writer changes while it is mapped shows through, so a live log
    // is mapped only by scans that stop at its durable LSN (ScanOptions::to_lsn).
    virtual std::unique_ptr<MappedFile> map_whole(const std::string& /*name*/) { return nullptr; }
    // Creates (or replaces) `name` with `bytes` zero bytes actually written (not a sparse hole, so
    // a later fdatasync has no allocation to journal), then makes file and directory entry durable.
    virtual void create_zeroed(const std::string& name, std::uint64_t bytes) = 0;
    // pwrite + fdatasync, synchronously.
    virtual void write_durable(const std::string& name, std::uint64_t offset,
                               std::span<const std::byte> data) = 0;
    // Renames; with sync_directory the new name is durable before returning, otherwise the caller
    // makes it durable later (set_active's sync_directory_next).
    virtual void rename(const std::string& from, const std::string& to, bool sync_directory) = 0;
    virtual void remove(const std::string& name) = 0;

    // --- group commit: called only by the writer thread ---
    // `wake_fd` is an eventfd that producers signal; wait() returns when it fires.
    virtual void start_async(int wake_fd) = 0;
    // Makes `name` the target of submit(); `sync_directory_next` makes the next submit fsync the
    // directory first, before its write (the segment was just renamed into place).
    virtual void set_active(const std::string& name, bool sync_directory_next) = 0;
    // Starts write(data at offset) then fdatasync; `data` must stay valid until the outcome
    // arrives.
    virtual void submit(std::uint64_t offset, std::span<const std::byte> data) = 0;
    // Waits up to timeout_ns (0: only poll; negative: no limit) for the in-flight batch to finish
    // or the wake eventfd to fire. Returns the batch outcome if it finished.
    virtual std::optional<BatchOutcome> wait(std::int64_t timeout_ns) = 0;
    virtual void stop_async() = 0;
};

}  // namespace exchanged::wal
