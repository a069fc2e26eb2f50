// Faults a buffer's pages in on a thread of its own. A large buffer allocated without zeroing
// (make_unique_for_overwrite) costs its owner's start nothing, but each page then faults when it is
// first written: on the order path, when the buffer is the WAL's record ring. On this project's
// test machines (virtual ones) a first-touched page costs about 11 us, 16 MiB about 45 ms.
// MADV_POPULATE_WRITE maps each page writable without touching its bytes, so it is safe while
// other threads already write the buffer; it works a MiB at a time, so that another thread's mmap
// (which needs the address-space lock a populate holds) waits for one step, not the whole buffer.
// A kernel without it (before Linux 5.14) leaves the pages to fault as they are written.
#pragma once

#include <atomic>
#include <cstddef>
#include <span>
#include <thread>
#include <vector>

namespace exchanged {

class PagePrefault {
  public:
    PagePrefault() = default;
    ~PagePrefault() { stop(); }
    PagePrefault(const PagePrefault&) = delete;
    PagePrefault& operator=(const PagePrefault&) = delete;

    // Starts faulting in `regions` (each must outlive stop()). Once per object.
    void start(std::vector<std::span<std::byte>> regions);
    // Waits until every page is faulted in (or the kernel refused). Not concurrently with stop().
    void wait();
    // Ends the work early if it is still running, and joins the thread.
    void stop();
    // Pages faulted in so far, and whether the kernel refused MADV_POPULATE_WRITE (for tests).
    std::size_t pages_done() const { return pages_done_.load(std::memory_order_relaxed); }
    bool unsupported() const { return unsupported_.load(std::memory_order_relaxed); }

  private:
    void run(const std::vector<std::span<std::byte>>& regions);

    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> pages_done_{0};
    std::atomic<bool> unsupported_{false};
    std::thread thread_;
};

}  // namespace exchanged
