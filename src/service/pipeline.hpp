// The daemon's order path with its threads (docs/architecture.md: Threads and hand-offs): the
// OrderPath's stages each driven by a shard thread, a flush worker writing the feeds into the
// store, and the OrderService between the gateway and the shards. The durability points wake the
// shard threads; failures reach the owner through shutdown(), never through a signal.
//
// Stop sequence (stop()): refuse new requests, let every shard finish its queue, close the WAL
// (everything handed to it becomes durable), let the flush worker write the rest into the store,
// then send what the gates still hold. The owner stops the gateway after it, so that a clean stop
// loses no reply.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "engine/shard_layout.hpp"
#include "service/order_path.hpp"
#include "service/order_service.hpp"
#include "service/pipeline_clock.hpp"
#include "service/shard_runner.hpp"
#include "service/shutdown.hpp"
#include "store/flush_worker.hpp"
#include "store/store.hpp"
#include "wal/storage.hpp"

namespace exchanged::service {

// What the owner supplies: the WAL's disk, the clock, and where operator messages go.
struct PipelineEnvironment {
    wal::Storage* wal_storage = nullptr;  // required with enable_wal
    PipelineClock clock;
    bool salvage = false;  // the WAL was opened with its damage skipped (--salvage)
    // Where the pipeline's threads report what an operator should see.
    std::function<void(const std::string& line)> error;
    std::function<void(const std::string& line)> warn;
    std::function<void(const std::string& line)> info;
    // A replication leader's hook for each WAL batch submitted (WalOptions::on_submitted).
    std::function<void(wal::Lsn first, wal::Lsn last, std::span<const std::byte> records)>
        wal_submitted;
    // Each record the WAL writer's opening scan reads (WalOptions::on_recovered).
    wal::RecordCallback wal_recovered;
    // A replication leader's retention for its followers (OrderPathSettings::release_floor).
    std::function<wal::Lsn(wal::Lsn store_floor, const wal::WalWriter& writer)> wal_release_floor;
};

struct PipelineStopReport {
    bool stored = true;  // the flush worker wrote everything before giving up
    store::FlushStats flushed;
    wal::Lsn durable_lsn = 0;  // with a WAL
};

class Pipeline {
  public:
    // Builds the whole order path from recovered books; nothing runs until start(). `config`,
    // `layout`, `store` and the environment's storage must outlive the pipeline.
    Pipeline(const Config& config, const engine::ShardLayout& layout, store::Store& store,
             RecoveredBooks books, PipelineEnvironment environment);
    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    // The shard threads and the flush worker.
    void start();
    // The gateway's side: requests in, replies out.
    OrderService& orders() { return service_; }
    Shutdown& shutdown() { return shutdown_; }
    // Runs the stop sequence above; `store_give_up` bounds the wait for a store that is down.
    PipelineStopReport stop(std::chrono::milliseconds store_give_up);

    const OrderService& service() const { return service_; }
    const store::FlushWorker& flush() const { return *flush_; }
    // Store snapshots for online backups (FlushWorker::request_snapshot).
    store::FlushWorker& flush() { return *flush_; }
    const wal::WalWriter* wal_writer() const { return path_->wal_writer(); }
    // Before start(): a replicated leader appends its term start record (repl::begin_term).
    wal::WalWriter* wal_writer() { return path_->wal_writer(); }
    // A replicated leader's `quorum` point (null otherwise), for the replication sender.
    QuorumPoint* quorum_point() { return path_->quorum_point(); }
    const mirror::MirrorLog* mirror_log() const { return path_->mirror_log(); }

  private:
    store::FlushOptions flush_options(const Config& config, store::Store& store,
                                      const engine::ShardLayout& layout,
                                      std::optional<store::StoreBatch> store_tail);

    const Config& config_;
    PipelineEnvironment environment_;
    Shutdown shutdown_;
    OrderService service_;
    std::unique_ptr<OrderPath> path_;
    std::vector<std::unique_ptr<ShardRunner>> runners_;
    std::unique_ptr<store::FlushWorker> flush_;
    bool stopped_ = false;
};

}  // namespace exchanged::service
