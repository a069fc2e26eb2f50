// The one clock of the order path: the shard thread reads it once per command to stamp the
// sequenced record (the matcher itself never reads a clock). The daemon uses the realtime clock;
// a simulation passes its own so that a run follows from its seed.
#pragma once

#include <chrono>

#include "common/types.hpp"

namespace exchanged::service {

class PipelineClock {
  public:
    using Read = TimestampNs (*)(void* context);

    // The realtime clock through the vDSO: no system call.
    PipelineClock() : read_(&realtime), context_(nullptr) {}
    PipelineClock(Read read, void* context) : read_(read), context_(context) {}

    TimestampNs now() const { return read_(context_); }

  private:
    static TimestampNs realtime(void* /*context*/) {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    Read read_;
    void* context_;
};

}  // namespace exchanged::service
