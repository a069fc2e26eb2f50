#include "wal/wal_reader.hpp"

#include <algorithm>
#include <cassert>
#include <optional>
#include <utility>

#include "wal/record_format.hpp"
#include "wal/segment_format.hpp"

namespace exchanged::wal {
namespace {

// A bad record is "torn" only if no valid record follows it; this bounds how far ahead of the
// expected LSN a found record may be and still count as "ours" rather than random bytes.
constexpr Lsn kPlausibleLsnDistance = 1ull << 32;

struct LoadedSegment {
    std::string name;
    Lsn name_lsn = 0;
    std::vector<std::byte> bytes;
    SegmentHeader header;
    HeaderStatus status = HeaderStatus::AllZero;
    std::string problem;
};

struct ValidRecordAt {
    std::size_t segment_index;
    std::uint64_t offset;
    Lsn lsn;
};

std::uint64_t dirty_end(const std::vector<std::byte>& bytes, std::uint64_t from) {
    std::uint64_t end = bytes.size();
    while (end > from && bytes[end - 1] == std::byte{0}) {
        --end;
    }
    return end;
}

class Scanner {
  public:
    Scanner(Storage& storage, const ScanOptions& options, const RecordCallback& on_record)
        : storage_(storage), options_(options), on_record_(on_record) {}

    ScanResult run();

  private:
    LoadedSegment load(std::size_t index);
    std::uint32_t max_record_bytes(const LoadedSegment& segment) const {
        return segment.status == HeaderStatus::Ok ? segment.header.max_record_bytes
                                                  : fallback_max_record_bytes_;
    }
    // First record after `offset` in segment `index` (or at the start of a later segment) that
    // passes its CRC with an LSN at or after `min_lsn`.
    std::optional<ValidRecordAt> find_valid_after(std::size_t index, const LoadedSegment& segment,
                                                  std::uint64_t offset, Lsn min_lsn);
    // Damage the scan stops at (always without salvage; with it, damage it cannot skip).
    void fail(const std::string& segment, std::uint64_t offset, const std::string& error,
              bool salvageable) {
        result_.end = LogEnd::Corrupt;
        result_.stopped_at_damage = true;
        result_.salvageable = salvageable;
        result_.corrupt_segment = segment;
        result_.corrupt_offset = offset;
        result_.corrupt_after_lsn = result_.last_lsn;
        result_.error =
            options_.salvage && !salvageable ? error + "; salvage cannot skip this" : error;
    }
    // Salvage: damage skipped, reading on at `resume_lsn`. The first one is also the one reported.
    void skip(const std::string& segment, std::uint64_t offset, const std::string& error,
              Lsn resume_lsn) {
        result_.end = LogEnd::Corrupt;
        if (result_.error.empty()) {
            result_.error = error;
            result_.corrupt_segment = segment;
            result_.corrupt_offset = offset;
            result_.corrupt_after_lsn = result_.last_lsn;
            result_.corrupt_next_lsn = resume_lsn;
        }
        result_.skipped.push_back(SkippedRegion{segment, offset, result_.last_lsn, resume_lsn});
    }

    Storage& storage_;
    const ScanOptions& options_;
    const RecordCallback& on_record_;
    std::vector<std::pair<Lsn, std::string>> names_;
    ScanResult result_;
    std::uint32_t fallback_max_record_bytes_ =
        static_cast<std::uint32_t>(record_bytes_for(kMaxPayloadBytesLimit));
};

LoadedSegment Scanner::load(std::size_t index) {
    LoadedSegment segment;
    segment.name_lsn = names_[index].first;
    segment.name = names_[index].second;
    const std::uint64_t bytes = storage_.file_bytes(segment.name);
    if (bytes > kMaxSegmentBytes) {
        segment.status = HeaderStatus::BadField;
        segment.problem = "file is " + std::to_string(bytes) + " bytes, larger than any segment";
        return segment;
    }
    segment.bytes.resize(bytes);
    storage_.read(segment.name, 0, segment.bytes);
    if (bytes < kSegmentHeaderBytes) {
        segment.status = HeaderStatus::BadField;
        segment.problem = "file is " + std::to_string(bytes) + " bytes, shorter than a header";
        return segment;
    }
    segment.status = decode_segment_header(segment.bytes, &segment.header, &segment.problem);
    return segment;
}

std::optional<ValidRecordAt> Scanner::find_valid_after(std::size_t index,
                                                       const LoadedSegment& segment,
                                                       std::uint64_t offset, Lsn min_lsn) {
    const std::uint32_t limit = max_record_bytes(segment);
    const std::span<const std::byte> all(segment.bytes);
    for (std::uint64_t at = std::max<std::uint64_t>(offset, kSegmentHeaderBytes);
         at + kRecordHeaderBytes <= all.size(); ++at) {
        DecodedRecord record;
        if (decode_record(all.subspan(at), limit, &record) == DecodeStatus::Ok &&
            record.lsn >= min_lsn && record.lsn - min_lsn < kPlausibleLsnDistance) {
            return ValidRecordAt{index, at, record.lsn};
        }
    }
    for (std::size_t later = index + 1; later < names_.size(); ++later) {
        const LoadedSegment next = load(later);
        if (next.status != HeaderStatus::Ok) {
            continue;
        }
        DecodedRecord record;
        if (next.bytes.size() > kSegmentHeaderBytes &&
            decode_record(std::span<const std::byte>(next.bytes).subspan(kSegmentHeaderBytes),
                          next.header.max_record_bytes, &record) == DecodeStatus::Ok) {
            return ValidRecordAt{later, kSegmentHeaderBytes, record.lsn};
        }
    }
    return std::nullopt;
}

ScanResult Scanner::run() {
    for (const std::string& name : storage_.list_files()) {
        if (auto lsn = parse_segment_file_name(name)) {
            names_.emplace_back(*lsn, name);
        }
    }
    std::sort(names_.begin(), names_.end());

    Lsn expected = 0;     // next LSN; 0 until the first segment fixes it
    bool resync = false;  // salvage jumped over damage: accept the next LSN found
    std::size_t index = 0;
    std::uint64_t start_offset = kSegmentHeaderBytes;
    while (index < names_.size()) {
        const LoadedSegment segment = load(index);
        const std::string& name = segment.name;
        SegmentHeader header = segment.header;
        bool header_salvaged = false;
        if (segment.status != HeaderStatus::Ok) {
            const auto later = find_valid_after(index, segment, kSegmentHeaderBytes, expected);
            if (!later) {
                // A rotation the crash interrupted: the file was renamed into place but its first
                // batch (header included) never became durable.
                result_.end = LogEnd::TornTail;
                for (std::size_t rest = index; rest < names_.size(); ++rest) {
                    result_.drop_segments.push_back(names_[rest].second);
                }
                result_.torn_bytes += dirty_end(segment.bytes, 0);
                if (!result_.segments.empty()) {
                    result_.tail_segment = result_.segments.back().name;
                    result_.tail_offset = result_.tail_dirty_end =
                        result_.segments.back().end_offset;
                }
                break;
            }
            const std::string what = "segment " + name + ": bad header: " + segment.problem +
                                     " (valid records follow it)";
            if (!options_.salvage) {
                fail(name, 0, what, true);
                result_.corrupt_next_lsn = later->lsn;
                break;
            }
            // Every record carries its own LSN and checksum, so salvage reads the segment's
            // records without its header (under the largest record bound) from the first valid
            // one on. Stopping here instead would end the log early and let the writer reuse the
            // LSNs of the acknowledged records after it.
            skip(name, 0, what, later->lsn);
            resync = true;
            if (later->segment_index != index) {
                // Listed all the same, so that the writer's release can delete it one day.
                result_.segments.push_back(SegmentInfo{name, segment.name_lsn, segment.bytes.size(),
                                                       0, 0, kSegmentHeaderBytes});
                index = later->segment_index;
                start_offset = later->offset;
                continue;
            }
            header_salvaged = true;
            header.first_lsn = segment.name_lsn;
            header.log_id = result_.log_id;
            header.segment_bytes = segment.bytes.size();
            header.max_record_bytes = fallback_max_record_bytes_;
            start_offset = later->offset;
        }
        if (header.first_lsn != segment.name_lsn) {
            fail(name, 0,
                 "segment " + name + ": header says first LSN " + std::to_string(header.first_lsn) +
                     " but the file name says " + std::to_string(segment.name_lsn),
                 false);
            break;
        }
        if (result_.log_id != 0 && header.log_id != result_.log_id) {
            fail(name, 0,
                 "segment " + name + " belongs to another log (log id " +
                     std::to_string(header.log_id) + ", expected " +
                     std::to_string(result_.log_id) + ")",
                 false);
            break;
        }
        if (header.segment_bytes != segment.bytes.size()) {
            fail(name, 0,
                 "segment " + name + ": file is " + std::to_string(segment.bytes.size()) +
                     " bytes but its header says " + std::to_string(header.segment_bytes),
                 false);
            break;
        }
        if (expected != 0 && !resync && header.first_lsn != expected) {
            const std::string what =
                "LSN gap: segment " + name + " starts at LSN " + std::to_string(header.first_lsn) +
                " but the log before it ends at LSN " + std::to_string(expected - 1);
            if (!options_.salvage || header.first_lsn < expected) {
                // An overlap is never skipped: LSNs would repeat.
                fail(name, 0, what, header.first_lsn > expected);
                result_.corrupt_next_lsn = header.first_lsn;
                break;
            }
            skip(name, 0, what, header.first_lsn);  // a missing segment: its records are lost
            resync = true;
        }
        if (start_offset == kSegmentHeaderBytes && !header_salvaged) {
            if (expected == 0 || resync) {
                expected = header.first_lsn;
            }
            resync = false;
        }
        result_.log_id = header.log_id;
        // A salvaged header says max_record_bytes 0, so the writer never appends to that file.
        SegmentInfo info{name,
                         header.first_lsn,
                         header.segment_bytes,
                         header_salvaged ? 0 : header.max_record_bytes,
                         0,
                         kSegmentHeaderBytes};

        const std::span<const std::byte> all(segment.bytes);
        std::uint64_t offset = start_offset;
        start_offset = kSegmentHeaderBytes;
        bool stop = false;
        std::optional<std::pair<std::size_t, std::uint64_t>> jump;
        while (offset + kRecordHeaderBytes <= all.size()) {
            DecodedRecord record;
            const DecodeStatus status =
                decode_record(all.subspan(offset), header.max_record_bytes, &record);
            if (status == DecodeStatus::Ok && (record.lsn == expected || resync)) {
                resync = false;
                if (record.lsn >= options_.from_lsn && on_record_) {
                    on_record_(RecordView{record.lsn, record.type, record.payload, &name, offset});
                }
                if (result_.records == 0) {
                    result_.first_lsn = record.lsn;
                }
                ++result_.records;
                result_.last_lsn = record.lsn;
                expected = record.lsn + 1;
                ++info.records;
                offset += record.record_bytes;
                info.end_offset = offset;
                if (options_.to_lsn != 0 && record.lsn >= options_.to_lsn) {
                    stop = true;
                    break;
                }
                continue;
            }
            if (status == DecodeStatus::Zero && dirty_end(segment.bytes, offset) == offset) {
                break;  // clean end of this segment
            }
            std::string reason;
            switch (status) {
                case DecodeStatus::Ok:
                    reason = "record has LSN " + std::to_string(record.lsn) + ", expected " +
                             std::to_string(expected);
                    break;
                case DecodeStatus::Zero:
                    reason = "zero length followed by non-zero bytes";
                    break;
                case DecodeStatus::BadLength:
                    reason = "bad record length";
                    break;
                case DecodeStatus::BadChecksum:
                    reason = "checksum mismatch";
                    break;
            }
            const auto later = find_valid_after(index, segment, offset + 1, expected);
            if (!later) {
                result_.end = LogEnd::TornTail;
                result_.tail_segment = name;
                result_.tail_offset = offset;
                result_.tail_dirty_end = dirty_end(segment.bytes, offset);
                result_.torn_bytes = result_.tail_dirty_end - offset;
                for (std::size_t rest = index + 1; rest < names_.size(); ++rest) {
                    result_.drop_segments.push_back(names_[rest].second);
                }
                stop = true;
                break;
            }
            const std::string where =
                "corruption in segment " + name + " at offset " + std::to_string(offset) + " (" +
                reason + "): last good LSN " + std::to_string(result_.last_lsn) +
                ", next valid record LSN " + std::to_string(later->lsn) + " in " +
                names_[later->segment_index].second + " at offset " + std::to_string(later->offset);
            if (!options_.salvage) {
                fail(name, offset, where, true);
                result_.corrupt_next_lsn = later->lsn;
                stop = true;
                break;
            }
            skip(name, offset, where, later->lsn);
            resync = true;
            if (later->segment_index == index) {
                offset = later->offset;
                continue;
            }
            jump = std::make_pair(later->segment_index, later->offset);
            break;
        }
        result_.segments.push_back(info);
        if (stop) {
            break;
        }
        if (jump) {
            index = jump->first;
            start_offset = jump->second;
            continue;
        }
        ++index;
    }
    result_.next_lsn = expected != 0 ? expected : (names_.empty() ? 1 : names_.front().first);
    if (result_.end == LogEnd::Corrupt && !options_.salvage) {
        result_.next_lsn = 0;
    }
    return std::move(result_);
}

}  // namespace

const char* to_string(LogEnd end) {
    switch (end) {
        case LogEnd::Clean:
            return "clean";
        case LogEnd::TornTail:
            return "torn-tail";
        case LogEnd::Corrupt:
            return "corrupt";
    }
    return "?";
}

std::string ScanResult::describe() const {
    std::string text = std::string("end: ") + to_string(end);
    switch (end) {
        case LogEnd::Clean:
            break;
        case LogEnd::TornTail:
            text += " (" + std::to_string(torn_bytes) + " bytes dropped";
            if (!tail_segment.empty()) {
                text += " at " + tail_segment + " offset " + std::to_string(tail_offset);
            }
            if (!drop_segments.empty()) {
                text +=
                    ", " + std::to_string(drop_segments.size()) + " incomplete segment(s) dropped";
            }
            text += ")";
            break;
        case LogEnd::Corrupt:
            text += ": " + error;
            if (!skipped.empty()) {
                text += " (salvage skipped " + std::to_string(skipped.size()) + " region(s))";
            }
            break;
    }
    return text;
}

ScanResult scan_log(Storage& storage, const ScanOptions& options, const RecordCallback& on_record) {
    Scanner scanner(storage, options, on_record);
    return scanner.run();
}

}  // namespace exchanged::wal
