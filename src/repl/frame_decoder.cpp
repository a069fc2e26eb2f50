#include "repl/frame_decoder.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "common/crc32c.hpp"
#include "common/little_endian.hpp"
#include "repl/snapshot_frames.hpp"
#include "wal/record_format.hpp"

namespace exchanged::repl {

namespace {

constexpr std::size_t kMaxMaxFrameBytes = std::size_t{1} << 30;
constexpr std::string_view kWhat = "replication frame: ";

std::string text(std::string_view what) {
    return std::string(kWhat) + std::string(what);
}

}  // namespace

const char* to_string(FrameError error) {
    switch (error) {
        case FrameError::None:
            return "none";
        case FrameError::BadMagic:
            return "bad magic";
        case FrameError::BadVersion:
            return "bad version";
        case FrameError::BadHeaderChecksum:
            return "bad header checksum";
        case FrameError::BadKind:
            return "bad kind";
        case FrameError::BadLength:
            return "bad length";
        case FrameError::BadField:
            return "bad field";
        case FrameError::BadChecksum:
            return "bad checksum";
        case FrameError::BadPayload:
            return "bad payload";
    }
    return "unknown";
}

FrameDecoder::FrameDecoder(FrameDecoderOptions options)
    : max_frame_bytes_(options.max_frame_bytes) {
    if (max_frame_bytes_ < kMinMaxFrameBytes || max_frame_bytes_ > kMaxMaxFrameBytes) {
        throw std::invalid_argument(text("max_frame_bytes " + std::to_string(max_frame_bytes_) +
                                         " is outside [" + std::to_string(kMinMaxFrameBytes) +
                                         ", " + std::to_string(kMaxMaxFrameBytes) + "]"));
    }
    buffer_.reset(new std::byte[max_frame_bytes_]);
}

bool FrameDecoder::refuse(FrameError error, std::string message) {
    error_ = error;
    message_ = text(message);
    return false;
}

bool FrameDecoder::feed(std::span<const std::byte> chunk, const FrameCallback& on_frame) {
    if (error_ != FrameError::None) {
        return false;
    }
    while (!chunk.empty()) {
        // Take only what the current frame (or its header) still lacks: the buffer never holds
        // more than one frame, so its bound is the frame bound.
        const std::size_t want = (frame_bytes_ != 0 ? frame_bytes_ : kFrameHeaderBytes) - filled_;
        const std::size_t take = std::min(want, chunk.size());
        std::memcpy(buffer_.get() + filled_, chunk.data(), take);
        const std::size_t before = filled_;
        filled_ += take;
        chunk = chunk.subspan(take);

        // Garbage (another protocol, a shifted stream) is refused at its first four bytes.
        if (frame_bytes_ == 0 && before < 4 && filled_ >= 4 &&
            load_le<std::uint32_t>(buffer_.get()) != kFrameMagic) {
            char hex[16];
            std::snprintf(hex, sizeof hex, "0x%08x", load_le<std::uint32_t>(buffer_.get()));
            return refuse(FrameError::BadMagic, std::string("magic ") + hex + " is not the " +
                                                    "replication stream's (is the peer an " +
                                                    "exchanged replication port?)");
        }
        if (frame_bytes_ == 0) {
            if (filled_ < kFrameHeaderBytes) {
                continue;
            }
            if (!check_header()) {
                return false;
            }
            frame_bytes_ = kFrameHeaderBytes + header_.payload_bytes;
            if (filled_ < frame_bytes_) {
                continue;
            }
        } else if (filled_ < frame_bytes_) {
            continue;
        }
        if (!check_payload()) {
            return false;
        }
        const Frame frame{header_, std::span<const std::byte>(buffer_.get() + kFrameHeaderBytes,
                                                              header_.payload_bytes)};
        filled_ = 0;
        frame_bytes_ = 0;
        on_frame(frame);
    }
    return true;
}

bool FrameDecoder::check_header() {
    const std::byte* at = buffer_.get();
    const auto version = load_le<std::uint16_t>(at + 4);
    if (version != kFrameVersion) {
        return refuse(FrameError::BadVersion, "version " + std::to_string(version) +
                                                  " is not supported (this node speaks " +
                                                  std::to_string(kFrameVersion) + ")");
    }
    const std::uint32_t header_crc = crc32c(at, 32);
    if (header_crc != load_le<std::uint32_t>(at + 32)) {
        return refuse(FrameError::BadHeaderChecksum,
                      "header_crc does not match the header (damaged frame)");
    }
    const auto kind = load_le<std::uint16_t>(at + 6);
    header_.epoch = load_le<Epoch>(at + 8);
    header_.first_lsn = load_le<wal::Lsn>(at + 16);
    header_.record_count = load_le<std::uint32_t>(at + 24);
    header_.payload_bytes = load_le<std::uint32_t>(at + 28);
    const std::string kind_text = "kind " + std::to_string(kind);
    if (kind < static_cast<std::uint16_t>(FrameKind::Hello) || kind > kLastFrameKind) {
        return refuse(FrameError::BadKind, kind_text + " is not a frame kind (1.." +
                                               std::to_string(kLastFrameKind) + ")");
    }
    header_.kind = static_cast<FrameKind>(kind);
    const std::string name = std::string(to_string(header_.kind)) + " frame: ";
    if (header_.payload_bytes > max_frame_bytes_ - kFrameHeaderBytes) {
        return refuse(FrameError::BadLength,
                      name + "payload_bytes " + std::to_string(header_.payload_bytes) +
                          " exceeds the frame bound " + std::to_string(max_frame_bytes_) +
                          " (max_frame_bytes, header included)");
    }
    const std::string length = name + "payload_bytes " + std::to_string(header_.payload_bytes);
    switch (header_.kind) {
        case FrameKind::Hello:
            if (header_.payload_bytes < kHelloFixedBytes ||
                header_.payload_bytes > kHelloFixedBytes + kMaxHelloTerms * kHelloTermBytes ||
                (header_.payload_bytes - kHelloFixedBytes) % kHelloTermBytes != 0) {
                return refuse(FrameError::BadLength,
                              length + " is not " + std::to_string(kHelloFixedBytes) + " + " +
                                  std::to_string(kHelloTermBytes) + " x terms (at most " +
                                  std::to_string(kMaxHelloTerms) + ")");
            }
            break;
        case FrameKind::Truncate:
            if (header_.payload_bytes != kTruncatePayloadBytes) {
                return refuse(FrameError::BadLength,
                              length + " is not " + std::to_string(kTruncatePayloadBytes));
            }
            break;
        case FrameKind::Ack:
            if (header_.payload_bytes != kAckPayloadBytes) {
                return refuse(FrameError::BadLength,
                              length + " is not " + std::to_string(kAckPayloadBytes));
            }
            break;
        case FrameKind::Commit:
            if (header_.payload_bytes != kCommitPayloadBytes) {
                return refuse(FrameError::BadLength,
                              length + " is not " + std::to_string(kCommitPayloadBytes));
            }
            break;
        case FrameKind::Refuse:
            if (header_.payload_bytes < 2 || header_.payload_bytes > 2 + kMaxRefuseTextBytes) {
                return refuse(
                    FrameError::BadLength,
                    length + " is outside [2, " + std::to_string(2 + kMaxRefuseTextBytes) + "]");
            }
            break;
        case FrameKind::SnapshotBegin:
        case FrameKind::SnapshotChunk:
        case FrameKind::SnapshotEnd:
            if (const std::string bad = snapshot_length_error(header_.kind, header_.payload_bytes);
                !bad.empty()) {
                return refuse(FrameError::BadLength, name + bad);
            }
            break;
        case FrameKind::Records:
            if (header_.record_count == 0) {
                return refuse(FrameError::BadField, name + "record_count is 0");
            }
            if (header_.first_lsn == 0) {
                return refuse(FrameError::BadField, name + "first_lsn is 0 (LSNs start at 1)");
            }
            if (header_.payload_bytes <
                std::uint64_t{header_.record_count} * wal::kRecordHeaderBytes) {
                return refuse(FrameError::BadLength, length + " cannot hold record_count " +
                                                         std::to_string(header_.record_count) +
                                                         " records");
            }
            return true;
    }
    if (header_.first_lsn != 0 || header_.record_count != 0) {
        return refuse(FrameError::BadField,
                      name + "first_lsn " + std::to_string(header_.first_lsn) +
                          " and record_count " + std::to_string(header_.record_count) +
                          " must be 0");
    }
    return true;
}

bool FrameDecoder::check_payload() {
    const std::byte* at = buffer_.get();
    const std::span<const std::byte> payload(at + kFrameHeaderBytes, header_.payload_bytes);
    const std::uint32_t frame_crc =
        crc32c_extend(load_le<std::uint32_t>(at + 32), payload.data(), payload.size());
    if (frame_crc != load_le<std::uint32_t>(at + 36)) {
        return refuse(FrameError::BadChecksum,
                      std::string(to_string(header_.kind)) +
                          " frame: frame_crc does not match the payload (damaged frame)");
    }
    const std::string name = std::string(to_string(header_.kind)) + " frame: ";
    if (header_.kind == FrameKind::Refuse) {
        const auto reason = load_le<std::uint16_t>(payload.data());
        if (reason < static_cast<std::uint16_t>(RefuseReason::StaleEpoch) ||
            reason > static_cast<std::uint16_t>(RefuseReason::Busy)) {
            return refuse(FrameError::BadPayload,
                          name + "reason " + std::to_string(reason) + " is not a refusal reason");
        }
        return true;
    }
    if (header_.kind == FrameKind::Hello) {
        return check_hello(payload);
    }
    if (header_.kind == FrameKind::Commit) {
        if (load_le<wal::Lsn>(payload.data()) == 0) {
            return refuse(FrameError::BadPayload, name + "commit_lsn is 0 (LSNs start at 1)");
        }
        return true;
    }
    if (header_.kind == FrameKind::SnapshotBegin || header_.kind == FrameKind::SnapshotChunk) {
        std::string bad;
        if (header_.kind == FrameKind::SnapshotBegin) {
            SnapshotManifest manifest;
            bad = parse_snapshot_begin(payload, manifest);
        } else {
            bad = snapshot_chunk_error(payload);
        }
        if (!bad.empty()) {
            return refuse(FrameError::BadPayload, name + bad);
        }
        return true;
    }
    if (header_.kind != FrameKind::Records) {
        return true;
    }
    // Every record must be a valid WAL record with the next LSN, and they must fill the payload
    // exactly: what the follower appends is then what the leader logged.
    std::span<const std::byte> rest = payload;
    for (std::uint32_t i = 0; i < header_.record_count; ++i) {
        const wal::Lsn expected = header_.first_lsn + i;
        wal::DecodedRecord record;
        const wal::DecodeStatus status = wal::decode_record(rest, rest.size(), &record);
        const std::string where =
            name + "record " + std::to_string(i) + " (LSN " + std::to_string(expected) + ") ";
        if (status != wal::DecodeStatus::Ok) {
            return refuse(FrameError::BadPayload,
                          where + (status == wal::DecodeStatus::BadChecksum
                                       ? "fails its record CRC"
                                       : "has a record length outside the payload"));
        }
        if (record.lsn != expected) {
            return refuse(FrameError::BadPayload,
                          where + "carries LSN " + std::to_string(record.lsn));
        }
        rest = rest.subspan(record.record_bytes);
    }
    if (!rest.empty()) {
        return refuse(FrameError::BadPayload,
                      name + std::to_string(rest.size()) + " payload bytes follow record_count " +
                          std::to_string(header_.record_count) + " records");
    }
    return true;
}

bool FrameDecoder::check_hello(std::span<const std::byte> payload) {
    const std::string name = "Hello frame: ";
    const std::byte* at = payload.data();
    const auto durable = load_le<wal::Lsn>(at + 4);
    const auto last_epoch = load_le<Epoch>(at + 12);
    const auto terms = load_le<std::uint16_t>(at + 20);
    const std::size_t carried = (payload.size() - kHelloFixedBytes) / kHelloTermBytes;
    if (terms != carried) {
        return refuse(FrameError::BadField, name + "terms " + std::to_string(terms) +
                                                " but the payload carries " +
                                                std::to_string(carried));
    }
    TermStart previous;
    for (std::size_t i = 0; i < carried; ++i) {
        const std::byte* term = at + kHelloFixedBytes + i * kHelloTermBytes;
        const TermStart t{load_le<Epoch>(term), load_le<wal::Lsn>(term + 8)};
        const std::string which = name + "term " + std::to_string(i) + " (epoch " +
                                  std::to_string(t.epoch) + " from LSN " +
                                  std::to_string(t.first_lsn) + ") ";
        if (t.epoch == 0 || t.first_lsn == 0) {
            return refuse(FrameError::BadPayload, which + "has a zero epoch or LSN");
        }
        if (i > 0 && (t.epoch <= previous.epoch || t.first_lsn <= previous.first_lsn)) {
            return refuse(FrameError::BadPayload,
                          which + "does not follow epoch " + std::to_string(previous.epoch) +
                              " from LSN " + std::to_string(previous.first_lsn));
        }
        if (t.first_lsn > durable) {
            return refuse(FrameError::BadPayload,
                          which + "starts beyond durable_lsn " + std::to_string(durable));
        }
        if (t.epoch > header_.epoch) {
            return refuse(FrameError::BadPayload,
                          which + "is above the promised epoch " + std::to_string(header_.epoch));
        }
        previous = t;
    }
    if (last_epoch != previous.epoch) {
        return refuse(FrameError::BadPayload, name + "last_record_epoch " +
                                                  std::to_string(last_epoch) +
                                                  " is not the epoch of its newest term (" +
                                                  std::to_string(previous.epoch) + ")");
    }
    return true;
}

}  // namespace exchanged::repl
