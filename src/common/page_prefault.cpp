#include "common/page_prefault.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace exchanged {

namespace {

constexpr std::size_t kStepBytes = std::size_t{1} << 20;

}  // namespace

void PagePrefault::start(std::vector<std::span<std::byte>> regions) {
    if (thread_.joinable()) {
        return;
    }
    thread_ = std::thread([this, regions = std::move(regions)] {
        pthread_setname_np(pthread_self(), "prefault");
        run(regions);
    });
}

void PagePrefault::wait() {
    if (thread_.joinable()) {
        thread_.join();
    }
}

void PagePrefault::stop() {
    stopping_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) {
        thread_.join();
    }
}

void PagePrefault::run(const std::vector<std::span<std::byte>>& regions) {
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    for (const std::span<std::byte> region : regions) {
        // The whole pages inside the region: the partial ones at its ends belong to neighbours
        // too, and fault in at their first write anyway.
        const auto begin = reinterpret_cast<std::uintptr_t>(region.data());
        std::uintptr_t at = (begin + page - 1) / page * page;
        const std::uintptr_t end = (begin + region.size()) / page * page;
        while (at < end && !stopping_.load(std::memory_order_relaxed)) {
            const std::size_t step = std::min<std::uintptr_t>(kStepBytes, end - at);
            if (::madvise(reinterpret_cast<void*>(at), step, MADV_POPULATE_WRITE) != 0) {
                // An older kernel (EINVAL), or no memory left: the pages fault in as written.
                unsupported_.store(errno == EINVAL, std::memory_order_relaxed);
                return;
            }
            pages_done_.fetch_add(step / page, std::memory_order_relaxed);
            at += step;
        }
    }
}

}  // namespace exchanged
