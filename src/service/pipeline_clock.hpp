// The one clock of the order path: the shard thread reads it once per command to stamp the
// sequenced record (the matcher itself never reads a clock). The daemon uses the realtime clock;
// a test may pass its own.
#pragma once

#include <chrono>

#include "common/types.hpp"

namespace exchanged::service {

class PipelineClock {
  public:
    using Read = TimestampNs (*)();

    explicit PipelineClock(Read read = &realtime) : read_(read) {}

    TimestampNs now() const { return read_(); }

  private:
    // Through the vDSO: no system call.
    static TimestampNs realtime() {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    Read read_;
};

}  // namespace exchanged::service
