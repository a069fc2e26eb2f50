#include "repl/snapshot_frames.hpp"

#include <stdexcept>

#include "common/little_endian.hpp"

namespace exchanged::repl {

namespace {

template <class T>
void append_le(std::vector<std::byte>& out, T value) {
    const std::size_t at = out.size();
    out.resize(at + sizeof(T));
    store_le(out.data() + at, value);
}

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

}  // namespace

std::string snapshot_name_error(std::string_view name) {
    if (name.empty() || name.size() > kMaxSnapshotNameBytes) {
        return "name length " + std::to_string(name.size()) + " is outside [1, " +
               std::to_string(kMaxSnapshotNameBytes) + "]";
    }
    std::size_t slashes = 0;
    for (const char c : name) {
        if (c == '/') {
            ++slashes;
        } else if (!name_char(c)) {
            return "name \"" + std::string(name) + "\" holds a character outside [A-Za-z0-9._-/]";
        }
    }
    const std::size_t slash = name.find('/');
    const std::string_view first = name.substr(0, slash);
    const std::string_view last = slash == std::string_view::npos ? "" : name.substr(slash + 1);
    if (slashes > 1 || name.front() == '/' || name.back() == '/' || first == "." || first == ".." ||
        last == "." || last == "..") {
        return "name \"" + std::string(name) + "\" is not a file inside the snapshot";
    }
    return "";
}

void encode_snapshot_begin(Epoch epoch, const SnapshotManifest& manifest,
                           std::vector<std::byte>& out) {
    if (manifest.files.empty() || manifest.files.size() > kMaxSnapshotFiles) {
        throw std::invalid_argument("snapshot manifest: " + std::to_string(manifest.files.size()) +
                                    " files, outside [1, " + std::to_string(kMaxSnapshotFiles) +
                                    "]");
    }
    std::vector<std::byte> payload;
    append_le(payload, manifest.store_lsn);
    append_le(payload, manifest.last_lsn);
    append_le(payload, static_cast<std::uint32_t>(manifest.files.size()));
    for (const SnapshotFile& file : manifest.files) {
        if (const std::string bad = snapshot_name_error(file.name); !bad.empty()) {
            throw std::invalid_argument("snapshot manifest: " + bad);
        }
        if (file.bytes > kMaxSnapshotFileBytes) {
            throw std::invalid_argument("snapshot manifest: " + file.name + " is too large");
        }
        append_le(payload, static_cast<std::uint16_t>(file.name.size()));
        const auto* name = reinterpret_cast<const std::byte*>(file.name.data());
        payload.insert(payload.end(), name, name + file.name.size());
        append_le(payload, file.bytes);
        append_le(payload, file.crc32c);
    }
    encode_frame(FrameKind::SnapshotBegin, epoch, payload, out);
}

void encode_snapshot_chunk(Epoch epoch, const SnapshotChunk& chunk, std::vector<std::byte>& out) {
    if (chunk.bytes.empty() || chunk.bytes.size() > kMaxSnapshotChunkBytes) {
        throw std::invalid_argument("snapshot chunk of " + std::to_string(chunk.bytes.size()) +
                                    " bytes, outside [1, " +
                                    std::to_string(kMaxSnapshotChunkBytes) + "]");
    }
    std::vector<std::byte> payload;
    payload.reserve(kSnapshotChunkHeadBytes + chunk.bytes.size());
    append_le(payload, chunk.file);
    append_le(payload, chunk.offset);
    payload.insert(payload.end(), chunk.bytes.begin(), chunk.bytes.end());
    encode_frame(FrameKind::SnapshotChunk, epoch, payload, out);
}

void encode_snapshot_end(Epoch epoch, std::uint32_t file_count, std::vector<std::byte>& out) {
    std::vector<std::byte> payload;
    append_le(payload, file_count);
    encode_frame(FrameKind::SnapshotEnd, epoch, payload, out);
}

std::string snapshot_length_error(FrameKind kind, std::uint32_t payload_bytes) {
    const std::string length = "payload_bytes " + std::to_string(payload_bytes);
    switch (kind) {
        case FrameKind::SnapshotBegin:
            if (payload_bytes < 20 + 1 + 2 + 12) {
                return length + " cannot hold a manifest of one file";
            }
            return "";
        case FrameKind::SnapshotChunk:
            if (payload_bytes <= kSnapshotChunkHeadBytes ||
                payload_bytes > kSnapshotChunkHeadBytes + kMaxSnapshotChunkBytes) {
                return length + " is outside [" + std::to_string(kSnapshotChunkHeadBytes + 1) +
                       ", " + std::to_string(kSnapshotChunkHeadBytes + kMaxSnapshotChunkBytes) +
                       "]";
            }
            return "";
        case FrameKind::SnapshotEnd:
            return payload_bytes == 4 ? "" : length + " is not 4";
        default:
            return "";
    }
}

std::string parse_snapshot_begin(std::span<const std::byte> payload, SnapshotManifest& out) {
    if (payload.size() < 20) {
        return "payload_bytes " + std::to_string(payload.size()) + " cannot hold the manifest head";
    }
    out.store_lsn = load_le<wal::Lsn>(payload.data());
    out.last_lsn = load_le<wal::Lsn>(payload.data() + 8);
    const auto count = load_le<std::uint32_t>(payload.data() + 16);
    if (out.last_lsn < out.store_lsn) {
        return "last_lsn " + std::to_string(out.last_lsn) + " is below store_lsn " +
               std::to_string(out.store_lsn);
    }
    if (count == 0 || count > kMaxSnapshotFiles) {
        return "file_count " + std::to_string(count) + " is outside [1, " +
               std::to_string(kMaxSnapshotFiles) + "]";
    }
    out.files.clear();
    std::size_t at = 20;
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::string which = "file " + std::to_string(i) + ": ";
        if (payload.size() - at < 2) {
            return which + "the payload ends before its name_bytes";
        }
        const auto name_bytes = load_le<std::uint16_t>(payload.data() + at);
        at += 2;
        if (payload.size() - at < std::size_t{name_bytes} + 12) {
            return which + "name_bytes " + std::to_string(name_bytes) +
                   " runs past the payload's end";
        }
        SnapshotFile file;
        file.name.assign(reinterpret_cast<const char*>(payload.data() + at), name_bytes);
        at += name_bytes;
        if (const std::string bad = snapshot_name_error(file.name); !bad.empty()) {
            return which + bad;
        }
        for (const SnapshotFile& earlier : out.files) {
            if (earlier.name == file.name) {
                return which + "name \"" + file.name + "\" is listed twice";
            }
        }
        file.bytes = load_le<std::uint64_t>(payload.data() + at);
        file.crc32c = load_le<std::uint32_t>(payload.data() + at + 8);
        at += 12;
        if (file.bytes > kMaxSnapshotFileBytes) {
            return which + "bytes " + std::to_string(file.bytes) + " is over the bound " +
                   std::to_string(kMaxSnapshotFileBytes);
        }
        out.files.push_back(std::move(file));
    }
    if (at != payload.size()) {
        return std::to_string(payload.size() - at) + " payload bytes follow file_count " +
               std::to_string(count) + " files";
    }
    return "";
}

std::string snapshot_chunk_error(std::span<const std::byte> payload) {
    const auto offset = load_le<std::uint64_t>(payload.data() + 4);
    const std::uint64_t bytes = payload.size() - kSnapshotChunkHeadBytes;
    if (offset > kMaxSnapshotFileBytes || kMaxSnapshotFileBytes - offset < bytes) {
        return "offset " + std::to_string(offset) + " is past any snapshot file's end";
    }
    return "";
}

SnapshotManifest snapshot_begin_of(const Frame& frame) {
    SnapshotManifest manifest;
    if (const std::string bad = parse_snapshot_begin(frame.payload, manifest); !bad.empty()) {
        throw std::logic_error("snapshot_begin_of() on an unchecked frame: " + bad);
    }
    return manifest;
}

SnapshotChunk snapshot_chunk_of(const Frame& frame) {
    return {load_le<std::uint32_t>(frame.payload.data()),
            load_le<std::uint64_t>(frame.payload.data() + 4),
            frame.payload.subspan(kSnapshotChunkHeadBytes)};
}

std::uint32_t snapshot_end_of(const Frame& frame) {
    return load_le<std::uint32_t>(frame.payload.data());
}

}  // namespace exchanged::repl
