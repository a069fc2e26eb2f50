#include "wal/log_truncate.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "wal/segment_format.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::wal {

namespace {

constexpr std::string_view kCopyName = "wal-truncating.tmp";
constexpr std::string_view kCutPrefix = "wal-cut-";
constexpr std::uint64_t kCopyChunkBytes = 1u << 20;

bool is_leftover(const std::string& name) {
    return name == kCopyName || name.starts_with(kCutPrefix);
}

}  // namespace

TruncateReport truncate_log_after(Storage& storage, Lsn keep_lsn,
                                  const std::function<void(TruncateStep)>& after_step) {
    // An earlier cut that crashed left these; no scan reads them.
    for (const std::string& name : storage.list_files()) {
        if (is_leftover(name)) {
            storage.remove(name);
        }
    }
    std::string holder;
    std::uint64_t cut_offset = 0;
    ScanOptions options;
    options.from_lsn = keep_lsn + 1;
    const ScanResult scan = scan_log(storage, options, [&](const RecordView& record) {
        if (record.lsn == keep_lsn + 1) {
            holder = *record.segment;
            cut_offset = record.offset;
        }
    });
    if (scan.end == LogEnd::Corrupt) {
        throw WalError("cutting the log after LSN " + std::to_string(keep_lsn) + ": " + scan.error);
    }
    TruncateReport report;
    report.old_last_lsn = scan.last_lsn;
    report.last_lsn = scan.last_lsn;
    if (scan.records == 0 || scan.last_lsn <= keep_lsn) {
        return report;
    }
    if (keep_lsn + 1 < scan.first_lsn) {
        throw WalError("cannot cut the log after LSN " + std::to_string(keep_lsn) +
                       ": it starts at LSN " + std::to_string(scan.first_lsn) +
                       " (the records before are gone; re-sync by snapshot)");
    }
    const std::optional<Lsn> holder_lsn = parse_segment_file_name(holder);
    if (holder.empty() || !holder_lsn) {
        throw WalError("cutting the log after LSN " + std::to_string(keep_lsn) +
                       ": no segment holds LSN " + std::to_string(keep_lsn + 1));
    }

    // 1. The later segments (an interrupted rotation's empty one included), the last first.
    std::vector<std::pair<Lsn, std::string>> later;
    for (const std::string& name : storage.list_files()) {
        if (const auto lsn = parse_segment_file_name(name); lsn && *lsn > *holder_lsn) {
            later.emplace_back(*lsn, name);
        }
    }
    std::sort(later.rbegin(), later.rend());
    for (const auto& [lsn, name] : later) {
        storage.rename(name, std::string(kCutPrefix) + std::to_string(lsn) + ".tmp", true);
        ++report.segments_removed;
        if (after_step) {
            after_step(TruncateStep::SegmentRenamedAway);
        }
    }

    // 2. The holding segment's copy up to the first record cut.
    const std::string copy(kCopyName);
    storage.create_zeroed(copy, storage.file_bytes(holder));
    std::vector<std::byte> chunk;
    for (std::uint64_t at = 0; at < cut_offset; at += kCopyChunkBytes) {
        chunk.resize(std::min(kCopyChunkBytes, cut_offset - at));
        storage.read(holder, at, chunk);
        storage.write_durable(copy, at, chunk);
    }
    if (after_step) {
        after_step(TruncateStep::CopyWritten);
    }

    // 3. One atomic replace.
    storage.rename(copy, holder, true);
    if (after_step) {
        after_step(TruncateStep::CopyRenamed);
    }
    for (const auto& [lsn, name] : later) {
        storage.remove(std::string(kCutPrefix) + std::to_string(lsn) + ".tmp");
    }
    report.last_lsn = keep_lsn;
    report.cut = true;
    return report;
}

}  // namespace exchanged::wal
