#include "common/invariant.hpp"

#include <cstdio>
#include <cstdlib>

namespace exchanged {

void invariant_violated(const char* name, const char* file, int line, std::uint64_t left,
                        std::uint64_t right) {
    // No allocation and no logger: the process may be in any state, and the message must get out.
    std::fprintf(stderr, "exchanged: invariant violated: %s (%llu vs %llu) at %s:%d; aborting\n",
                 name, static_cast<unsigned long long>(left),
                 static_cast<unsigned long long>(right), file, line);
    std::fflush(stderr);
    std::abort();
}

}  // namespace exchanged
