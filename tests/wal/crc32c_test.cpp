#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

#include "common/crc32c.hpp"

using namespace exchanged;

TEST_CASE("crc32c matches the published check values", "[crc32c]") {
    const char* check = "123456789";
    CHECK(crc32c(check, 9) == 0xE3069283u);
    CHECK(crc32c_extend_software(0, check, 9) == 0xE3069283u);
    CHECK(crc32c("", 0) == 0u);
    // RFC 3720 (iSCSI) appendix B.4 vectors.
    std::vector<unsigned char> zeros(32, 0x00);
    std::vector<unsigned char> ones(32, 0xFF);
    std::vector<unsigned char> ascending(32);
    std::vector<unsigned char> descending(32);
    for (int i = 0; i < 32; ++i) {
        ascending[i] = static_cast<unsigned char>(i);
        descending[i] = static_cast<unsigned char>(31 - i);
    }
    CHECK(crc32c(zeros.data(), 32) == 0x8A9136AAu);
    CHECK(crc32c(ones.data(), 32) == 0x62A8AB43u);
    CHECK(crc32c(ascending.data(), 32) == 0x46DD794Eu);
    CHECK(crc32c(descending.data(), 32) == 0x113FDB5Cu);
}

TEST_CASE("crc32c extend equals the checksum of the concatenation", "[crc32c]") {
    const char* text = "hello, write-ahead log";
    const std::size_t size = std::strlen(text);
    for (std::size_t split = 0; split <= size; ++split) {
        CHECK(crc32c_extend(crc32c(text, split), text + split, size - split) == crc32c(text, size));
    }
}

TEST_CASE("crc32c hardware and software agree on random data", "[crc32c]") {
    if (!crc32c_hardware_available()) {
        SUCCEED("no SSE4.2 on this CPU; software path only");
        return;
    }
    std::mt19937_64 rng(42);
    std::vector<unsigned char> data(4096 + 7);
    for (auto& byte : data) {
        byte = static_cast<unsigned char>(rng());
    }
    for (int round = 0; round < 2000; ++round) {
        const std::size_t offset = rng() % 8;
        const std::size_t size = rng() % (data.size() - offset);
        const auto seed = static_cast<std::uint32_t>(rng());
        REQUIRE(crc32c_extend_hardware(seed, data.data() + offset, size) ==
                crc32c_extend_software(seed, data.data() + offset, size));
    }
}
