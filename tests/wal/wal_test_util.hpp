// Helpers shared by the WAL tests: deterministic record contents (so any record read back can be
// checked from its LSN alone), a scan that collects records, and a scratch directory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "wal/segment_format.hpp"
#include "wal/storage.hpp"
#include "wal/wal_reader.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::wal::test {

// The smallest segments (16 KiB: a rotation every ~250-300 records) and small batches, so that a
// few hundred records go through rotations and many group commits.
inline WalOptions small_segment_options() {
    WalOptions options;
    options.segment_bytes = kMinSegmentBytes;
    options.max_payload_bytes = 64;
    options.queue_capacity = 256;
    options.batch_size = 16;
    options.batch_timeout_ms = 1;
    options.batch_bytes_max = 8192;
    return options;
}

inline std::uint16_t type_for(Lsn lsn) {
    return static_cast<std::uint16_t>(lsn % 7);
}

inline std::vector<std::byte> payload_for(Lsn lsn, std::size_t max_bytes = 60) {
    std::vector<std::byte> payload(1 + lsn % max_bytes);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<std::byte>((lsn * 131 + i * 7) & 0xFF);
    }
    return payload;
}

inline bool matches(const RecordView& record, std::size_t max_bytes = 60) {
    const std::vector<std::byte> expected = payload_for(record.lsn, max_bytes);
    return record.type == type_for(record.lsn) && record.payload.size() == expected.size() &&
           std::equal(expected.begin(), expected.end(), record.payload.begin());
}

struct Collected {
    ScanResult result;
    std::vector<Lsn> lsns;
    std::vector<std::uint64_t> offsets;
    std::vector<std::string> segments;
    std::size_t mismatches = 0;
};

inline Collected collect(Storage& storage, ScanOptions options = {}, std::size_t max_bytes = 60) {
    Collected out;
    out.result = scan_log(storage, options, [&](const RecordView& record) {
        out.lsns.push_back(record.lsn);
        out.offsets.push_back(record.offset);
        out.segments.push_back(*record.segment);
        out.mismatches += matches(record, max_bytes) ? 0 : 1;
    });
    return out;
}

inline bool contiguous_from_one(const std::vector<Lsn>& lsns) {
    for (std::size_t i = 0; i < lsns.size(); ++i) {
        if (lsns[i] != i + 1) {
            return false;
        }
    }
    return true;
}

class ScratchDir {
  public:
    ScratchDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "wal-test-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace exchanged::wal::test
