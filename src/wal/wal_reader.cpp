#include "wal/wal_reader.hpp"

#include <algorithm>
#include <cassert>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "common/little_endian.hpp"
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
    std::span<const std::byte> bytes;  // the file: in `mapped`, or read into `buffer`
    std::unique_ptr<MappedFile> mapped;
    std::vector<std::byte> buffer;
    SegmentHeader header;
    HeaderStatus status = HeaderStatus::AllZero;
    std::string problem;
};

struct ValidRecordAt {
    std::size_t segment_index;
    std::uint64_t offset;
    Lsn lsn;
};

bool all_zero(const std::byte* block, std::size_t words) {
    std::uint64_t any = 0;
    for (std::size_t i = 0; i < words; ++i) {
        any |= load_le<std::uint64_t>(block + i * sizeof(std::uint64_t));
    }
    return any == 0;
}

// End of the bytes in [from, end) without the zeros that close them. A clean segment's end is
// tens of MiB of zeros: they are checked a 64-byte block at a time (a byte loop over 64 MiB took
// most of a 75 ms scan, twice per promotion).
std::uint64_t dirty_end(std::span<const std::byte> bytes, std::uint64_t from, std::uint64_t end) {
    constexpr std::uint64_t kBlock = 64;
    while (end > from && end % kBlock != 0 && bytes[end - 1] == std::byte{0}) {
        --end;
    }
    while (end > from && end - from >= kBlock &&
           all_zero(bytes.data() + end - kBlock, kBlock / sizeof(std::uint64_t))) {
        end -= kBlock;
    }
    while (end > from && bytes[end - 1] == std::byte{0}) {
        --end;
    }
    return end;
}

std::uint64_t dirty_end(std::span<const std::byte> bytes, std::uint64_t from) {
    return dirty_end(bytes, from, bytes.size());
}

// End of the bytes a torn write may have left from `from` on: up to the next valid record of any
// LSN (a recycled segment's earlier life, which no write of this life reached) or the end of the
// file, without the zeros before it. Zeroing that much at recovery leaves the end marker in place.
std::uint64_t torn_end(std::span<const std::byte> bytes, std::uint64_t from,
                       std::uint32_t max_record_bytes) {
    const std::span<const std::byte> all(bytes);
    std::uint64_t stale_at = bytes.size();
    for (std::uint64_t at = std::max<std::uint64_t>(from + 1, kSegmentHeaderBytes);
         at + kRecordHeaderBytes <= all.size(); ++at) {
        const auto length = load_le<std::uint32_t>(all.data() + at);
        DecodedRecord record;
        if (length >= kRecordHeaderBytes && length <= max_record_bytes &&
            decode_record(all.subspan(at), max_record_bytes, &record) == DecodeStatus::Ok) {
            stale_at = at;
            break;
        }
    }
    return dirty_end(bytes, from, stale_at);
}

// Where the scan stands; carried from one step to the next and across segments.
struct ScanState {
    Lsn expected = 0;       // next LSN; 0 until the first segment fixes it
    bool resync = false;    // salvage jumped over damage: accept the next LSN found
    std::size_t index = 0;  // the segment being read
    std::uint64_t start_offset = kSegmentHeaderBytes;  // where reading starts in it
};

// What the scan does after a step that may have met damage.
enum class Step {
    Stop,         // the log ends here (torn tail or to_lsn), or damage the scan may not pass
    ThisSegment,  // go on in the segment at hand
    Jump,         // go on where the state now points: a later segment
};

std::string damage_reason(DecodeStatus status, const DecodedRecord& record, Lsn expected) {
    switch (status) {
        case DecodeStatus::Ok:
            return "record has LSN " + std::to_string(record.lsn) + ", expected " +
                   std::to_string(expected);
        case DecodeStatus::Zero:
            return "zero length followed by non-zero bytes";
        case DecodeStatus::BadLength:
            return "bad record length";
        case DecodeStatus::BadChecksum:
            return "checksum mismatch";
    }
    return {};
}

class Scanner {
  public:
    Scanner(Storage& storage, const ScanOptions& options, const RecordCallback& on_record)
        : storage_(storage), options_(options), on_record_(on_record) {}

    ScanResult run();

  private:
    void list_segments();
    LoadedSegment load(std::size_t index);
    std::uint32_t max_record_bytes(const LoadedSegment& segment) const {
        return segment.status == HeaderStatus::Ok ? segment.header.max_record_bytes
                                                  : fallback_max_record_bytes_;
    }
    // First record from `offset` on in segment `index` (or, unless this_segment_only, at the
    // start of a later segment) that passes its CRC with an LSN that could continue the log from
    // `min_lsn` there: at or after it, and no further ahead than the bytes from `offset` could
    // hold records (each takes at least a header). A recycled segment's earlier life has valid
    // records with other LSNs; they never count.
    std::optional<ValidRecordAt> find_valid_after(std::size_t index, const LoadedSegment& segment,
                                                  std::uint64_t offset, Lsn min_lsn,
                                                  bool this_segment_only = false);

    // A header that fails to decode: the log's end unless valid records follow. With salvage
    // and records in this very segment, fills `header` in for them (Step::ThisSegment).
    Step handle_bad_header(const LoadedSegment& segment, SegmentHeader& header, ScanState& state);
    // False (the scan stops) for a header that contradicts its file or the log before it.
    bool check_header(const LoadedSegment& segment, const SegmentHeader& header, ScanState& state);
    // Reads the segment's records from state.start_offset to its clean end or to damage. False
    // when the scan stops.
    bool read_records(const LoadedSegment& segment, const SegmentHeader& header,
                      bool header_salvaged, ScanState& state);
    // A record at `offset` that does not continue the log: a torn tail if nothing valid follows,
    // corruption otherwise. Step::ThisSegment moves `offset` to where salvage reads on.
    Step handle_damage(const LoadedSegment& segment, DecodeStatus status,
                       const DecodedRecord& record, std::uint64_t& offset, ScanState& state);

    void end_torn_at_header(const LoadedSegment& segment, std::size_t index);
    void end_torn_in_segment(const LoadedSegment& segment, std::uint64_t offset, std::size_t index);
    void drop_segments_from(std::size_t index) {
        for (std::size_t rest = index; rest < names_.size(); ++rest) {
            result_.drop_segments.push_back(names_[rest].second);
        }
    }
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

void Scanner::list_segments() {
    for (const std::string& name : storage_.list_files()) {
        if (auto lsn = parse_segment_file_name(name)) {
            names_.emplace_back(*lsn, name);
        }
    }
    std::sort(names_.begin(), names_.end());
    if (options_.skip_segments_below_from && !options_.salvage) {
        // A segment's records end before the next segment's first LSN (its name).
        std::size_t first = 0;
        while (first + 1 < names_.size() && names_[first + 1].first <= options_.from_lsn) {
            ++first;
        }
        names_.erase(names_.begin(), names_.begin() + static_cast<std::ptrdiff_t>(first));
    }
}

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
    // A bounded scan maps the live log too: what it reads (up to to_lsn, durable) no longer
    // changes, and a segment file never shrinks, so the mapping cannot fault. Reading a 64 MiB
    // segment into a fresh buffer instead took 0.3 s per call, and a promotion's fetch of the
    // records it lacked made such a call.
    if (options_.map_files || options_.to_lsn != 0) {
        segment.mapped = storage_.map_whole(segment.name);
    }
    if (segment.mapped != nullptr && segment.mapped->bytes().size() == bytes) {
        segment.bytes = segment.mapped->bytes();
    } else {
        segment.mapped.reset();
        segment.buffer.resize(bytes);
        storage_.read(segment.name, 0, segment.buffer);
        segment.bytes = segment.buffer;
    }
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
                                                       std::uint64_t offset, Lsn min_lsn,
                                                       bool this_segment_only) {
    const std::uint32_t limit = max_record_bytes(segment);
    const std::span<const std::byte> all(segment.bytes);
    const std::uint64_t from = std::max<std::uint64_t>(offset, kSegmentHeaderBytes);
    for (std::uint64_t at = from; at + kRecordHeaderBytes <= all.size(); ++at) {
        // Length and LSN first: cheap, and they rule out almost every offset of stale bytes
        // before the CRC is computed.
        const auto length = load_le<std::uint32_t>(all.data() + at);
        if (length < kRecordHeaderBytes || length > limit || length > all.size() - at) {
            continue;
        }
        const auto lsn = load_le<Lsn>(all.data() + at + 8);
        const std::uint64_t room = (at - from + 1) / kRecordHeaderBytes;
        if (lsn < min_lsn || lsn - min_lsn > room || lsn - min_lsn >= kPlausibleLsnDistance) {
            continue;
        }
        DecodedRecord record;
        if (decode_record(all.subspan(at), limit, &record) == DecodeStatus::Ok) {
            return ValidRecordAt{index, at, record.lsn};
        }
    }
    if (this_segment_only) {
        return std::nullopt;
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
    list_segments();
    ScanState state;
    while (state.index < names_.size()) {
        const LoadedSegment segment = load(state.index);
        SegmentHeader header = segment.header;
        bool header_salvaged = false;
        if (segment.status != HeaderStatus::Ok) {
            const Step step = handle_bad_header(segment, header, state);
            if (step == Step::Stop) {
                break;
            }
            if (step == Step::Jump) {
                continue;
            }
            header_salvaged = true;
        }
        if (!check_header(segment, header, state) ||
            !read_records(segment, header, header_salvaged, state)) {
            break;
        }
    }
    result_.next_lsn =
        state.expected != 0 ? state.expected : (names_.empty() ? 1 : names_.front().first);
    if (result_.end == LogEnd::Corrupt && !options_.salvage) {
        result_.next_lsn = 0;
    }
    return std::move(result_);
}

Step Scanner::handle_bad_header(const LoadedSegment& segment, SegmentHeader& header,
                                ScanState& state) {
    // Before the first segment fixes the expected LSN, the file name bounds the records it can
    // hold (a recycled file renamed into place before its first write was durable holds only
    // older ones).
    const Lsn min_lsn = state.expected != 0 ? state.expected : segment.name_lsn;
    const auto later = find_valid_after(state.index, segment, kSegmentHeaderBytes, min_lsn);
    if (!later) {
        end_torn_at_header(segment, state.index);
        return Step::Stop;
    }
    const std::string what = "segment " + segment.name + ": bad header: " + segment.problem +
                             " (valid records follow it)";
    if (!options_.salvage) {
        fail(segment.name, 0, what, true);
        result_.corrupt_next_lsn = later->lsn;
        return Step::Stop;
    }
    // Every record carries its own LSN and checksum, so salvage reads the segment's records
    // without its header (under the largest record bound) from the first valid one on. Stopping
    // here instead would end the log early and let the writer reuse the LSNs of the acknowledged
    // records after it.
    skip(segment.name, 0, what, later->lsn);
    state.resync = true;
    state.start_offset = later->offset;
    if (later->segment_index != state.index) {
        // Listed all the same, so that the writer's release can delete it one day.
        result_.segments.push_back(SegmentInfo{segment.name, segment.name_lsn, segment.bytes.size(),
                                               0, 0, kSegmentHeaderBytes});
        state.index = later->segment_index;
        return Step::Jump;
    }
    header.first_lsn = segment.name_lsn;
    header.log_id = result_.log_id;
    header.segment_bytes = segment.bytes.size();
    header.max_record_bytes = fallback_max_record_bytes_;
    return Step::ThisSegment;
}

bool Scanner::check_header(const LoadedSegment& segment, const SegmentHeader& header,
                           ScanState& state) {
    const std::string& name = segment.name;
    if (header.first_lsn != segment.name_lsn) {
        fail(name, 0,
             "segment " + name + ": header says first LSN " + std::to_string(header.first_lsn) +
                 " but the file name says " + std::to_string(segment.name_lsn),
             false);
        return false;
    }
    if (result_.log_id != 0 && header.log_id != result_.log_id) {
        fail(name, 0,
             "segment " + name + " belongs to another log (log id " +
                 std::to_string(header.log_id) + ", expected " + std::to_string(result_.log_id) +
                 ")",
             false);
        return false;
    }
    if (header.segment_bytes != segment.bytes.size()) {
        fail(name, 0,
             "segment " + name + ": file is " + std::to_string(segment.bytes.size()) +
                 " bytes but its header says " + std::to_string(header.segment_bytes),
             false);
        return false;
    }
    if (state.expected != 0 && !state.resync && header.first_lsn != state.expected) {
        const std::string what =
            "LSN gap: segment " + name + " starts at LSN " + std::to_string(header.first_lsn) +
            " but the log before it ends at LSN " + std::to_string(state.expected - 1);
        if (!options_.salvage || header.first_lsn < state.expected) {
            // An overlap is never skipped: LSNs would repeat.
            fail(name, 0, what, header.first_lsn > state.expected);
            result_.corrupt_next_lsn = header.first_lsn;
            return false;
        }
        skip(name, 0, what, header.first_lsn);  // a missing segment: its records are lost
        state.resync = true;
    }
    return true;
}

bool Scanner::read_records(const LoadedSegment& segment, const SegmentHeader& header,
                           bool header_salvaged, ScanState& state) {
    if (state.start_offset == kSegmentHeaderBytes && !header_salvaged) {
        if (state.expected == 0 || state.resync) {
            state.expected = header.first_lsn;
        }
        state.resync = false;
    }
    result_.log_id = header.log_id;
    // A salvaged header says max_record_bytes 0, so the writer never appends to that file.
    SegmentInfo info{segment.name,
                     header.first_lsn,
                     header.segment_bytes,
                     header_salvaged ? 0 : header.max_record_bytes,
                     0,
                     kSegmentHeaderBytes};

    const std::span<const std::byte> all(segment.bytes);
    std::uint64_t offset = state.start_offset;
    state.start_offset = kSegmentHeaderBytes;
    Step step = Step::ThisSegment;
    while (offset + kRecordHeaderBytes <= all.size()) {
        DecodedRecord record;
        const DecodeStatus status =
            decode_record(all.subspan(offset), header.max_record_bytes, &record);
        if (status == DecodeStatus::Ok && (record.lsn == state.expected || state.resync)) {
            state.resync = false;
            if (record.lsn >= options_.from_lsn && on_record_) {
                on_record_(
                    RecordView{record.lsn, record.type, record.payload, &segment.name, offset});
            }
            if (result_.records == 0) {
                result_.first_lsn = record.lsn;
            }
            ++result_.records;
            result_.last_lsn = record.lsn;
            state.expected = record.lsn + 1;
            ++info.records;
            offset += record.record_bytes;
            info.end_offset = offset;
            if (options_.to_lsn != 0 && record.lsn >= options_.to_lsn) {
                step = Step::Stop;
                break;
            }
            continue;
        }
        if (status == DecodeStatus::Zero &&
            (dirty_end(segment.bytes, offset) == offset ||
             !find_valid_after(state.index, segment, offset + 1, state.expected, true))) {
            // The writer's end marker (or the zero fill): the clean end of this segment. Bytes
            // after it that hold no record continuing the log are a recycled segment's earlier
            // life, not damage.
            break;
        }
        step = handle_damage(segment, status, record, offset, state);
        if (step != Step::ThisSegment) {
            break;
        }
    }
    result_.segments.push_back(info);
    if (step == Step::ThisSegment) {
        ++state.index;
    }
    return step != Step::Stop;
}

Step Scanner::handle_damage(const LoadedSegment& segment, DecodeStatus status,
                            const DecodedRecord& record, std::uint64_t& offset, ScanState& state) {
    const std::string reason = damage_reason(status, record, state.expected);
    const auto later = find_valid_after(state.index, segment, offset + 1, state.expected);
    if (!later) {
        end_torn_in_segment(segment, offset, state.index);
        return Step::Stop;
    }
    const std::string where =
        "corruption in segment " + segment.name + " at offset " + std::to_string(offset) + " (" +
        reason + "): last good LSN " + std::to_string(result_.last_lsn) +
        ", next valid record LSN " + std::to_string(later->lsn) + " in " +
        names_[later->segment_index].second + " at offset " + std::to_string(later->offset);
    if (!options_.salvage) {
        fail(segment.name, offset, where, true);
        result_.corrupt_next_lsn = later->lsn;
        return Step::Stop;
    }
    skip(segment.name, offset, where, later->lsn);
    state.resync = true;
    if (later->segment_index == state.index) {
        offset = later->offset;
        return Step::ThisSegment;
    }
    state.index = later->segment_index;
    state.start_offset = later->offset;
    return Step::Jump;
}

// A rotation the crash interrupted: the file was renamed into place but its first batch (header
// included) never became durable.
void Scanner::end_torn_at_header(const LoadedSegment& segment, std::size_t index) {
    result_.end = LogEnd::TornTail;
    drop_segments_from(index);
    result_.torn_bytes += torn_end(segment.bytes, 0, max_record_bytes(segment));
    if (!result_.segments.empty()) {
        result_.tail_segment = result_.segments.back().name;
        result_.tail_offset = result_.tail_dirty_end = result_.segments.back().end_offset;
    }
}

// A batch the crash cut short: nothing valid follows, so the rest of this file and every later
// one are the tail that never became durable.
void Scanner::end_torn_in_segment(const LoadedSegment& segment, std::uint64_t offset,
                                  std::size_t index) {
    result_.end = LogEnd::TornTail;
    result_.tail_segment = segment.name;
    result_.tail_offset = offset;
    result_.tail_dirty_end = torn_end(segment.bytes, offset, max_record_bytes(segment));
    result_.torn_bytes = result_.tail_dirty_end - offset;
    drop_segments_from(index + 1);
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
