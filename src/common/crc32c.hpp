// CRC32C (Castagnoli polynomial, reflected 0x82F63B78), the checksum of WAL records and segment
// headers. The SSE4.2 `crc32` instruction is chosen at run time when the CPU has it, so the binary
// needs no -march flag; otherwise a table-driven software version gives the same values.
#pragma once

#include <cstddef>
#include <cstdint>

namespace exchanged {

// Continues a checksum: `crc` is a finished CRC32C value (0 to start), the result is the CRC32C of
// the bytes seen before followed by `data`.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size);

inline std::uint32_t crc32c(const void* data, std::size_t size) {
    return crc32c_extend(0, data, size);
}

// Both implementations are exposed so tests can check that they agree.
std::uint32_t crc32c_extend_software(std::uint32_t crc, const void* data, std::size_t size);
// Only valid when crc32c_hardware_available() is true.
std::uint32_t crc32c_extend_hardware(std::uint32_t crc, const void* data, std::size_t size);
bool crc32c_hardware_available();

}  // namespace exchanged
