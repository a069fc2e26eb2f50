// Reads a WAL directory back in LSN order and classifies how the log ends:
//   Clean     the last record is followed by zeros;
//   TornTail  a partial or bad record with nothing valid after it (a write the crash interrupted;
//             it was never acknowledged): the caller truncates it;
//   Corrupt   a bad record with valid records after it, an LSN gap, a header that disagrees with
//             its file name, a segment of another log: the log is refused, and the result names
//             the segment file, offset and LSN range. With ScanOptions::salvage the reader skips a
//             bad record region, a damaged segment header (reading the records behind it) or a
//             missing segment and goes on (records in a skipped region are lost; the end state
//             stays Corrupt); a segment of another log, a renamed or resized one, or LSNs that
//             overlap stop it even then (stopped_at_damage).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "wal/storage.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::wal {

enum class LogEnd : std::uint8_t { Clean, TornTail, Corrupt };
const char* to_string(LogEnd end);

struct ScanOptions {
    Lsn from_lsn = 0;  // records below it are checked but not handed to the callback
    // The scan stops after handing this LSN (0: reads to the end). What lies beyond is neither
    // read nor classified: `end` describes only the part read. For reading a live log up to
    // what is durable; such a scan maps the segments (as map_files), since nothing rewrites
    // what it reads.
    Lsn to_lsn = 0;
    bool salvage = false;  // skip corrupt regions instead of stopping at the first
    // Map each segment instead of reading it into a buffer (Storage::map_whole): no copy, no
    // zero-filled 64 MiB buffer per segment. Only for a log no writer has open.
    bool map_files = false;
    // Start at the segment that holds from_lsn: the segments wholly below it are neither read nor
    // checked. For a reader that needs only the records from from_lsn on and has had the earlier
    // ones already (the store's catch-up, scanning a live log step after step); never with salvage,
    // whose skipped damage may lie anywhere.
    bool skip_segments_below_from = false;
};

struct RecordView {
    Lsn lsn = 0;
    std::uint16_t type = 0;
    std::span<const std::byte> payload;
    const std::string* segment = nullptr;  // file name
    std::uint64_t offset = 0;              // of the record in that file
};

struct SegmentInfo {
    std::string name;
    Lsn first_lsn = 0;
    std::uint64_t segment_bytes = 0;
    std::uint32_t max_record_bytes = 0;
    std::uint64_t records = 0;
    std::uint64_t end_offset = 0;  // just past the last valid record
};

struct SkippedRegion {
    std::string segment;
    std::uint64_t offset = 0;
    Lsn after_lsn = 0;   // last good LSN before it
    Lsn resume_lsn = 0;  // first LSN read after it
};

struct ScanResult {
    LogEnd end = LogEnd::Clean;
    std::uint64_t log_id = 0;           // 0 when the log has no segment yet
    std::vector<SegmentInfo> segments;  // segments holding the valid log, in LSN order
    std::uint64_t records = 0;
    Lsn first_lsn = 0;  // 0 when there are no records
    Lsn last_lsn = 0;
    Lsn next_lsn = 1;  // where appending continues

    // TornTail: the bytes [tail_offset, tail_dirty_end) of tail_segment are to be zeroed, and the
    // files in drop_segments (an interrupted rotation, no valid record) removed.
    std::string tail_segment;
    std::uint64_t tail_offset = 0;
    std::uint64_t tail_dirty_end = 0;
    std::uint64_t torn_bytes = 0;
    std::vector<std::string> drop_segments;

    // Corrupt: where and what.
    std::string error;
    std::string corrupt_segment;
    std::uint64_t corrupt_offset = 0;
    Lsn corrupt_after_lsn = 0;           // last good LSN before the damage (0: none)
    Lsn corrupt_next_lsn = 0;            // first valid LSN found after it (0: unknown)
    std::vector<SkippedRegion> skipped;  // with salvage
    // The scan stopped at the damage and read nothing after it: always without salvage, and with
    // salvage for damage it cannot skip. A log in this state must not be appended to.
    bool stopped_at_damage = false;
    // Salvage can skip this damage (false: another log's segment, a renamed or resized one,
    // overlapping LSNs).
    bool salvageable = true;

    std::string describe() const;
};

using RecordCallback = std::function<void(const RecordView&)>;

// Scans every segment in `storage`. Never throws for bad contents (they are reported in the
// result); throws WalError only when storage itself fails.
ScanResult scan_log(Storage& storage, const ScanOptions& options, const RecordCallback& on_record);

}  // namespace exchanged::wal
