#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <span>
#include <thread>

#include "common/page_prefault.hpp"

using exchanged::PagePrefault;

namespace {

// Fresh anonymous memory, never touched: what a large allocation that is not zeroed gets.
struct FreshMemory {
    explicit FreshMemory(std::size_t bytes)
        : size(bytes),
          data(static_cast<std::byte*>(
              ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))) {
        REQUIRE(data != MAP_FAILED);
    }
    ~FreshMemory() { ::munmap(data, size); }
    std::span<std::byte> span() const { return {data, size}; }
    std::size_t size;
    std::byte* data;
};

std::size_t page_bytes() {
    return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// This thread's page faults while it writes one byte into each page.
long faults_writing_each_page(std::span<std::byte> memory) {
    rusage before{};
    ::getrusage(RUSAGE_THREAD, &before);
    for (std::size_t at = 0; at < memory.size(); at += page_bytes()) {
        memory[at] = std::byte{1};
    }
    rusage after{};
    ::getrusage(RUSAGE_THREAD, &after);
    return after.ru_minflt - before.ru_minflt;
}

}  // namespace

TEST_CASE("a prefaulted buffer's first writes take no page fault", "[wal][prefault]") {
    constexpr std::size_t kBytes = 16u << 20;
    const std::size_t pages = kBytes / page_bytes();
    FreshMemory control(kBytes);
    FreshMemory prefaulted(kBytes);
    PagePrefault prefault;
    prefault.start({prefaulted.span()});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (prefault.pages_done() < pages && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    prefault.stop();
    if (prefault.unsupported()) {
        WARN("MADV_POPULATE_WRITE is not supported by this kernel: nothing to check");
        return;
    }
    REQUIRE(prefault.pages_done() == pages);
    // Against the same writes into memory nobody faulted in (a sanitizer's shadow pages fault in
    // both).
    const long cold = faults_writing_each_page(control.span());
    const long warm = faults_writing_each_page(prefaulted.span());
    INFO("page faults writing " << pages << " pages: " << cold << " cold, " << warm
                                << " prefaulted");
    CHECK(cold >= static_cast<long>(pages) / 2);
    CHECK(warm < cold / 2);
}
