#include "service/pipeline.hpp"

#include <string>
#include <thread>
#include <utility>

#include "engine/startup.hpp"
#include "engine/store_recovery.hpp"

namespace exchanged::service {

Pipeline::Pipeline(const Config& config, const engine::ShardLayout& layout, store::Store& store,
                   RecoveredBooks books, PipelineEnvironment environment)
    : config_(config), environment_(std::move(environment)), service_(config, layout) {
    std::optional<store::StoreBatch> store_tail = std::move(books.store_tail);
    books.store_tail.reset();
    OrderPathSettings settings = order_path_settings(config, environment_.salvage);
    settings.wal.on_submitted = environment_.wal_submitted;
    settings.wal.on_recovered = environment_.wal_recovered;
    settings.release_floor = environment_.wal_release_floor;
    if (settings.mirror) {
        settings.mirror->on_info = environment_.info;
    }
    path_ =
        std::make_unique<OrderPath>(settings, layout, std::move(books), environment_.wal_storage,
                                    service_, shutdown_, environment_.error);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    std::vector<ShardRunner*> runners;
    for (engine::ShardId id = 0; id < path_->shard_count(); ++id) {
        ShardRunnerOptions options;
        options.queue_capacity = config.server.shard_queue_capacity;
        options.producers = config.server.io_threads;
        options.pin_cpu = config.server.pin_cpus;
        options.cpu = static_cast<int>(id % cores);
        runners_.push_back(
            std::make_unique<ShardRunner>(path_->stage(id), environment_.clock, options));
        runners.push_back(runners_.back().get());
    }
    // Each point wakes every shard thread: any of them may hold replies waiting for it.
    const auto wake_shards = [this] {
        for (auto& runner : runners_) {
            runner->notify();
        }
    };
    path_->wal_point().on_advance(wake_shards);
    path_->store_point().on_advance(wake_shards);
    if (path_->quorum_point() != nullptr) {
        path_->quorum_point()->on_advance(wake_shards);
    }
    path_->mirror_point().on_advance(wake_shards);
    service_.attach(path_->log(), std::move(runners));
    flush_ = std::make_unique<store::FlushWorker>(
        store, path_->feeds(), flush_options(config, store, layout, std::move(store_tail)));
}

Pipeline::~Pipeline() {
    // Also when start() never ran (the gateway could not bind): the WAL must close while the shard
    // runners its durability callback wakes still exist.
    if (!stopped_) {
        stop(std::chrono::milliseconds(0));
    }
}

// The flush worker writes the feeds into the store; each commit advances the store point (which
// wakes the gates and recycles the WAL below it). With a WAL, a feed that overflowed is caught up
// from the log instead.
store::FlushOptions Pipeline::flush_options(const Config& config, store::Store& store,
                                            const engine::ShardLayout& layout,
                                            std::optional<store::StoreBatch> store_tail) {
    store::FlushOptions options = engine::flush_options(config);
    OrderPath& path = *path_;
    options.frontier = [&path] { return path.store_frontier(); };
    options.awaited = [&path] { return path.store_point().awaited(); };
    if (path.wal_writer() != nullptr) {
        auto catch_up = std::make_shared<engine::StoreCatchUp>(store, config.persistence.wal_path,
                                                               layout, environment_.salvage);
        // A start from handed books brings the start-up tail's events along: written as they
        // are when the worker's first catch-up asks for exactly that tail (it waits for the
        // frontier, so a quorum leader's store still takes only what a majority holds); any
        // other catch-up replays from the store's state.
        auto tail = std::make_shared<std::optional<store::StoreBatch>>(std::move(store_tail));
        options.catch_up = [catch_up, tail, &store,
                            info = environment_.info](store::StoreLsn up_to) {
            if (tail->has_value()) {
                store::StoreBatch batch = std::move(**tail);
                tail->reset();
                if (batch.first_lsn == store.store_lsn() + 1 && batch.last_lsn == up_to) {
                    store.apply(batch);
                    if (info) {
                        info("store: LSN " + std::to_string(batch.first_lsn) + ".." +
                             std::to_string(batch.last_lsn) +
                             " written from the handed-over books' events");
                    }
                    return;
                }
            }
            catch_up->advance(up_to);
        };
        options.catch_up_done = [catch_up] { catch_up->reset(); };
        options.next_lsn = [&path] { return path.log().next_lsn(); };
        // Start-up may leave the WAL tail above the store's LSN to this worker.
        options.resume_from = path.log().next_lsn();
    }
    options.on_committed = [&path](store::StoreLsn lsn) { path.stored(lsn); };
    options.on_fatal = [this](const std::string& error) {
        // As a WAL failure: refuse orders from now on and let the owner stop.
        if (environment_.error) {
            environment_.error("store failed: " + error + "; refusing orders and exiting");
        }
        service_.stop_accepting();
        shutdown_.fail(StopCause::StoreFailed, error);
    };
    options.warn = environment_.warn;
    options.info = environment_.info;
    return options;
}

void Pipeline::start() {
    path_->start_log();
    flush_->start();
    for (auto& runner : runners_) {
        runner->start();
    }
}

PipelineStopReport Pipeline::stop(std::chrono::milliseconds store_give_up) {
    stopped_ = true;
    service_.stop_accepting();
    for (auto& runner : runners_) {
        runner->drain_and_join();
    }
    wal::WalWriter* writer = path_->wal_writer();
    if (writer != nullptr) {
        writer->close();  // commits whatever was handed over, then stops the writer
    }
    mirror::MirrorLog* mirror = path_->mirror_log();
    if (mirror != nullptr) {
        mirror->close();  // sends what was handed over while Redis answers
    }
    PipelineStopReport report;
    report.stored = flush_->flush_and_stop(store_give_up);
    report.flushed = flush_->stats();
    report.durable_lsn = writer != nullptr   ? writer->durable_lsn()
                         : mirror != nullptr ? mirror->durable_lsn()
                                             : 0;
    for (auto& runner : runners_) {
        runner->release_remaining();
    }
    return report;
}

}  // namespace exchanged::service
