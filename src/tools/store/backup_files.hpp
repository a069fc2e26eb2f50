// File steps of the backup commands (docs/operations.md "Backups"): copies that are durable
// before the caller goes on, and the checksum every file of a backup carries in its manifest.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace exchanged::tools {

struct FileSum {
    std::uint64_t bytes = 0;
    std::uint32_t crc32c = 0;
};

enum class ZeroRuns : std::uint8_t {
    Write,  // every byte written: the copy is as dense as a preallocated WAL segment must be
    Skip,   // runs of zeros become holes: a backup's preallocated segments cost only their records
};

// Copies `from` into the new file `to` (refusing an existing one), fsyncs it and returns the
// copy's size and CRC32C (the same either way). Throws std::system_error naming the file and the
// step.
FileSum copy_file_durably(const std::filesystem::path& from, const std::filesystem::path& to,
                          ZeroRuns zeros = ZeroRuns::Write);

// Size and CRC32C of a file. Throws std::system_error naming it.
FileSum checksum_file(const std::filesystem::path& file);

// fsync of a file or directory (a directory: its entries, after a create or rename in it).
void fsync_path(const std::filesystem::path& path);

// Writes `text` into the new file `path` and fsyncs it.
void write_file_durably(const std::filesystem::path& path, const std::string& text);

// True when `dir` is missing or holds nothing.
bool missing_or_empty(const std::filesystem::path& dir);

}  // namespace exchanged::tools
