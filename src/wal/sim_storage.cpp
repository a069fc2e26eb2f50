#include "wal/sim_storage.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <thread>

#include "common/test_fault.hpp"

namespace exchanged::wal {
namespace {

constexpr std::uint64_t kSectorBytes = 512;

// Waits for the eventfd up to timeout_ns (0: poll once) and consumes its count.
void wait_wake_fd(int fd, std::int64_t timeout_ns) {
    if (fd < 0) {
        if (timeout_ns > 0) {
            std::this_thread::sleep_for(std::chrono::nanoseconds(timeout_ns));
        }
        return;
    }
    pollfd entry{fd, POLLIN, 0};
    timespec ts{};
    timespec* limit = nullptr;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1'000'000'000;
        ts.tv_nsec = timeout_ns % 1'000'000'000;
        limit = &ts;
    }
    if (::ppoll(&entry, 1, limit, nullptr) > 0 && (entry.revents & POLLIN) != 0) {
        std::uint64_t count = 0;
        [[maybe_unused]] const ssize_t got = ::read(fd, &count, sizeof(count));
    }
}

}  // namespace

SimStorage::SimStorage(std::uint64_t seed) : rng_(seed) {}

void SimStorage::crash_at_submit(std::uint64_t submit_count) {
    std::lock_guard lock(mutex_);
    crash_countdown_ = submit_count;
}

void SimStorage::fail_next_sync(int errno_value) {
    std::lock_guard lock(mutex_);
    fail_sync_errno_ = errno_value;
}

bool SimStorage::crashed() {
    std::lock_guard lock(mutex_);
    return crashed_;
}

void SimStorage::set_sync_latency(std::chrono::microseconds latency) {
    std::lock_guard lock(mutex_);
    sync_latency_ = latency;
}

std::uint64_t SimStorage::unsynced_bytes() {
    std::lock_guard lock(mutex_);
    std::uint64_t total = 0;
    for (const auto& [inode, file] : inodes_) {
        for (const Extent& extent : file.unsynced) {
            total += extent.bytes;
        }
    }
    return total;
}

std::string SimStorage::lose_power(PowerLoss mode) {
    std::lock_guard lock(mutex_);
    std::string what;
    if (mode == PowerLoss::TornPrefix) {
        std::uint64_t total = 0;
        for (const auto& [inode, file] : inodes_) {
            for (const Extent& extent : file.unsynced) {
                total += extent.bytes;
            }
        }
        std::uint64_t budget = total == 0 ? 0 : rng_() % (total + 1);
        what = "torn prefix: kept up to " + std::to_string(budget) + " of " +
               std::to_string(total) + " unsynced bytes";
        // Files in name order (then unlinked ones) stand in for the order the kernel happened to
        // write them back.
        std::vector<std::uint64_t> order;
        for (const auto& [name, inode] : names_) {
            order.push_back(inode);
        }
        for (const auto& [inode, file] : inodes_) {
            if (std::find(order.begin(), order.end(), inode) == order.end()) {
                order.push_back(inode);
            }
        }
        for (const std::uint64_t inode : order) {
            File& file = inodes_[inode];
            for (const Extent& extent : file.unsynced) {
                std::uint64_t keep = std::min(budget, extent.bytes);
                budget -= keep;
                if (keep < extent.bytes) {
                    // Only whole sectors reach the platter.
                    const std::uint64_t end = (extent.offset + keep) / kSectorBytes * kSectorBytes;
                    keep = end > extent.offset ? end - extent.offset : 0;
                }
                std::copy_n(file.current.begin() + static_cast<std::ptrdiff_t>(extent.offset), keep,
                            file.synced.begin() + static_cast<std::ptrdiff_t>(extent.offset));
            }
        }
    } else {
        what = "dropped all unsynced bytes";
    }
    for (auto& [inode, file] : inodes_) {
        file.current = file.synced;
        file.unsynced.clear();
    }
    // Names created, renamed or removed since the directory's last fsync revert.
    if (names_ != durable_names_) {
        what += "; the directory reverted to its last sync";
    }
    names_ = durable_names_;
    directory_sync_pending_ = false;
    drop_unreachable_locked();
    if (mode == PowerLoss::FlipSyncedBit) {
        std::vector<std::string> candidates;
        for (const auto& [name, inode] : names_) {
            if (!inodes_[inode].synced.empty()) {
                candidates.push_back(name);
            }
        }
        if (!candidates.empty()) {
            const std::string& name = candidates[rng_() % candidates.size()];
            File& file = inodes_[names_[name]];
            const std::uint64_t offset = rng_() % file.synced.size();
            const int bit = static_cast<int>(rng_() % 8);
            file.synced[offset] ^= static_cast<std::byte>(1u << bit);
            file.current = file.synced;
            what += "; flipped bit " + std::to_string(bit) + " of " + name + " at offset " +
                    std::to_string(offset);
        }
    }
    crashed_ = false;
    crash_countdown_ = 0;
    pending_.reset();
    return what;
}

void SimStorage::flip_bit(const std::string& name, std::uint64_t offset, int bit) {
    std::lock_guard lock(mutex_);
    File& file = file_locked(name);
    assert(offset < file.current.size() && bit >= 0 && bit < 8);
    file.current[offset] ^= static_cast<std::byte>(1u << bit);
    file.synced[offset] ^= static_cast<std::byte>(1u << bit);
}

std::vector<std::byte> SimStorage::contents(const std::string& name) {
    std::lock_guard lock(mutex_);
    return file_locked(name).current;
}

SimStorage::File& SimStorage::file_locked(const std::string& name) {
    auto it = names_.find(name);
    if (it == names_.end()) {
        throw WalError(errno_message("sim: open " + name, ENOENT));
    }
    return inodes_.at(it->second);
}

void SimStorage::sync_data_locked(File& file) {
    if (test_fault::armed(test_fault::Fault::SkipWalFdatasync)) {
        return;  // mutation check: the data stays in the (simulated) page cache only
    }
    file.synced = file.current;
    file.unsynced.clear();
}

void SimStorage::sync_directory_locked() {
    if (test_fault::armed(test_fault::Fault::SkipDirectorySync)) {
        return;  // mutation check: new and renamed names stay volatile
    }
    durable_names_ = names_;
    drop_unreachable_locked();
}

void SimStorage::drop_unreachable_locked() {
    std::erase_if(inodes_, [this](const auto& entry) {
        const auto named = [&](const Directory& directory) {
            return std::any_of(directory.begin(), directory.end(),
                               [&](const auto& name) { return name.second == entry.first; });
        };
        return !named(names_) && !named(durable_names_);
    });
}

void SimStorage::check_alive_locked(const std::string& what) {
    if (crashed_) {
        throw WalError("sim: " + what + ": the simulated machine has crashed");
    }
}

std::vector<std::string> SimStorage::list_files() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    for (const auto& [name, inode] : names_) {
        names.push_back(name);
    }
    return names;
}

std::uint64_t SimStorage::file_bytes(const std::string& name) {
    std::lock_guard lock(mutex_);
    return file_locked(name).current.size();
}

void SimStorage::read(const std::string& name, std::uint64_t offset, std::span<std::byte> out) {
    std::lock_guard lock(mutex_);
    const File& file = file_locked(name);
    if (offset + out.size() > file.current.size()) {
        throw WalError("sim: read " + name + ": past the end of the file");
    }
    std::copy_n(file.current.begin() + static_cast<std::ptrdiff_t>(offset), out.size(),
                out.begin());
}

void SimStorage::create_zeroed(const std::string& name, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    check_alive_locked("create " + name);
    // O_CREAT | O_TRUNC: an existing name keeps its inode.
    auto [entry, created] = names_.try_emplace(name, next_inode_);
    next_inode_ += created ? 1 : 0;
    File& file = inodes_[entry->second];
    // The zeros are written and fsynced before the file is used (not a WAL data sync).
    file.current.assign(bytes, std::byte{0});
    file.synced = file.current;
    file.unsynced.clear();
    sync_directory_locked();
}

void SimStorage::write_durable(const std::string& name, std::uint64_t offset,
                               std::span<const std::byte> data) {
    std::lock_guard lock(mutex_);
    check_alive_locked("write " + name);
    File& file = file_locked(name);
    if (offset + data.size() > file.current.size()) {
        throw WalError("sim: write " + name + ": past the end of the preallocated file");
    }
    std::copy(data.begin(), data.end(), file.current.begin() + static_cast<std::ptrdiff_t>(offset));
    // fdatasync makes the whole file durable, earlier unsynced writes included.
    sync_data_locked(file);
}

void SimStorage::rename(const std::string& from, const std::string& to, bool sync_directory) {
    std::lock_guard lock(mutex_);
    check_alive_locked("rename " + from);
    auto node = names_.extract(from);
    if (node.empty()) {
        throw WalError(errno_message("sim: rename " + from, ENOENT));
    }
    node.key() = to;
    names_.erase(to);
    names_.insert(std::move(node));
    if (sync_directory) {
        sync_directory_locked();
    }
    drop_unreachable_locked();
}

void SimStorage::remove(const std::string& name) {
    std::lock_guard lock(mutex_);
    check_alive_locked("remove " + name);
    names_.erase(name);
    drop_unreachable_locked();
}

void SimStorage::start_async(int wake_fd) {
    wake_fd_ = wake_fd;
}

void SimStorage::stop_async() {
    std::lock_guard lock(mutex_);
    pending_.reset();
    wake_fd_ = -1;
}

void SimStorage::set_active(const std::string& name, bool sync_directory_next) {
    std::lock_guard lock(mutex_);
    file_locked(name);
    active_name_ = name;
    directory_sync_pending_ = directory_sync_pending_ || sync_directory_next;
}

void SimStorage::submit(std::uint64_t offset, std::span<const std::byte> data) {
    std::lock_guard lock(mutex_);
    assert(!pending_.has_value());
    pending_ =
        Pending{active_name_, offset, data, std::chrono::steady_clock::now() + sync_latency_};
}

BatchOutcome SimStorage::complete_locked(const Pending& pending) {
    const std::string where =
        "sim " + pending.name + " at offset " + std::to_string(pending.offset);
    if (crashed_) {
        return BatchOutcome{false, "write" + where + ": the simulated machine has crashed"};
    }
    auto it = names_.find(pending.name);
    if (it == names_.end() ||
        pending.offset + pending.data.size() > inodes_.at(it->second).current.size()) {
        return BatchOutcome{false, errno_message("write " + where, EIO)};
    }
    File& file = inodes_.at(it->second);
    if (directory_sync_pending_) {
        // Before the write, as UringStorage links them: the renamed segment's name.
        sync_directory_locked();
        directory_sync_pending_ = false;
    }
    std::copy(pending.data.begin(), pending.data.end(),
              file.current.begin() + static_cast<std::ptrdiff_t>(pending.offset));
    file.unsynced.push_back(Extent{pending.offset, pending.data.size()});
    if (crash_countdown_ > 0 && --crash_countdown_ == 0) {
        // The write sits in the page cache; the machine dies before the sync finishes.
        crashed_ = true;
        return BatchOutcome{false, "fdatasync " + where + ": the simulated machine has crashed"};
    }
    if (fail_sync_errno_ != 0) {
        const int error = fail_sync_errno_;
        fail_sync_errno_ = 0;
        return BatchOutcome{false, errno_message("fdatasync " + where, error)};
    }
    sync_data_locked(file);
    return BatchOutcome{};
}

std::optional<BatchOutcome> SimStorage::wait(std::int64_t timeout_ns) {
    std::chrono::steady_clock::time_point ready_at;
    {
        std::lock_guard lock(mutex_);
        if (pending_ && std::chrono::steady_clock::now() >= pending_->ready_at) {
            BatchOutcome outcome = complete_locked(*pending_);
            pending_.reset();
            return outcome;
        }
        if (pending_) {
            ready_at = pending_->ready_at;
        }
    }
    if (ready_at != std::chrono::steady_clock::time_point{}) {
        const auto until_ready = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     ready_at - std::chrono::steady_clock::now())
                                     .count();
        if (timeout_ns < 0 || until_ready < timeout_ns) {
            timeout_ns = std::max<std::int64_t>(until_ready, 0);
        }
    }
    wait_wake_fd(wake_fd_, timeout_ns);
    std::lock_guard lock(mutex_);
    if (pending_ && std::chrono::steady_clock::now() >= pending_->ready_at) {
        BatchOutcome outcome = complete_locked(*pending_);
        pending_.reset();
        return outcome;
    }
    return std::nullopt;
}

}  // namespace exchanged::wal
