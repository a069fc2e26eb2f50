// Invariants that stay checked in Release builds. assert() vanishes under NDEBUG, and the
// durability path is exactly where a broken promise must stop the daemon rather than send an
// acknowledgement it cannot honour. A check is one predictable branch; keep the condition cheap
// (a comparison of values at hand, never a walk over a structure).
//
// A violation writes "exchanged: invariant violated: NAME (LEFT vs RIGHT) at FILE:LINE; aborting"
// to stderr (the journal under
// systemd) and aborts: the process exits non-zero at once, and recovery at the next start rebuilds
// the state from the store and the WAL, as after any crash.
#pragma once

#include <cstdint>

namespace exchanged {

[[noreturn]] void invariant_violated(const char* name, const char* file, int line,
                                     std::uint64_t left, std::uint64_t right);

}  // namespace exchanged

// EXCHANGED_INVARIANT(a <= b, "store frontier <= durable LSN", a, b): the two values are printed.
#define EXCHANGED_INVARIANT(condition, name, left, right)                       \
    do {                                                                        \
        if (__builtin_expect(!(condition), 0)) {                                \
            ::exchanged::invariant_violated(name, __FILE__, __LINE__,           \
                                            static_cast<std::uint64_t>(left),   \
                                            static_cast<std::uint64_t>(right)); \
        }                                                                       \
    } while (0)
