// Background work that keeps segment handling off the writer's path: it keeps one spare segment
// (kSpareSegmentName) preallocated and zero-filled so rotation is a rename, and it deletes segments
// that release_below() made obsolete.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "wal/storage.hpp"

namespace exchanged::wal {

class SegmentPreparer {
  public:
    SegmentPreparer(Storage& storage, std::uint64_t segment_bytes);
    ~SegmentPreparer();
    SegmentPreparer(const SegmentPreparer&) = delete;
    SegmentPreparer& operator=(const SegmentPreparer&) = delete;

    // Prepares the first spare synchronously (at open) and starts the thread.
    void start();
    // Blocks until a spare is ready and renames it to `name` (the directory entry is made durable
    // by the caller's next group commit); a new spare is prepared in the background. Returns false
    // and sets `error` if preparing or renaming failed. `stalled` tells whether the caller waited.
    bool take_spare(const std::string& name, std::string* error, bool* stalled);
    // Starts preparing the next spare (after take_spare). The writer asks once its active segment
    // is half full, so the zero-fill does not compete with the fsyncs right after a rotation.
    void request_spare();
    // Deletes these files in the background.
    void remove_later(std::vector<std::string> names);
    // Blocks until everything asked of the thread so far is done (a simulation that must replay
    // exactly needs the directory changes at known points).
    void wait_idle();
    void stop();

  private:
    void run();

    Storage& storage_;
    const std::uint64_t segment_bytes_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool spare_ready_ = false;
    bool spare_requested_ = false;
    bool stop_ = false;
    bool busy_ = false;  // working outside the lock
    std::string error_;
    std::vector<std::string> to_remove_;
    std::thread thread_;
};

}  // namespace exchanged::wal
