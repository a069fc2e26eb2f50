// A follower's side of a snapshot re-sync (docs/replication.md "Retention and snapshot re-sync"):
// the files arrive into a staging directory beside the follower's WAL, are checked against the
// manifest's sizes and CRC32Cs once all are there, and are then swapped into the data directory.
//
//   <staging>/store.sqlite or <staging>/store.pgdump, <staging>/wal/wal-*.log
//                                                     as the manifest lists them
//   <staging>/READY                                   written (fsynced) once every file checked
//
// The swap is crash-safe: it runs only with READY present, every step can be run again, and a
// follower that starts with a staging directory either finishes the swap (READY) or deletes the
// staging directory (no READY: a transfer that never completed).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "repl/snapshot_frames.hpp"

namespace exchanged::repl {

inline constexpr const char* kSnapshotReadyName = "READY";
// The store a snapshot carries: an SQLite file, or a PostgreSQL store's pg_dump (custom format).
inline constexpr const char* kSnapshotSqliteStore = "store.sqlite";
inline constexpr const char* kSnapshotPostgresStore = "store.pgdump";

class SnapshotStaging {
  public:
    explicit SnapshotStaging(std::filesystem::path dir);
    ~SnapshotStaging();
    SnapshotStaging(const SnapshotStaging&) = delete;
    SnapshotStaging& operator=(const SnapshotStaging&) = delete;

    // Each returns "" or what was wrong (the caller refuses the snapshot and closes: the leader
    // starts over). begin() empties the staging directory first.
    std::string begin(const SnapshotManifest& manifest);
    // Chunks come file by file, each from offset 0 without a gap or overlap.
    std::string chunk(const SnapshotChunk& chunk);
    // Every file complete: fsyncs them, reads each back against its size and CRC32C, then writes
    // READY.
    std::string end(std::uint32_t file_count);
    // Forget a transfer that did not end (a closed connection, a refused chunk).
    void abandon();

    bool active() const { return active_; }
    const SnapshotManifest& manifest() const { return manifest_; }
    std::uint64_t bytes_received() const { return received_; }
    const std::filesystem::path& dir() const { return dir_; }

  private:
    void close_file();

    const std::filesystem::path dir_;
    SnapshotManifest manifest_;
    bool active_ = false;
    std::uint32_t file_ = 0;      // the file chunks go to now
    std::uint64_t written_ = 0;   // of that file
    std::uint64_t received_ = 0;  // bytes of all files
    int fd_ = -1;
};

struct SnapshotTargets {
    std::filesystem::path wal_dir;     // the follower's WAL directory
    std::filesystem::path store_file;  // its SQLite store (empty: a snapshot's store is not kept)
    // The store file this follower takes (kSnapshotSqliteStore or kSnapshotPostgresStore): a
    // snapshot holding the other kind is refused, since the nodes of a cluster can be configured
    // differently by mistake and neither store converts into the other.
    std::string store_name = kSnapshotSqliteStore;
    // Installs the staged store file instead of the rename (a PostgreSQL follower: a restore into
    // its own database, which repl cannot do itself). It must be all or nothing and end in the same
    // store when run again: a crash may interrupt it, and the next start runs it again. Returns
    // what to log; throws std::runtime_error naming the cause.
    std::function<std::string(const std::filesystem::path& staged_store)> install_store = {};
};

// "" when a snapshot whose files include `has(name)` suits a follower taking `store_name`, or why
// not, naming both kinds.
std::string snapshot_store_mismatch(const std::function<bool(const std::string&)>& has,
                                    const std::string& store_name);
std::string snapshot_store_mismatch(const SnapshotManifest& manifest,
                                    const std::string& store_name);

// Moves a READY staging directory's files into place: its wal/ replaces wal_dir (the old one is
// removed), then its store.sqlite replaces store_file (with the old one's -wal/-shm files removed
// first) or targets.install_store installs its store.pgdump, fsyncing each directory after its
// rename; then removes the staging directory. The WAL goes first: the snapshot's WAL reaches at
// least its store's LSN and the old store is older than that, so a crash between the two leaves
// the store behind the WAL, never ahead of it (and READY still there). Throws std::runtime_error
// naming the step when a rename, an fsync or the store's install fails, or when the staged store
// is not of the follower's kind (run it again: it picks up where it stopped).
void install_snapshot(const std::filesystem::path& staging, const SnapshotTargets& targets,
                      const std::function<void(const std::string&)>& say);

// At a follower's start: a staging directory with READY is installed (a swap a crash
// interrupted); one without is removed. Returns true when it installed one.
bool finish_interrupted_snapshot(const std::filesystem::path& staging,
                                 const SnapshotTargets& targets,
                                 const std::function<void(const std::string&)>& say);

}  // namespace exchanged::repl
