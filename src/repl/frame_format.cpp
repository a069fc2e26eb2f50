#include "repl/frame_format.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/crc32c.hpp"
#include "common/little_endian.hpp"
#include "wal/record_format.hpp"

namespace exchanged::repl {

namespace {

constexpr std::size_t kCrcCoveredHeaderBytes = 32;

// Reserves a header at the end of `out`; returns its offset.
std::size_t begin_frame(std::vector<std::byte>& out) {
    const std::size_t start = out.size();
    out.resize(start + kFrameHeaderBytes);
    return start;
}

void finish_frame(std::vector<std::byte>& out, std::size_t start, const FrameHeader& header) {
    std::byte* at = out.data() + start;
    store_le(at + 0, kFrameMagic);
    store_le(at + 4, kFrameVersion);
    store_le(at + 6, static_cast<std::uint16_t>(header.kind));
    store_le(at + 8, header.epoch);
    store_le(at + 16, header.first_lsn);
    store_le(at + 24, header.record_count);
    store_le(at + 28, header.payload_bytes);
    const std::uint32_t header_crc = crc32c(at, kCrcCoveredHeaderBytes);
    store_le(at + 32, header_crc);
    const std::uint32_t frame_crc =
        crc32c_extend(header_crc, at + kFrameHeaderBytes, header.payload_bytes);
    store_le(at + 36, frame_crc);
}

template <class T>
void append_le(std::vector<std::byte>& out, T value) {
    const std::size_t at = out.size();
    out.resize(at + sizeof(T));
    store_le(out.data() + at, value);
}

}  // namespace

const char* to_string(FrameKind kind) {
    switch (kind) {
        case FrameKind::Hello:
            return "Hello";
        case FrameKind::Records:
            return "Records";
        case FrameKind::Ack:
            return "Ack";
        case FrameKind::Refuse:
            return "Refuse";
        case FrameKind::Truncate:
            return "Truncate";
        case FrameKind::SnapshotBegin:
            return "SnapshotBegin";
        case FrameKind::SnapshotChunk:
            return "SnapshotChunk";
        case FrameKind::SnapshotEnd:
            return "SnapshotEnd";
        case FrameKind::Commit:
            return "Commit";
    }
    return "unknown";
}

const char* to_string(RefuseReason reason) {
    switch (reason) {
        case RefuseReason::StaleEpoch:
            return "stale epoch";
        case RefuseReason::DivergedLog:
            return "diverged log";
        case RefuseReason::OutOfDate:
            return "out of date";
        case RefuseReason::Busy:
            return "busy";
    }
    return "unknown";
}

void encode_frame(FrameKind kind, Epoch epoch, std::span<const std::byte> payload,
                  std::vector<std::byte>& out) {
    const std::size_t start = begin_frame(out);
    out.insert(out.end(), payload.begin(), payload.end());
    finish_frame(out, start, {kind, epoch, 0, 0, static_cast<std::uint32_t>(payload.size())});
}

void encode_hello(const Hello& hello, std::vector<std::byte>& out) {
    const std::size_t start = begin_frame(out);
    append_le(out, hello.node);
    append_le(out, hello.durable_lsn);
    append_le(out, hello.last_record_epoch);
    // The newest terms only: the older ones are the least likely place of a departure.
    const std::size_t count = std::min(hello.terms.size(), kMaxHelloTerms);
    append_le(out, static_cast<std::uint16_t>(count));
    for (std::size_t i = hello.terms.size() - count; i < hello.terms.size(); ++i) {
        append_le(out, hello.terms[i].epoch);
        append_le(out, hello.terms[i].first_lsn);
    }
    finish_frame(out, start,
                 {FrameKind::Hello, hello.epoch, 0, 0,
                  static_cast<std::uint32_t>(kHelloFixedBytes + count * kHelloTermBytes)});
}

void encode_ack(const Ack& ack, std::vector<std::byte>& out) {
    const std::size_t start = begin_frame(out);
    append_le(out, ack.durable_lsn);
    finish_frame(out, start,
                 {FrameKind::Ack, ack.epoch, 0, 0, static_cast<std::uint32_t>(kAckPayloadBytes)});
}

void encode_commit(const Commit& commit, std::vector<std::byte>& out) {
    const std::size_t start = begin_frame(out);
    append_le(out, commit.commit_lsn);
    finish_frame(
        out, start,
        {FrameKind::Commit, commit.epoch, 0, 0, static_cast<std::uint32_t>(kCommitPayloadBytes)});
}

void encode_refuse(const Refuse& refuse, std::vector<std::byte>& out) {
    const std::size_t start = begin_frame(out);
    append_le(out, static_cast<std::uint16_t>(refuse.reason));
    const std::size_t text_bytes = std::min(refuse.text.size(), kMaxRefuseTextBytes);
    const auto* text = reinterpret_cast<const std::byte*>(refuse.text.data());
    out.insert(out.end(), text, text + text_bytes);
    finish_frame(
        out, start,
        {FrameKind::Refuse, refuse.epoch, 0, 0, static_cast<std::uint32_t>(2 + text_bytes)});
}

void encode_truncate(const Truncate& truncate, std::vector<std::byte>& out) {
    const std::size_t start = begin_frame(out);
    append_le(out, truncate.keep_lsn);
    append_le(out, truncate.leader_epoch_after);
    append_le(out, truncate.leader_last_lsn);
    finish_frame(out, start,
                 {FrameKind::Truncate, truncate.epoch, 0, 0,
                  static_cast<std::uint32_t>(kTruncatePayloadBytes)});
}

void encode_records(Epoch epoch, wal::Lsn first_lsn, std::uint32_t count,
                    std::span<const std::byte> encoded, std::vector<std::byte>& out) {
    const std::size_t start = begin_frame(out);
    out.insert(out.end(), encoded.begin(), encoded.end());
    finish_frame(
        out, start,
        {FrameKind::Records, epoch, first_lsn, count, static_cast<std::uint32_t>(encoded.size())});
}

RecordsFrameBuilder::RecordsFrameBuilder(std::vector<std::byte>& out, Epoch epoch,
                                         wal::Lsn first_lsn)
    : out_(out), start_(begin_frame(out)), epoch_(epoch), first_lsn_(first_lsn) {}

void RecordsFrameBuilder::add(wal::Lsn lsn, std::uint16_t type,
                              std::span<const std::byte> payload) {
    if (finished_) {
        throw std::logic_error("replication frame: record added after finish()");
    }
    if (lsn != first_lsn_ + count_) {
        throw std::logic_error("replication frame: record LSN " + std::to_string(lsn) +
                               " where LSN " + std::to_string(first_lsn_ + count_) + " comes next");
    }
    const std::size_t at = out_.size();
    out_.resize(at + wal::record_bytes_for(payload.size()));
    wal::encode_record(lsn, type, payload, std::span<std::byte>(out_).subspan(at));
    ++count_;
}

void RecordsFrameBuilder::finish() {
    if (finished_ || count_ == 0) {
        throw std::logic_error(
            "replication frame: a Records frame needs one record and one finish()");
    }
    finished_ = true;
    const std::size_t payload_bytes = out_.size() - start_ - kFrameHeaderBytes;
    finish_frame(out_, start_,
                 {FrameKind::Records, epoch_, first_lsn_, count_,
                  static_cast<std::uint32_t>(payload_bytes)});
}

Hello hello_of(const Frame& frame) {
    const std::byte* at = frame.payload.data();
    Hello hello{load_le<NodeId>(at),
                frame.header.epoch,
                load_le<wal::Lsn>(at + 4),
                load_le<Epoch>(at + 12),
                {}};
    const auto count = load_le<std::uint16_t>(at + 20);
    hello.terms.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const std::byte* term = at + kHelloFixedBytes + i * kHelloTermBytes;
        hello.terms.push_back({load_le<Epoch>(term), load_le<wal::Lsn>(term + 8)});
    }
    return hello;
}

Ack ack_of(const Frame& frame) {
    return {frame.header.epoch, load_le<wal::Lsn>(frame.payload.data())};
}

Commit commit_of(const Frame& frame) {
    return {frame.header.epoch, load_le<wal::Lsn>(frame.payload.data())};
}

Refuse refuse_of(const Frame& frame) {
    const std::byte* at = frame.payload.data();
    return {frame.header.epoch, static_cast<RefuseReason>(load_le<std::uint16_t>(at)),
            std::string(reinterpret_cast<const char*>(at + 2), frame.payload.size() - 2)};
}

Truncate truncate_of(const Frame& frame) {
    const std::byte* at = frame.payload.data();
    return {frame.header.epoch, load_le<wal::Lsn>(at), load_le<Epoch>(at + 8),
            load_le<wal::Lsn>(at + 16)};
}

std::vector<RecordOfFrame> records_of(const Frame& frame) {
    std::vector<RecordOfFrame> records;
    records.reserve(frame.header.record_count);
    std::span<const std::byte> rest = frame.payload;
    while (!rest.empty()) {
        wal::DecodedRecord record;
        // The decoder has checked every record; a failure here is a caller's misuse.
        if (wal::decode_record(rest, rest.size(), &record) != wal::DecodeStatus::Ok) {
            throw std::logic_error("replication frame: records_of() on an unchecked frame");
        }
        records.push_back(
            {record.lsn, record.type, record.payload, rest.first(record.record_bytes)});
        rest = rest.subspan(record.record_bytes);
    }
    return records;
}

}  // namespace exchanged::repl
