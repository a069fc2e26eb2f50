// Integers in the project's binary formats (WAL segments and records, command records, the client
// protocol) are little-endian and copied with memcpy. This is the one place that assumption lives
// and is checked: a big-endian port would byte-swap here.
#pragma once

#include <bit>
#include <cstddef>
#include <cstring>
#include <type_traits>

namespace exchanged {

static_assert(std::endian::native == std::endian::little,
              "the binary formats assume a little-endian host");

template <class T>
void store_le(std::byte* at, const T& value) {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T>);
    std::memcpy(at, &value, sizeof(T));
}

template <class T>
T load_le(const std::byte* at) {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T>);
    T value;
    std::memcpy(&value, at, sizeof(T));
    return value;
}

}  // namespace exchanged
