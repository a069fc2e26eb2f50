// The frames of a snapshot re-sync (docs/replication.md "Retention and snapshot re-sync"): a
// follower the leader's WAL no longer covers is sent the leader's store as of some store_lsn plus
// the WAL segments above it, as files, over the replication connection.
//
//   SnapshotBegin  u64 store_lsn, u64 last_lsn, u32 file_count, then per file:
//                  u16 name_bytes, name, u64 bytes, u32 crc32c
//   SnapshotChunk  u32 file (index into the manifest), u64 offset, the bytes (1..1 MiB)
//   SnapshotEnd    u32 file_count (again: the end of this manifest's files)
//
// A file name is "store.sqlite" or "wal/<segment>"-like: 1..255 bytes of [A-Za-z0-9._-], with at
// most one '/' not at either end, never "." or "..": it can only name a file inside the follower's
// staging directory.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "repl/frame_format.hpp"

namespace exchanged::repl {

inline constexpr std::size_t kMaxSnapshotFiles = 4096;
inline constexpr std::size_t kMaxSnapshotNameBytes = 255;
inline constexpr std::size_t kMaxSnapshotChunkBytes = 1u << 20;
inline constexpr std::size_t kSnapshotChunkHeadBytes = 12;  // u32 file, u64 offset
inline constexpr std::uint64_t kMaxSnapshotFileBytes = 1ull << 40;

struct SnapshotFile {
    std::string name;
    std::uint64_t bytes = 0;
    std::uint32_t crc32c = 0;
    friend bool operator==(const SnapshotFile&, const SnapshotFile&) = default;
};

struct SnapshotManifest {
    wal::Lsn store_lsn = 0;  // the store file holds every LSN up to here
    wal::Lsn last_lsn = 0;   // the WAL files hold store_lsn + 1 .. last_lsn
    std::vector<SnapshotFile> files;
    friend bool operator==(const SnapshotManifest&, const SnapshotManifest&) = default;
};

struct SnapshotChunk {
    std::uint32_t file = 0;
    std::uint64_t offset = 0;
    std::span<const std::byte> bytes;
};

// Throw std::invalid_argument when the manifest or chunk could not be decoded (a bad name, too
// many files, a chunk over the bound): the sender must not build what the decoder refuses.
void encode_snapshot_begin(Epoch epoch, const SnapshotManifest& manifest,
                           std::vector<std::byte>& out);
void encode_snapshot_chunk(Epoch epoch, const SnapshotChunk& chunk, std::vector<std::byte>& out);
void encode_snapshot_end(Epoch epoch, std::uint32_t file_count, std::vector<std::byte>& out);

// Why a name cannot be a snapshot file's ("" when it can).
std::string snapshot_name_error(std::string_view name);
// The decoder's checks: "" when fine, else what is wrong, naming the field.
std::string snapshot_length_error(FrameKind kind, std::uint32_t payload_bytes);
std::string parse_snapshot_begin(std::span<const std::byte> payload, SnapshotManifest& out);
std::string snapshot_chunk_error(std::span<const std::byte> payload);

// Typed views of decoded frames (the decoder has checked them).
SnapshotManifest snapshot_begin_of(const Frame& frame);
SnapshotChunk snapshot_chunk_of(const Frame& frame);
std::uint32_t snapshot_end_of(const Frame& frame);

}  // namespace exchanged::repl
