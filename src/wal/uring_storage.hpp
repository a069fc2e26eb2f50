// Storage on a real directory: synchronous calls are plain syscalls, the group commit goes through
// io_uring as a linked write -> fdatasync (-> directory fsync after a rotation), and the producers'
// wake eventfd is read through the same ring so the writer sleeps in a single io_uring wait.
#pragma once

#include <liburing.h>

#include <string>

#include "wal/storage.hpp"

namespace exchanged::wal {

class UringStorage final : public Storage {
  public:
    // Creates the directory if it does not exist.
    explicit UringStorage(std::string directory);
    ~UringStorage() override;
    UringStorage(const UringStorage&) = delete;
    UringStorage& operator=(const UringStorage&) = delete;

    const std::string& directory() const { return directory_; }

    std::vector<std::string> list_files() override;
    std::uint64_t file_bytes(const std::string& name) override;
    void read(const std::string& name, std::uint64_t offset, std::span<std::byte> out) override;
    std::unique_ptr<MappedFile> map_whole(const std::string& name) override;
    void create_zeroed(const std::string& name, std::uint64_t bytes) override;
    void write_durable(const std::string& name, std::uint64_t offset,
                       std::span<const std::byte> data) override;
    void rename(const std::string& from, const std::string& to, bool sync_directory) override;
    void remove(const std::string& name) override;

    void start_async(int wake_fd) override;
    void set_active(const std::string& name, bool sync_directory_next) override;
    void submit(std::uint64_t offset, std::span<const std::byte> data) override;
    std::optional<BatchOutcome> wait(std::int64_t timeout_ns) override;
    void stop_async() override;

  private:
    std::string path(const std::string& name) const;
    void sync_directory();
    void arm_wake_read();
    void note_failure(const std::string& error);
    // Drains the completion queue; returns the batch outcome if the batch finished.
    std::optional<BatchOutcome> reap();

    std::string directory_;
    int directory_fd_ = -1;
    io_uring ring_{};
    bool ring_ready_ = false;
    int wake_fd_ = -1;
    bool wake_armed_ = false;
    bool woke_ = false;  // reap() consumed a producer's wake
    std::uint64_t wake_buffer_ = 0;
    int active_fd_ = -1;
    std::string active_name_;
    bool sync_directory_next_ = false;
    // The batch in flight.
    int pending_cqes_ = 0;
    std::size_t expected_write_bytes_ = 0;
    std::uint64_t batch_offset_ = 0;
    BatchOutcome outcome_;
    bool submit_failed_ = false;
};

}  // namespace exchanged::wal
