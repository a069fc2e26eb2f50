// Frames for the replication tests: a decoded frame's copy that outlives the decoder's buffer, and
// hand-made frames whose fields an encoder would never write (to show the decoder refusing them).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/crc32c.hpp"
#include "common/little_endian.hpp"
#include "repl/frame_decoder.hpp"
#include "repl/frame_format.hpp"

namespace exchanged::repl::test {

struct OwnedFrame {
    FrameHeader header;
    std::vector<std::byte> payload;
    bool operator==(const OwnedFrame& other) const {
        return header.kind == other.header.kind && header.epoch == other.header.epoch &&
               header.first_lsn == other.header.first_lsn &&
               header.record_count == other.header.record_count &&
               header.payload_bytes == other.header.payload_bytes && payload == other.payload;
    }
};

inline OwnedFrame own(const Frame& frame) {
    return {frame.header, std::vector<std::byte>(frame.payload.begin(), frame.payload.end())};
}

// Feeds `bytes` in chunks split at `splits` (ascending offsets); returns the frames, and whether
// every feed succeeded.
inline bool decode_split(FrameDecoder& decoder, std::span<const std::byte> bytes,
                         const std::vector<std::size_t>& splits, std::vector<OwnedFrame>& frames) {
    std::size_t at = 0;
    auto on_frame = [&](const Frame& frame) { frames.push_back(own(frame)); };
    for (std::size_t split : splits) {
        if (!decoder.feed(bytes.subspan(at, split - at), on_frame)) {
            return false;
        }
        at = split;
    }
    return decoder.feed(bytes.subspan(at), on_frame);
}

// A frame with any header fields, its checksums correct.
inline std::vector<std::byte> raw_frame(std::uint16_t kind, Epoch epoch, wal::Lsn first_lsn,
                                        std::uint32_t count, std::span<const std::byte> payload,
                                        std::uint16_t version = kFrameVersion,
                                        std::int64_t payload_bytes_field = -1) {
    std::vector<std::byte> out(kFrameHeaderBytes);
    store_le(out.data() + 0, kFrameMagic);
    store_le(out.data() + 4, version);
    store_le(out.data() + 6, kind);
    store_le(out.data() + 8, epoch);
    store_le(out.data() + 16, first_lsn);
    store_le(out.data() + 24, count);
    const auto claimed = static_cast<std::uint32_t>(
        payload_bytes_field < 0 ? static_cast<std::int64_t>(payload.size()) : payload_bytes_field);
    store_le(out.data() + 28, claimed);
    const std::uint32_t header_crc = crc32c(out.data(), 32);
    store_le(out.data() + 32, header_crc);
    store_le(out.data() + 36, crc32c_extend(header_crc, payload.data(), payload.size()));
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

inline std::vector<std::byte> bytes_of(std::initializer_list<int> values) {
    std::vector<std::byte> out;
    for (int v : values) {
        out.push_back(static_cast<std::byte>(v));
    }
    return out;
}

}  // namespace exchanged::repl::test
