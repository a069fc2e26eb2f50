// How the daemon logs: the plain option struct that the profile's [logging] section fills and the
// log (ops/logging.hpp) applies, kept here so that neither has to know the other.
#pragma once

#include <cstdint>
#include <filesystem>

namespace exchanged {

enum class LogLevel : std::uint8_t { Trace, Debug, Info, Warn, Error };

struct LogOptions {
    LogLevel level = LogLevel::Info;
    std::filesystem::path file;  // empty: stderr; otherwise absolute once loaded
    bool async = true;
};

}  // namespace exchanged
