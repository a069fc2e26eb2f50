#pragma once

#include <algorithm>

// The sanitizer trees (scripts/test.sh: ASan+UBSan, TSan) run every test with the same
// assertions, but a sanitized iteration costs 5-20 times a Release one: the long randomized
// loops run a quarter of their seeds or rounds there. The Release tree runs them all, and the
// code each iteration drives is the same, so the sanitizers still see every path.
namespace exchanged::sanitizer {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kActive = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kActive = true;
#else
inline constexpr bool kActive = false;
#endif
#else
inline constexpr bool kActive = false;
#endif

// `n` in Release, a quarter of it (at least `floor`) under a sanitizer.
template <typename T>
constexpr T scaled(T n, T floor = 1) {
    return kActive ? std::max<T>(floor, n / 4) : n;
}

}  // namespace exchanged::sanitizer
