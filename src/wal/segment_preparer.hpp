// Background work that keeps segment handling off the writer's path. Rotation is a rename of a
// ready spare: preferably a recycled segment (one release_below() made obsolete, renamed to
// wal-recycled-<n>.tmp and kept, as PostgreSQL and RocksDB do: overwriting its allocated blocks
// needs no zero fill and no metadata in the writer's fdatasync), otherwise the zero-filled
// kSpareSegmentName, made only when no recycled segment is at hand. Obsolete segments beyond
// max_recycled are deleted.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "wal/storage.hpp"

namespace exchanged::wal {

inline constexpr std::string_view kRecycledSegmentPrefix = "wal-recycled-";
inline constexpr std::string_view kRecycledSegmentSuffix = ".tmp";

struct PreparerStats {
    std::uint64_t recycled = 0;          // segments renamed to a recycled name and kept
    std::uint64_t zero_filled = 0;       // spares zero-filled (the one made at open included)
    std::uint64_t took_recycled = 0;     // rotations into a recycled segment
    std::uint64_t took_zero_filled = 0;  // rotations into the zero-filled spare
};

class SegmentPreparer {
  public:
    SegmentPreparer(Storage& storage, std::uint64_t segment_bytes, std::uint32_t max_recycled);
    ~SegmentPreparer();
    SegmentPreparer(const SegmentPreparer&) = delete;
    SegmentPreparer& operator=(const SegmentPreparer&) = delete;

    // Adopts the recycled segments a previous run left (up to max_recycled, of the right size),
    // prepares the zero-filled spare synchronously (at open) and starts the thread.
    void start();
    // Blocks until a spare is ready and renames it to `name` (the directory entry is made durable
    // by the caller's next group commit). Returns false and sets `error` if preparing or renaming
    // failed. `stalled` tells whether the caller waited.
    bool take_spare(const std::string& name, std::string* error, bool* stalled);
    // Starts preparing the next spare (after take_spare) unless a recycled one is ready. The
    // writer asks once its active segment is half full, so the zero-fill does not compete with
    // the fsyncs right after a rotation.
    void request_spare();
    // Recycles these obsolete segments (up to max_recycled kept) or deletes them, in the
    // background.
    void retire_later(std::vector<std::string> names);
    // Blocks until everything asked of the thread so far is done (a simulation that must replay
    // exactly needs the directory changes at known points).
    void wait_idle();
    void stop();
    PreparerStats stats() const;

  private:
    void run();
    // Renames an obsolete segment to a recycled name (durably) and zeroes its header page, so
    // that the file renamed into place later cannot pass for its old self before its first write
    // is durable. Returns the new name.
    std::string recycle(const std::string& name);

    Storage& storage_;
    const std::uint64_t segment_bytes_;
    const std::uint32_t max_recycled_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool spare_ready_ = false;
    bool spare_requested_ = false;
    bool stop_ = false;
    bool busy_ = false;  // working outside the lock
    std::string error_;
    std::vector<std::string> to_retire_;
    std::deque<std::string> recycled_ready_;
    std::uint64_t next_recycled_number_ = 0;
    PreparerStats stats_;
    std::thread thread_;
};

}  // namespace exchanged::wal
