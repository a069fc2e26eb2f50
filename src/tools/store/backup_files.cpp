#include "tools/store/backup_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "common/crc32c.hpp"

namespace exchanged::tools {
namespace {

constexpr std::size_t kChunkBytes = 1 << 20;

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
    throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

// Closes on scope exit; close errors of a file already fsynced change nothing.
class Fd {
  public:
    Fd(const std::filesystem::path& path, int flags, mode_t mode = 0)
        : fd_(::open(path.c_str(), flags | O_CLOEXEC, mode)) {
        if (fd_ < 0) {
            fail("cannot open", path);
        }
    }
    ~Fd() { ::close(fd_); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

std::size_t read_some(const Fd& fd, std::vector<char>& buffer, const std::filesystem::path& path) {
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            fail("cannot read", path);
        }
    }
}

void write_all(const Fd& fd, const char* data, std::size_t size,
               const std::filesystem::path& path) {
    while (size > 0) {
        const ssize_t n = ::write(fd.get(), data, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("cannot write", path);
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

void sync(const Fd& fd, const std::filesystem::path& path) {
    // A failed fsync is not retried: what reached the disk is then unknown (docs/durability.md).
    if (::fsync(fd.get()) != 0) {
        fail("fsync failed on", path);
    }
}

}  // namespace

FileSum copy_file_durably(const std::filesystem::path& from, const std::filesystem::path& to,
                          ZeroRuns zeros) {
    const Fd in(from, O_RDONLY);
    const Fd out(to, O_WRONLY | O_CREAT | O_EXCL, 0640);
    std::vector<char> buffer(kChunkBytes);
    FileSum sum;
    bool hole_at_end = false;
    for (;;) {
        const std::size_t n = read_some(in, buffer, from);
        if (n == 0) {
            break;
        }
        const bool all_zero = zeros == ZeroRuns::Skip &&
                              std::all_of(buffer.begin(), buffer.begin() + static_cast<long>(n),
                                          [](char c) { return c == 0; });
        if (all_zero) {
            if (::lseek(out.get(), static_cast<off_t>(n), SEEK_CUR) < 0) {
                fail("cannot seek in", to);
            }
        } else {
            write_all(out, buffer.data(), n, to);
        }
        hole_at_end = all_zero;
        sum.crc32c = crc32c_extend(sum.crc32c, buffer.data(), n);
        sum.bytes += n;
    }
    // A hole at the end exists only once the size says so.
    if (hole_at_end && ::ftruncate(out.get(), static_cast<off_t>(sum.bytes)) != 0) {
        fail("cannot set the size of", to);
    }
    sync(out, to);
    return sum;
}

FileSum checksum_file(const std::filesystem::path& file) {
    const Fd in(file, O_RDONLY);
    std::vector<char> buffer(kChunkBytes);
    FileSum sum;
    for (;;) {
        const std::size_t n = read_some(in, buffer, file);
        if (n == 0) {
            return sum;
        }
        sum.crc32c = crc32c_extend(sum.crc32c, buffer.data(), n);
        sum.bytes += n;
    }
}

void fsync_path(const std::filesystem::path& path) {
    const Fd fd(path, O_RDONLY);
    sync(fd, path);
}

void write_file_durably(const std::filesystem::path& path, const std::string& text) {
    const Fd out(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    write_all(out, text.data(), text.size(), path);
    sync(out, path);
}

bool missing_or_empty(const std::filesystem::path& dir) {
    std::error_code error;
    if (!std::filesystem::exists(dir, error)) {
        return true;
    }
    return std::filesystem::is_directory(dir, error) && std::filesystem::is_empty(dir, error);
}

}  // namespace exchanged::tools
