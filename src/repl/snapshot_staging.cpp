#include "repl/snapshot_staging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "common/crc32c.hpp"

namespace exchanged::repl {

namespace fs = std::filesystem;

namespace {

std::string errno_text(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

void fsync_path(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw std::runtime_error(errno_text("open " + path.string() + " to fsync it"));
    }
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) {
        errno = saved;
        throw std::runtime_error(errno_text("fsync " + path.string()));
    }
}

// The file's CRC32C, read back from the disk; "" or the error in `why`.
bool read_back(const fs::path& path, std::uint64_t& bytes, std::uint32_t& crc, std::string& why) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        why = errno_text("open " + path.string());
        return false;
    }
    std::vector<std::byte> buffer(1u << 20);
    bytes = 0;
    crc = 0;
    while (true) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0) {
            why = errno_text("read " + path.string());
            ::close(fd);
            return false;
        }
        if (n == 0) {
            break;
        }
        crc = crc32c_extend(crc, buffer.data(), static_cast<std::size_t>(n));
        bytes += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    return true;
}

std::string store_kind(const std::string& name) {
    if (name == kSnapshotSqliteStore) {
        return "SQLite";
    }
    if (name == kSnapshotPostgresStore) {
        return "PostgreSQL";
    }
    return name;
}

}  // namespace

std::string snapshot_store_mismatch(const std::function<bool(const std::string&)>& has,
                                    const std::string& store_name) {
    for (const char* other : {kSnapshotSqliteStore, kSnapshotPostgresStore}) {
        if (other != store_name && has(other)) {
            return "the snapshot holds a " + store_kind(other) + " store (" + other +
                   ") and this follower's store is " + store_kind(store_name) +
                   ": give every node of the cluster the same [persistence] store";
        }
    }
    return "";
}

std::string snapshot_store_mismatch(const SnapshotManifest& manifest,
                                    const std::string& store_name) {
    return snapshot_store_mismatch(
        [&](const std::string& name) {
            for (const SnapshotFile& file : manifest.files) {
                if (file.name == name) {
                    return true;
                }
            }
            return false;
        },
        store_name);
}

SnapshotStaging::SnapshotStaging(fs::path dir) : dir_(std::move(dir)) {}

SnapshotStaging::~SnapshotStaging() {
    close_file();
}

void SnapshotStaging::close_file() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

void SnapshotStaging::abandon() {
    close_file();
    active_ = false;
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
}

std::string SnapshotStaging::begin(const SnapshotManifest& manifest) {
    abandon();
    std::error_code error;
    fs::create_directories(dir_, error);
    if (error) {
        return "cannot create the staging directory " + dir_.string() + ": " + error.message();
    }
    manifest_ = manifest;
    file_ = 0;
    written_ = 0;
    received_ = 0;
    for (const SnapshotFile& file : manifest_.files) {
        const fs::path path = dir_ / file.name;
        fs::create_directories(path.parent_path(), error);
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (error || fd < 0) {
            return error ? "cannot create " + path.parent_path().string() + ": " + error.message()
                         : errno_text("create " + path.string());
        }
        ::close(fd);
    }
    active_ = true;
    return "";
}

std::string SnapshotStaging::chunk(const SnapshotChunk& chunk) {
    if (!active_) {
        return "a SnapshotChunk without a SnapshotBegin";
    }
    // Files the sender has finished (or that are empty) are passed over.
    while (file_ < manifest_.files.size() && written_ == manifest_.files[file_].bytes &&
           chunk.file != file_) {
        close_file();
        ++file_;
        written_ = 0;
    }
    if (chunk.file != file_ || file_ >= manifest_.files.size()) {
        return "SnapshotChunk for file " + std::to_string(chunk.file) + " while file " +
               std::to_string(file_) + " is being received";
    }
    const SnapshotFile& file = manifest_.files[file_];
    if (chunk.offset != written_) {
        return "SnapshotChunk of " + file.name + " at offset " + std::to_string(chunk.offset) +
               ", expected " + std::to_string(written_);
    }
    if (file.bytes - written_ < chunk.bytes.size()) {
        return "SnapshotChunk of " + file.name + " runs past its size " +
               std::to_string(file.bytes);
    }
    if (fd_ < 0) {
        const fs::path path = dir_ / file.name;
        fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd_ < 0) {
            return errno_text("open " + path.string());
        }
    }
    std::size_t done = 0;
    while (done < chunk.bytes.size()) {
        const ssize_t n = ::pwrite(fd_, chunk.bytes.data() + done, chunk.bytes.size() - done,
                                   static_cast<off_t>(written_ + done));
        if (n <= 0) {
            return errno_text("write " + (dir_ / file.name).string());
        }
        done += static_cast<std::size_t>(n);
    }
    written_ += chunk.bytes.size();
    received_ += chunk.bytes.size();
    return "";
}

std::string SnapshotStaging::end(std::uint32_t file_count) {
    if (!active_) {
        return "a SnapshotEnd without a SnapshotBegin";
    }
    close_file();
    if (file_count != manifest_.files.size()) {
        return "SnapshotEnd says " + std::to_string(file_count) + " files, the manifest " +
               std::to_string(manifest_.files.size());
    }
    try {
        for (const SnapshotFile& file : manifest_.files) {
            const fs::path path = dir_ / file.name;
            fsync_path(path);
            std::uint64_t bytes = 0;
            std::uint32_t crc = 0;
            std::string why;
            if (!read_back(path, bytes, crc, why)) {
                return why;
            }
            if (bytes != file.bytes) {
                return file.name + ": " + std::to_string(bytes) + " bytes received, the manifest " +
                       "says " + std::to_string(file.bytes);
            }
            if (crc != file.crc32c) {
                return file.name + ": CRC32C " + std::to_string(crc) +
                       " does not match the manifest's " + std::to_string(file.crc32c) +
                       " (a damaged chunk)";
            }
        }
        for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
            if (entry.is_directory()) {
                fsync_path(entry.path());
            }
        }
        const fs::path ready = dir_ / kSnapshotReadyName;
        const int fd = ::open(ready.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || ::fsync(fd) != 0) {
            const std::string why = errno_text("write " + ready.string());
            if (fd >= 0) {
                ::close(fd);
            }
            return why;
        }
        ::close(fd);
        fsync_path(dir_);
    } catch (const std::exception& e) {
        return e.what();
    }
    active_ = false;
    return "";
}

void install_snapshot(const fs::path& staging, const SnapshotTargets& targets,
                      const std::function<void(const std::string&)>& say) {
    if (!fs::exists(staging / kSnapshotReadyName)) {
        throw std::runtime_error("snapshot install: " + staging.string() + " has no " +
                                 kSnapshotReadyName + " (the transfer never completed)");
    }
    // Before anything moves: a follower reconfigured since the transfer keeps its files.
    if (const std::string bad = snapshot_store_mismatch(
            [&](const std::string& name) { return fs::exists(staging / name); },
            targets.store_name);
        !bad.empty()) {
        throw std::runtime_error("snapshot install: " + bad);
    }
    const fs::path staged_wal = staging / "wal";
    if (fs::exists(staged_wal)) {
        const fs::path old = targets.wal_dir.string() + ".pre-snapshot";
        fs::remove_all(old);
        if (fs::exists(targets.wal_dir)) {
            fs::rename(targets.wal_dir, old);
        }
        fs::create_directories(targets.wal_dir.parent_path());
        fs::rename(staged_wal, targets.wal_dir);
        fsync_path(targets.wal_dir.parent_path());
        fs::remove_all(old);
        if (say) {
            say("replication: snapshot: WAL segments moved into " + targets.wal_dir.string());
        }
    }
    const fs::path staged_store = staging / targets.store_name;
    if (fs::exists(staged_store)) {
        if (targets.install_store) {
            // Run again after a crash until READY goes: the hook ends in the same store.
            const std::string done = targets.install_store(staged_store);
            fs::remove(staged_store);
            if (say) {
                say("replication: snapshot: " + done);
            }
        } else if (targets.store_file.empty()) {
            fs::remove(staged_store);
        } else {
            // A stale -wal beside the new file would be replayed into it.
            fs::remove(targets.store_file.string() + "-wal");
            fs::remove(targets.store_file.string() + "-shm");
            fs::create_directories(targets.store_file.parent_path());
            fs::rename(staged_store, targets.store_file);
            fsync_path(targets.store_file.parent_path());
            if (say) {
                say("replication: snapshot: store moved to " + targets.store_file.string());
            }
        }
    }
    fs::remove(staging / kSnapshotReadyName);
    fs::remove_all(staging);
    fsync_path(staging.parent_path());
}

bool finish_interrupted_snapshot(const fs::path& staging, const SnapshotTargets& targets,
                                 const std::function<void(const std::string&)>& say) {
    if (!fs::exists(staging)) {
        return false;
    }
    if (!fs::exists(staging / kSnapshotReadyName)) {
        if (say) {
            say("replication: removing an incomplete snapshot transfer in " + staging.string());
        }
        fs::remove_all(staging);
        return false;
    }
    if (say) {
        say("replication: finishing the install of the snapshot in " + staging.string() +
            " (a stop interrupted it)");
    }
    install_snapshot(staging, targets, say);
    return true;
}

}  // namespace exchanged::repl
