// The ideal log writer `bench wal` holds the WAL against: one thread doing back-to-back 64-byte
// pwrite + fdatasync on a preallocated file, with nothing else in the process competing for the
// cores. Its measured sync durations, replayed as the batches of a writer with one batch in flight
// (records arriving every 1/rate s; one arriving during sync i waits for it to end and then for
// sync i+1, its own batch), give the best latency any one-batch-in-flight log could have had on
// this disk while those syncs were measured. Records weigh a slow sync by its duration (every
// record arriving during it waits), which a per-sync percentile does not.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace exchanged::tools {

class IdealWriterProbe {
  public:
    // Creates `path` as 16 MiB of written zeros, made durable (throws wal::WalError).
    explicit IdealWriterProbe(std::string path);
    ~IdealWriterProbe();
    IdealWriterProbe(const IdealWriterProbe&) = delete;
    IdealWriterProbe& operator=(const IdealWriterProbe&) = delete;

    // Back-to-back write + fdatasync until `end`; keeps every sync's duration.
    void sync_until(std::chrono::steady_clock::time_point end);
    const std::vector<std::int64_t>& syncs_ns() const { return syncs_ns_; }

  private:
    std::string path_;
    int fd_ = -1;
    std::uint64_t offset_ = 0;
    std::vector<std::int64_t> syncs_ns_;
};

// Each record's latency (ns) through the ideal one-batch writer whose batches took `syncs_ns`, in
// order, with records arriving at `rate` per second until the syncs run out.
std::vector<std::int64_t> replay_one_batch_in_flight(const std::vector<std::int64_t>& syncs_ns,
                                                     double rate);

}  // namespace exchanged::tools
