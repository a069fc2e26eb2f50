// What one backup directory holds (docs/operations.md "Backups"): manifest.json lists every file
// with its size and CRC32C and the LSNs the backup covers; verified.json, written by `backup
// verify` beside it, says a restore of it recovered and passed the checks.
//
//   <DIR>/<UTC time>-<store_lsn>/manifest.json
//                               /store.sqlite     the store snapshot (VACUUM INTO), or
//                               /store.pgdump     a PostgreSQL store's (pg_dump, custom format)
//                               /profile.ini      the profile the daemon ran with
//                               /wal/wal-*.log    the segments holding store_lsn+1 .. wal_last_lsn
//                               /verified.json    after a successful `backup verify`
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace exchanged::tools {

inline constexpr const char* kManifestName = "manifest.json";
inline constexpr const char* kVerifiedName = "verified.json";
inline constexpr const char* kStoreFileName = "store.sqlite";
inline constexpr const char* kPgDumpFileName = "store.pgdump";
inline constexpr const char* kProfileFileName = "profile.ini";
inline constexpr const char* kWalDirName = "wal";

struct BackupFile {
    std::string name;  // relative to the backup directory, e.g. "wal/wal-...log"
    std::uint64_t bytes = 0;
    std::uint32_t crc32c = 0;
};

struct BackupManifest {
    int format = 1;
    std::string created;       // UTC, ISO 8601 ("2026-12-04T16:20:00Z")
    std::string profile;       // "standard"
    std::string config;        // the profile file the backup was taken with
    std::string backend;       // "sqlite" or "postgresql"
    std::string store_schema;  // postgresql: the schema of the store's tables
    std::string mode;          // "online" (through the daemon) or "offline"
    std::uint64_t store_lsn = 0;
    std::uint64_t wal_first_lsn = 0;  // 0: no WAL record copied
    std::uint64_t wal_last_lsn = 0;
    std::vector<BackupFile> files;

    // The file holding the store: store.sqlite, or store.pgdump for a PostgreSQL store.
    const char* store_file() const {
        return backend == "postgresql" ? kPgDumpFileName : kStoreFileName;
    }
    // The LSN a restore of this backup recovers to.
    std::uint64_t last_lsn() const { return wal_last_lsn > store_lsn ? wal_last_lsn : store_lsn; }
};

struct VerifiedMark {
    std::string verified_at;  // UTC, ISO 8601
    std::uint64_t last_lsn = 0;
    std::vector<std::uint64_t> state_hashes;  // per shard, after the restore recovered
};

std::string to_json(const BackupManifest& manifest);
std::string to_json(const VerifiedMark& mark);

// Throws std::runtime_error naming the file and what is wrong with it.
BackupManifest read_manifest(const std::filesystem::path& backup_dir);
// Nothing when the backup was never verified; throws when verified.json is unreadable.
std::optional<VerifiedMark> read_verified(const std::filesystem::path& backup_dir);

// "2026-12-04T16:20:00Z" for now, and the directory-name form "20261204T162000Z".
std::string utc_now_iso();
std::string utc_compact(const std::string& iso);
// Seconds since the epoch of an utc_now_iso() text; nothing when it is not one.
std::optional<std::int64_t> parse_utc_iso(const std::string& iso);

}  // namespace exchanged::tools
