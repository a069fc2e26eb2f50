#include "tools/bench/ideal_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>

#include "wal/wal_types.hpp"

namespace exchanged::tools {

namespace {

constexpr std::uint64_t kFileBytes = 16ull << 20;
constexpr std::size_t kRecordBytes = 64;

}  // namespace

IdealWriterProbe::IdealWriterProbe(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        throw wal::WalError(wal::errno_message("open " + path_, errno));
    }
    const std::vector<char> zeros(kFileBytes, 0);
    if (::pwrite(fd_, zeros.data(), zeros.size(), 0) != static_cast<ssize_t>(zeros.size()) ||
        ::fsync(fd_) != 0) {
        const int error = errno;
        ::close(fd_);
        throw wal::WalError(wal::errno_message("preallocate " + path_, error));
    }
    syncs_ns_.reserve(1u << 20);
}

IdealWriterProbe::~IdealWriterProbe() {
    ::close(fd_);
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
}

void IdealWriterProbe::sync_until(std::chrono::steady_clock::time_point end) {
    const char record[kRecordBytes] = {1};
    for (auto start = std::chrono::steady_clock::now(); start < end;
         start = std::chrono::steady_clock::now()) {
        if (::pwrite(fd_, record, sizeof(record), static_cast<off_t>(offset_)) != sizeof(record) ||
            ::fdatasync(fd_) != 0) {
            throw wal::WalError(wal::errno_message("write+fdatasync " + path_, errno));
        }
        syncs_ns_.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count());
        offset_ = (offset_ + sizeof(record)) % kFileBytes;
    }
}

std::vector<std::int64_t> replay_one_batch_in_flight(const std::vector<std::int64_t>& syncs_ns,
                                                     double rate) {
    std::vector<std::int64_t> latencies;
    std::vector<double> filling;  // arrival times of the records waiting for the next batch
    std::size_t next_sync = 0;
    double in_flight_end = -1;  // < 0: nothing in flight
    const double step_ns = 1e9 / rate;
    for (double arrival = 0; next_sync < syncs_ns.size(); arrival += step_ns) {
        while (in_flight_end >= 0 && in_flight_end <= arrival) {
            if (filling.empty() || next_sync == syncs_ns.size()) {
                in_flight_end = -1;
                break;
            }
            in_flight_end += static_cast<double>(syncs_ns[next_sync++]);
            for (const double waiting : filling) {
                latencies.push_back(static_cast<std::int64_t>(in_flight_end - waiting));
            }
            filling.clear();
        }
        if (in_flight_end < 0) {
            in_flight_end = arrival + static_cast<double>(syncs_ns[next_sync++]);
            latencies.push_back(static_cast<std::int64_t>(in_flight_end - arrival));
        } else {
            filling.push_back(arrival);
        }
    }
    return latencies;
}

}  // namespace exchanged::tools
