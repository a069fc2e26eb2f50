#include "service/order_path.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "common/invariant.hpp"
#include "engine/startup.hpp"
#include "engine/store_frontier.hpp"

namespace exchanged::service {

OrderPathSettings order_path_settings(const Config& config, bool salvage) {
    OrderPathSettings settings;
    settings.ack_after = config.persistence.ack_after;
    settings.critical_ack_after = config.critical_ack_after();
    settings.enable_wal = config.persistence.enable_wal;
    settings.wal = engine::wal_options(config, salvage);
    settings.checkpoint_every =
        config.persistence.enable_wal ? engine::checkpoint_every(config) : 0;
    // Every held reply stems from a command that was queued or is in the WAL's queue, with a few
    // replies each; four per queued command rarely fills, and a full gate only waits.
    settings.stage.gate_capacity = std::size_t{config.server.shard_queue_capacity} * 4;
    settings.stage.critical_order_threshold = config.safety.critical_order_threshold;
    settings.stage.sync_all_trades = config.safety.sync_all_trades;
    settings.stage.max_unflushed_ns =
        config.acks_before_durable() ? TimestampNs{config.safety.max_unflushed_ms} * 1'000'000 : 0;
    settings.store_queue_events = config.persistence.store_queue_events;
    const ReplicationConfig& replication = config.replication;
    if (replication.enabled && replication.role == ReplicationRole::Leader) {
        settings.quorum = true;
        settings.quorum_factor = replication.factor;
        for (const ReplicationPeer& peer : replication.peers) {
            settings.quorum_followers.push_back(peer.node_id);
        }
        settings.quorum_epoch = replication.epoch;
        if (config.persistence.ack_after == AckPoint::Quorum) {
            settings.stage.max_quorum_wait_ns =
                TimestampNs{replication.quorum_timeout_ms} * 1'000'000;
        }
    }
    if (config.persistence.mirror()) {
        const PersistenceConfig& p = config.persistence;
        mirror::MirrorOptions mirror;
        mirror.host = p.redis_address.host;
        mirror.port = p.redis_address.port;
        mirror.stream_key = mirror::stream_key(p.redis_key_prefix);
        mirror.timeout = std::chrono::milliseconds(p.redis_timeout_ms);
        mirror.batch_records = p.redis_batch_size;
        mirror.queue_records = p.redis_queue_records;
        mirror.confirm_interval = std::chrono::milliseconds(p.redis_confirm_interval_ms);
        mirror.hold_limit = std::chrono::milliseconds(p.redis_hold_limit_ms);
        settings.mirror = std::move(mirror);
    }
    return settings;
}

std::unique_ptr<engine::CommandLog> OrderPath::make_log(const RecoveredBooks& books,
                                                        Shutdown& shutdown, PathLog on_error) {
    if (writer_ != nullptr) {
        return std::make_unique<engine::WalCommandLog>(*writer_);
    }
    if (settings_.mirror) {
        mirror::MirrorOptions options = *settings_.mirror;
        options.first_lsn = books.next_lsn;
        options.store_lsn = books.store_lsn;
        // The writer starts in start_log(), after the owner registered the point's wake-ups.
        options.on_durable = [this](wal::Lsn) { mirror_point_.advanced(); };
        // on_info stays as the settings give it: Redis answering again is no error.
        if (on_error) {
            options.on_error = on_error;
        }
        // As a WAL failure: fatal, the owner stops with a non-zero exit.
        options.on_failed = [&shutdown](const std::string& error) {
            shutdown.fail(StopCause::MirrorFailed, error);
        };
        auto log = std::make_unique<mirror::MirrorLog>(std::move(options));
        mirror_ = log.get();
        return log;
    }
    // No WAL: commands are numbered on from the store's LSN, and nothing is durable before the
    // store commits them.
    return std::make_unique<engine::UnloggedCommandLog>(books.next_lsn);
}

namespace {

std::unique_ptr<QuorumPoint> make_quorum_point(const OrderPathSettings& settings,
                                               const engine::CommandLog& log,
                                               const RecoveredBooks& books) {
    if (!settings.quorum) {
        return nullptr;
    }
    // Where the frontier starts. Acknowledging after the quorum, the store takes only what a
    // majority holds (store_frontier), and a log recovered at start may end in records no
    // follower has (a restarted leader's unshipped tail, a promoted follower's longest log): only
    // what the store holds is known to be on a majority, and the rest counts once the followers
    // acknowledge it (they are sent it at once). Otherwise the log's end: nothing waits for it.
    const wal::Lsn known = settings.ack_after == AckPoint::Quorum
                               ? std::min<wal::Lsn>(books.store_lsn, books.next_lsn - 1)
                               : books.next_lsn - 1;
    return std::make_unique<QuorumPoint>(
        log, repl::QuorumTracker(settings.quorum_factor, settings.quorum_followers,
                                 settings.quorum_epoch, known));
}

}  // namespace

OrderPath::OrderPath(const OrderPathSettings& settings, const engine::ShardLayout& layout,
                     RecoveredBooks books, wal::Storage* wal_storage, ReplySink& sink,
                     Shutdown& shutdown, PathLog on_error)
    : settings_(settings),
      layout_(layout),
      writer_(open_wal(wal_storage, books, shutdown, on_error)),
      log_(make_log(books, shutdown, on_error)),
      wal_point_(*log_),
      store_point_(*log_, books.store_lsn),
      quorum_point_(make_quorum_point(settings, *log_, books)),
      mirror_point_(*log_),
      points_(match_point_, wal_point_, store_point_, quorum_point_.get(), &mirror_point_) {
    EXCHANGED_INVARIANT(books.store_lsn < books.next_lsn, "the store holds no LSN the log reuses",
                        books.store_lsn, books.next_lsn);
    if (writer_ != nullptr) {
        // The store holds the whole log below its LSN: those segments can go.
        writer_->release_below(wal_release_floor(books.store_lsn + 1));
    }
    const std::size_t shard_count = layout.shard_count;
    if (books.matchers.size() != shard_count || books.next_seq.size() != shard_count) {
        throw std::invalid_argument("recovered books for " + std::to_string(books.matchers.size()) +
                                    " shards, the layout has " + std::to_string(shard_count));
    }
    shards_.reserve(shard_count);
    for (engine::ShardId id = 0; id < shard_count; ++id) {
        shards_.emplace_back(
            std::move(books.matchers[id]), *log_,
            engine::ShardOptions{id, settings.checkpoint_every, books.next_seq[id]});
        if (settings.feed_store) {
            feeds_.push_back(std::make_unique<store::EventFeed>(settings.store_queue_events));
            feed_pointers_.push_back(feeds_.back().get());
        }
    }
    for (engine::ShardId id = 0; id < shard_count; ++id) {
        ShardStageOptions options = settings.stage;
        options.feed = settings.feed_store ? feed_pointers_[id] : nullptr;
        // Only the WAL can rebuild what a full feed dropped (the mirror's Redis cannot be read
        // back while serving), so with a mirror a full feed refuses orders instead.
        options.feed_may_drop = writer_ != nullptr;
        // A critical order waiting for a point that nothing advances could never be acked.
        options.critical_reachable = settings.critical_ack_after == AckPoint::Match ||
                                     log_->persists() || options.feed != nullptr;
        stages_.push_back(std::make_unique<ShardStage>(shards_[id], sink, *log_, points_,
                                                       settings.ack_after,
                                                       settings.critical_ack_after, options));
    }
}

OrderPath::~OrderPath() {
    if (writer_ != nullptr) {
        writer_->close();
    }
    if (mirror_ != nullptr) {
        mirror_->close();
    }
}

void OrderPath::start_log() {
    if (mirror_ != nullptr) {
        mirror_->start();
    }
}

std::unique_ptr<wal::WalWriter> OrderPath::open_wal(wal::Storage* storage,
                                                    const RecoveredBooks& books, Shutdown& shutdown,
                                                    PathLog on_error) {
    if (!settings_.enable_wal) {
        return nullptr;
    }
    if (storage == nullptr) {
        throw std::invalid_argument("enable_wal is set but the order path got no WAL storage");
    }
    wal::WalOptions options = settings_.wal;
    // The writer starts only after the shards exist, and calls these only for records they
    // appended, so the points are constructed by then.
    options.on_durable = [this](wal::Lsn lsn) {
        wal_point_.advanced();
        if (quorum_point_ != nullptr) {
            quorum_point_->leader_durable(lsn);
        }
    };
    options.on_failed = [this, &shutdown, on_error](const std::string& error) {
        // Fatal (docs/architecture.md: The WAL): appends are refused from now on, the shards drop
        // what can no longer be acknowledged, and the owner stops with a non-zero exit.
        if (on_error) {
            on_error("WAL failed: " + error + "; refusing orders and exiting");
        }
        shutdown.fail(StopCause::WalFailed, error);
        wal_point_.advanced();
        if (quorum_point_ != nullptr) {
            quorum_point_->advanced();  // it fails with the log: the gates drop what it held
        }
    };
    auto writer = std::make_unique<wal::WalWriter>(*storage, std::move(options));
    if (writer->next_lsn() != books.next_lsn) {
        throw std::runtime_error("the WAL changed during recovery: replay ended before LSN " +
                                 std::to_string(books.next_lsn) + ", the writer opened at " +
                                 std::to_string(writer->next_lsn()));
    }
    return writer;
}

wal::Lsn OrderPath::store_frontier() const {
    const wal::Lsn frontier = engine::store_frontier(*log_, feed_pointers_);
    // Acknowledging after the quorum, the store takes only what a majority holds.
    if (settings_.ack_after == AckPoint::Quorum && quorum_point_ != nullptr) {
        return std::min(frontier, quorum_point_->frontier());
    }
    return frontier;
}

void OrderPath::stored(wal::Lsn lsn) {
    store_point_.advance(lsn);
    if (mirror_ != nullptr) {
        mirror_->stored(lsn);  // the confirmation trims Redis below it
    }
    if (writer_ != nullptr) {
        writer_->release_below(wal_release_floor(lsn + 1));  // segments wholly in the store
    }
}

wal::Lsn OrderPath::wal_release_floor(wal::Lsn store_floor) const {
    if (!settings_.release_floor) {
        return store_floor;
    }
    return std::min(store_floor, settings_.release_floor(store_floor, *writer_));
}

void OrderPath::release_all() {
    for (auto& stage : stages_) {
        stage->gate().release();
    }
}

}  // namespace exchanged::service
