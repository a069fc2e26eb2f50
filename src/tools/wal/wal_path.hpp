// The PATH of the `exchangectl wal` subcommands: a WAL directory, or a data directory standing
// for its `wal/` (without that, a data directory would read as an empty, clean log).
#pragma once

#include <string>

namespace exchanged::tools {

// The WAL directory PATH stands for; throws CliError when PATH is no directory.
std::string wal_dir_argument(const std::string& path);

}  // namespace exchanged::tools
