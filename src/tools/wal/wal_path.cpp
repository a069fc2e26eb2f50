#include "tools/wal/wal_path.hpp"

#include <filesystem>
#include <system_error>

#include "common/cli_args.hpp"
#include "wal/segment_format.hpp"

namespace exchanged::tools {
namespace {

bool has_segments(const std::string& dir) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
        if (wal::parse_segment_file_name(entry.path().filename().string())) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::string wal_dir_argument(const std::string& path) {
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) {
        throw CliError("'" + path + "' is not a directory (a WAL or data directory)");
    }
    if (!has_segments(path) && has_segments(path + "/wal")) {
        return path + "/wal";
    }
    return path;
}

}  // namespace exchanged::tools
