#include "common/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define EXCHANGED_CRC32C_X86 1
#endif

namespace exchanged {
namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78u;

// Eight tables let the software path fold 8 bytes per step ("slicing by 8").
constexpr std::array<std::array<std::uint32_t, 256>, 8> make_tables() {
    std::array<std::array<std::uint32_t, 256>, 8> tables{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t crc = i;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1u) != 0 ? (crc >> 1) ^ kPolynomial : crc >> 1;
        }
        tables[0][i] = crc;
    }
    for (std::size_t t = 1; t < 8; ++t) {
        for (std::uint32_t i = 0; i < 256; ++i) {
            const std::uint32_t prev = tables[t - 1][i];
            tables[t][i] = (prev >> 8) ^ tables[0][prev & 0xFFu];
        }
    }
    return tables;
}

constexpr auto kTables = make_tables();

#ifdef EXCHANGED_CRC32C_X86
__attribute__((target("sse4.2"))) std::uint32_t hardware_impl(std::uint32_t crc, const void* data,
                                                              std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    std::uint64_t state = ~crc;
    while (size >= 8) {
        std::uint64_t word;
        std::memcpy(&word, bytes, sizeof(word));
        state = _mm_crc32_u64(state, word);
        bytes += 8;
        size -= 8;
    }
    auto state32 = static_cast<std::uint32_t>(state);
    while (size > 0) {
        state32 = _mm_crc32_u8(state32, *bytes);
        ++bytes;
        --size;
    }
    return ~state32;
}

bool detect_hardware() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}
#endif

using ExtendFn = std::uint32_t (*)(std::uint32_t, const void*, std::size_t);

ExtendFn choose() {
#ifdef EXCHANGED_CRC32C_X86
    if (detect_hardware()) {
        return &hardware_impl;
    }
#endif
    return &crc32c_extend_software;
}

// Chosen once, at static initialisation; a plain function pointer keeps the call cheap.
const ExtendFn kExtend = choose();

}  // namespace

std::uint32_t crc32c_extend_software(std::uint32_t crc, const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    std::uint32_t state = ~crc;
    while (size >= 8) {
        std::uint32_t low;
        std::uint32_t high;
        std::memcpy(&low, bytes, 4);
        std::memcpy(&high, bytes + 4, 4);
        low ^= state;
        state = kTables[7][low & 0xFFu] ^ kTables[6][(low >> 8) & 0xFFu] ^
                kTables[5][(low >> 16) & 0xFFu] ^ kTables[4][low >> 24] ^ kTables[3][high & 0xFFu] ^
                kTables[2][(high >> 8) & 0xFFu] ^ kTables[1][(high >> 16) & 0xFFu] ^
                kTables[0][high >> 24];
        bytes += 8;
        size -= 8;
    }
    while (size > 0) {
        state = (state >> 8) ^ kTables[0][(state ^ *bytes) & 0xFFu];
        ++bytes;
        --size;
    }
    return ~state;
}

std::uint32_t crc32c_extend_hardware(std::uint32_t crc, const void* data, std::size_t size) {
#ifdef EXCHANGED_CRC32C_X86
    return hardware_impl(crc, data, size);
#else
    return crc32c_extend_software(crc, data, size);
#endif
}

bool crc32c_hardware_available() {
#ifdef EXCHANGED_CRC32C_X86
    return detect_hardware();
#else
    return false;
#endif
}

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size) {
    return kExtend(crc, data, size);
}

}  // namespace exchanged
