#include <catch2/catch.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <thread>

#include "common/page_prefault.hpp"

using exchanged::PagePrefault;

// The WAL's producers may write the record ring while its pages are being faulted in.
TEST_CASE("a prefault leaves the bytes written meanwhile as they were written",
          "[wal][prefault][concurrency]") {
    constexpr std::size_t kBytes = 8u << 20;
    const auto buffer = std::make_unique_for_overwrite<std::byte[]>(kBytes);
    const std::span<std::byte> memory(buffer.get(), kBytes);
    PagePrefault prefault;
    std::thread writer([&] {
        for (std::size_t at = 0; at < kBytes; ++at) {
            memory[at] = static_cast<std::byte>(at * 7 + 3);
        }
    });
    prefault.start({memory});
    writer.join();
    prefault.stop();
    std::size_t wrong = 0;
    for (std::size_t at = 0; at < kBytes; ++at) {
        wrong += memory[at] != static_cast<std::byte>(at * 7 + 3) ? 1 : 0;
    }
    CHECK(wrong == 0);
}

TEST_CASE("a prefault stopped early joins at once and may be destroyed unstarted",
          "[wal][prefault][concurrency]") {
    constexpr std::size_t kBytes = 64u << 20;
    const auto buffer = std::make_unique_for_overwrite<std::byte[]>(kBytes);
    { PagePrefault never_started; }
    PagePrefault prefault;
    prefault.start({std::span<std::byte>(buffer.get(), kBytes)});
    prefault.stop();
    CHECK(prefault.pages_done() <= kBytes / 4096);
}
