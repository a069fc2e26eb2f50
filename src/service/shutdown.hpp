// Why the order path must stop, told by whichever thread found out (the WAL writer on a failed
// write or fdatasync, the flush worker on a damaged store file, the Redis mirror's writer on a
// stream that is not this log's or a Redis silent past redis_hold_limit_ms) to the thread that owns
// the pipeline. No signal is sent to the process: the owner waits on wake_fd() beside its signal
// source (app/shutdown_signal.hpp) and reads the cause here.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

namespace exchanged::service {

enum class StopCause : unsigned { None = 0, WalFailed = 1, StoreFailed = 2, MirrorFailed = 4 };

class Shutdown {
  public:
    Shutdown();
    ~Shutdown();
    Shutdown(const Shutdown&) = delete;
    Shutdown& operator=(const Shutdown&) = delete;

    // Any thread. The first cause is kept with its reason; every call wakes the owner.
    void fail(StopCause cause, const std::string& reason);
    bool failed(StopCause cause) const {
        return (causes_.load(std::memory_order_acquire) & static_cast<unsigned>(cause)) != 0;
    }
    // Any cause: a run that failed never hands over to a next one in the same process.
    bool failed() const { return causes_.load(std::memory_order_acquire) != 0; }
    std::string reason() const;
    // Readable once fail() was called (an eventfd).
    int wake_fd() const { return wake_fd_; }

  private:
    std::atomic<unsigned> causes_{0};
    mutable std::mutex mutex_;
    std::string reason_;
    int wake_fd_ = -1;
};

}  // namespace exchanged::service
