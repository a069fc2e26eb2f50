#include "wal/uring_storage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace exchanged::wal {
namespace {

constexpr unsigned kRingEntries = 16;
// user_data tags of the ring's operations.
constexpr std::uint64_t kTagWrite = 1;
constexpr std::uint64_t kTagSync = 2;
constexpr std::uint64_t kTagDirectorySync = 3;
constexpr std::uint64_t kTagWake = 4;

class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

void write_all(int fd, const std::string& path, std::uint64_t offset, const std::byte* data,
               std::size_t bytes) {
    while (bytes > 0) {
        const ssize_t done = ::pwrite(fd, data, bytes, static_cast<off_t>(offset));
        if (done < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw WalError(errno_message("write " + path, errno));
        }
        data += done;
        bytes -= static_cast<std::size_t>(done);
        offset += static_cast<std::uint64_t>(done);
    }
}

}  // namespace

std::string errno_message(const std::string& what, int errno_value) {
    return what + ": " + std::strerror(errno_value) + " (errno " + std::to_string(errno_value) +
           ")";
}

UringStorage::UringStorage(std::string directory) : directory_(std::move(directory)) {
    if (::mkdir(directory_.c_str(), 0755) != 0 && errno != EEXIST) {
        throw WalError(errno_message("create WAL directory " + directory_, errno));
    }
    directory_fd_ = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory_fd_ < 0) {
        throw WalError(errno_message("open WAL directory " + directory_, errno));
    }
}

UringStorage::~UringStorage() {
    stop_async();
    if (directory_fd_ >= 0) {
        ::close(directory_fd_);
    }
}

std::string UringStorage::path(const std::string& name) const {
    return directory_ + "/" + name;
}

std::vector<std::string> UringStorage::list_files() {
    DIR* dir = ::opendir(directory_.c_str());
    if (dir == nullptr) {
        throw WalError(errno_message("list WAL directory " + directory_, errno));
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name == "." || name == "..") {
            continue;
        }
        struct stat info {};
        if (::fstatat(directory_fd_, name.c_str(), &info, 0) == 0 && S_ISREG(info.st_mode)) {
            names.push_back(name);
        }
    }
    ::closedir(dir);
    return names;
}

std::uint64_t UringStorage::file_bytes(const std::string& name) {
    struct stat info {};
    if (::stat(path(name).c_str(), &info) != 0) {
        throw WalError(errno_message("stat " + path(name), errno));
    }
    return static_cast<std::uint64_t>(info.st_size);
}

void UringStorage::read(const std::string& name, std::uint64_t offset, std::span<std::byte> out) {
    FileDescriptor fd(::open(path(name).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        throw WalError(errno_message("open " + path(name), errno));
    }
    std::size_t done_bytes = 0;
    while (done_bytes < out.size()) {
        const ssize_t done = ::pread(fd.get(), out.data() + done_bytes, out.size() - done_bytes,
                                     static_cast<off_t>(offset + done_bytes));
        if (done < 0 && errno == EINTR) {
            continue;
        }
        if (done < 0) {
            throw WalError(errno_message("read " + path(name), errno));
        }
        if (done == 0) {
            throw WalError("read " + path(name) + ": file ends at " +
                           std::to_string(offset + done_bytes) + ", expected " +
                           std::to_string(offset + out.size()) + " bytes");
        }
        done_bytes += static_cast<std::size_t>(done);
    }
}

namespace {

class MappedSegment final : public MappedFile {
  public:
    MappedSegment(void* base, std::size_t size) : base_(base), size_(size) {}
    ~MappedSegment() override {
        if (size_ > 0) {
            ::munmap(base_, size_);
        }
    }
    MappedSegment(const MappedSegment&) = delete;
    MappedSegment& operator=(const MappedSegment&) = delete;
    std::span<const std::byte> bytes() const override {
        return {static_cast<const std::byte*>(base_), size_};
    }

  private:
    void* base_;
    std::size_t size_;
};

}  // namespace

std::unique_ptr<MappedFile> UringStorage::map_whole(const std::string& name) {
    FileDescriptor fd(::open(path(name).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        throw WalError(errno_message("open " + path(name), errno));
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) {
        throw WalError(errno_message("stat " + path(name), errno));
    }
    const auto size = static_cast<std::size_t>(info.st_size);
    if (size == 0) {
        return std::make_unique<MappedSegment>(nullptr, 0);
    }
    // MAP_POPULATE maps the whole file up front (reading what the page cache lacks), so the scan
    // takes no page fault per page.
    void* base = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
    if (base == MAP_FAILED) {
        return nullptr;  // read() then
    }
    ::madvise(base, size, MADV_SEQUENTIAL);
    return std::make_unique<MappedSegment>(base, size);
}

void UringStorage::create_zeroed(const std::string& name, std::uint64_t bytes) {
    FileDescriptor fd(::open(path(name).c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
        throw WalError(errno_message("create " + path(name), errno));
    }
    // Written and synced in chunks: a 64 MiB burst of dirty pages would sit in front of the
    // writer's next fdatasync (ext4's ordered journal flushes other files' new data on commit).
    constexpr std::size_t kChunkBytes = 1 << 20;
    const std::vector<std::byte> zeros(kChunkBytes);
    for (std::uint64_t offset = 0; offset < bytes; offset += kChunkBytes) {
        const std::size_t chunk =
            static_cast<std::size_t>(std::min<std::uint64_t>(kChunkBytes, bytes - offset));
        write_all(fd.get(), path(name), offset, zeros.data(), chunk);
        if (::fdatasync(fd.get()) != 0) {
            throw WalError(errno_message("fdatasync " + path(name), errno));
        }
    }
    if (::fsync(fd.get()) != 0) {
        throw WalError(errno_message("fsync " + path(name), errno));
    }
    sync_directory();
}

void UringStorage::write_durable(const std::string& name, std::uint64_t offset,
                                 std::span<const std::byte> data) {
    FileDescriptor fd(::open(path(name).c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        throw WalError(errno_message("open " + path(name), errno));
    }
    write_all(fd.get(), path(name), offset, data.data(), data.size());
    if (::fdatasync(fd.get()) != 0) {
        throw WalError(errno_message("fdatasync " + path(name), errno));
    }
}

void UringStorage::rename(const std::string& from, const std::string& to, bool sync_directory_now) {
    if (::renameat(directory_fd_, from.c_str(), directory_fd_, to.c_str()) != 0) {
        throw WalError(errno_message("rename " + path(from) + " to " + path(to), errno));
    }
    if (sync_directory_now) {
        sync_directory();
    }
}

void UringStorage::remove(const std::string& name) {
    if (::unlinkat(directory_fd_, name.c_str(), 0) != 0 && errno != ENOENT) {
        throw WalError(errno_message("remove " + path(name), errno));
    }
}

void UringStorage::sync_directory() {
    if (::fsync(directory_fd_) != 0) {
        throw WalError(errno_message("fsync directory " + directory_, errno));
    }
}

void UringStorage::start_async(int wake_fd) {
    assert(!ring_ready_);
    const int rc = io_uring_queue_init(kRingEntries, &ring_, 0);
    if (rc < 0) {
        throw WalError(errno_message("io_uring_queue_init", -rc));
    }
    ring_ready_ = true;
    wake_fd_ = wake_fd;
}

void UringStorage::stop_async() {
    if (!ring_ready_) {
        return;
    }
    // A batch or wake read still in the ring refers to our buffers; exiting the ring cancels and
    // waits for them, and the fds are closed after that.
    io_uring_queue_exit(&ring_);
    ring_ready_ = false;
    if (active_fd_ >= 0) {
        ::close(active_fd_);
        active_fd_ = -1;
    }
}

void UringStorage::set_active(const std::string& name, bool sync_directory_next) {
    assert(pending_cqes_ == 0);
    if (name != active_name_) {
        const int fd = ::open(path(name).c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            throw WalError(errno_message("open " + path(name), errno));
        }
        if (active_fd_ >= 0) {
            ::close(active_fd_);
        }
        active_fd_ = fd;
        active_name_ = name;
    }
    sync_directory_next_ = sync_directory_next_ || sync_directory_next;
}

void UringStorage::arm_wake_read() {
    if (wake_armed_ || wake_fd_ < 0) {
        return;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    assert(sqe != nullptr);
    io_uring_prep_read(sqe, wake_fd_, &wake_buffer_, sizeof(wake_buffer_), 0);
    io_uring_sqe_set_data64(sqe, kTagWake);
    wake_armed_ = true;
}

void UringStorage::submit(std::uint64_t offset, std::span<const std::byte> data) {
    assert(ring_ready_ && pending_cqes_ == 0 && active_fd_ >= 0 && !data.empty());
    outcome_ = BatchOutcome{};
    expected_write_bytes_ = data.size();
    batch_offset_ = offset;

    pending_cqes_ = 2;
    if (sync_directory_next_) {
        // The segment was renamed into place just before. Its name is made durable before the
        // first byte of its new life is written: the other way round, a power cut could keep
        // this batch in the file under its old (recycled) name, and the file's next life would
        // meet records of this log's future behind its own end marker.
        io_uring_sqe* dir_sync = io_uring_get_sqe(&ring_);
        io_uring_prep_fsync(dir_sync, directory_fd_, 0);
        io_uring_sqe_set_data64(dir_sync, kTagDirectorySync);
        dir_sync->flags |= IOSQE_IO_LINK;
        pending_cqes_ = 3;
        sync_directory_next_ = false;
    }
    io_uring_sqe* write = io_uring_get_sqe(&ring_);
    io_uring_prep_write(write, active_fd_, data.data(), static_cast<unsigned>(data.size()), offset);
    io_uring_sqe_set_data64(write, kTagWrite);
    write->flags |= IOSQE_IO_LINK;
    io_uring_sqe* sync = io_uring_get_sqe(&ring_);
    io_uring_prep_fsync(sync, active_fd_, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data64(sync, kTagSync);
    arm_wake_read();
    const int rc = io_uring_submit(&ring_);
    if (rc < 0) {
        // Nothing was queued; report the batch as failed on the next wait().
        pending_cqes_ = 0;
        note_failure(errno_message("io_uring_submit for " + path(active_name_), -rc));
        submit_failed_ = true;
    }
}

void UringStorage::note_failure(const std::string& error) {
    if (outcome_.ok) {
        outcome_.ok = false;
        outcome_.error = error;
    }
}

std::optional<BatchOutcome> UringStorage::reap() {
    bool batch_done = false;
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
        const std::uint64_t tag = io_uring_cqe_get_data64(cqe);
        const int res = cqe->res;
        io_uring_cqe_seen(&ring_, cqe);
        const std::string where =
            " of " + path(active_name_) + " at offset " + std::to_string(batch_offset_);
        switch (tag) {
            case kTagWake:
                wake_armed_ = false;
                woke_ = true;
                break;
            case kTagWrite:
                if (res == -ECANCELED) {
                    note_failure("write" + where +
                                 " cancelled: the directory's fsync before it failed");
                } else if (res < 0) {
                    note_failure(errno_message("write" + where, -res));
                } else if (static_cast<std::size_t>(res) != expected_write_bytes_) {
                    note_failure("short write" + where + ": " + std::to_string(res) + " of " +
                                 std::to_string(expected_write_bytes_) + " bytes");
                }
                batch_done = --pending_cqes_ == 0;
                break;
            case kTagSync:
            case kTagDirectorySync:
                // -ECANCELED only follows an earlier failure in the chain, which was reported.
                if (res < 0 && res != -ECANCELED) {
                    note_failure(errno_message(
                        std::string(tag == kTagSync ? "fdatasync" : "fsync directory for") + where,
                        -res));
                } else if (res == -ECANCELED) {
                    note_failure("fdatasync" + where + " cancelled after a failed write");
                }
                batch_done = --pending_cqes_ == 0;
                break;
            default:
                assert(false && "unknown io_uring tag");
        }
    }
    if (batch_done) {
        return outcome_;
    }
    return std::nullopt;
}

std::optional<BatchOutcome> UringStorage::wait(std::int64_t timeout_ns) {
    assert(ring_ready_);
    if (submit_failed_) {
        submit_failed_ = false;
        return outcome_;
    }
    arm_wake_read();
    if (io_uring_sq_ready(&ring_) > 0) {
        io_uring_submit(&ring_);
    }
    woke_ = false;
    if (auto outcome = reap()) {
        return outcome;
    }
    // A wake already reaped is this call's event: blocking now would wait on a read that is no
    // longer armed, and the producer that woke us will not wake us again.
    if (timeout_ns == 0 || woke_) {
        return std::nullopt;
    }
    io_uring_cqe* cqe = nullptr;
    if (timeout_ns < 0) {
        const int rc = io_uring_wait_cqe(&ring_, &cqe);
        if (rc < 0 && rc != -EINTR) {
            note_failure(errno_message("io_uring_wait_cqe", -rc));
        }
    } else {
        __kernel_timespec ts{};
        ts.tv_sec = timeout_ns / 1'000'000'000;
        ts.tv_nsec = timeout_ns % 1'000'000'000;
        io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
    }
    return reap();
}

}  // namespace exchanged::wal
