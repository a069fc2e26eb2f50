// The order path, assembled once (docs/architecture.md: The path of one order): the command log
// (the WAL writer on the given storage, or a log that only numbers commands when enable_wal is
// off), the durability points, one Shard per shard continuing from the recovered books, each
// shard's event feed to the store, and each shard's stage with its release gate.
//
// It has no threads of its own but the WAL writer's. The daemon's Pipeline runs a shard thread
// per stage and a flush worker over the feeds; the power-loss simulation and the tests drive the
// same stages from their own thread, one request at a time, and write the store themselves. Either
// way this constructor is the one place that wires the log, the shards, the gates and the store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "book/matcher.hpp"
#include "config/config.hpp"
#include "engine/command_log.hpp"
#include "engine/shard.hpp"
#include "engine/shard_layout.hpp"
#include "mirror/mirror_log.hpp"
#include "service/durability_point.hpp"
#include "service/quorum_point.hpp"
#include "service/release_gate.hpp"
#include "service/shard_stage.hpp"
#include "service/shutdown.hpp"
#include "store/event_feed.hpp"
#include "store/store.hpp"
#include "wal/storage.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::service {

// Where recovery left the books: the state at the end of the log (or the store, without a WAL).
struct RecoveredBooks {
    std::vector<book::Matcher> matchers;   // by shard id
    std::vector<SequenceNumber> next_seq;  // by shard id
    wal::Lsn next_lsn = 1;                 // the LSN the log continues at
    wal::Lsn store_lsn = 0;                // what the store holds
    // The events of the records store_lsn+1 .. next_lsn-1 when start-up has them already (a
    // promoted follower's handed books, engine::continue_handed_books): the flush worker writes
    // this batch instead of replaying those records from the store's state.
    std::optional<store::StoreBatch> store_tail;
};

// What the profile makes of the order path.
struct OrderPathSettings {
    AckPoint ack_after = AckPoint::Wal;
    AckPoint critical_ack_after = AckPoint::Wal;
    bool enable_wal = true;
    wal::WalOptions wal;
    std::uint64_t checkpoint_every = 0;  // commands between state-hash records; 0: none
    ShardStageOptions stage;             // feed, feed_may_drop, critical_reachable set per path
    std::uint32_t store_queue_events = 1u << 18;
    // false: no feeds; the caller writes the store from each stage's store_events().
    bool feed_store = true;
    // A replicated leader: the `quorum` point over these followers (factor = followers + 1).
    bool quorum = false;
    std::uint32_t quorum_factor = 1;
    std::vector<std::uint32_t> quorum_followers;
    std::uint64_t quorum_epoch = 1;
    // Set (mode double_write): the command log is the Redis mirror instead of the WAL; its
    // first_lsn, store_lsn and callbacks but on_info are filled in by the path.
    std::optional<mirror::MirrorOptions> mirror;
    // A replication leader's retention for its followers: given the LSN the store lets the WAL
    // release below, the LSN it may (never above it). Unset: the store decides alone.
    std::function<wal::Lsn(wal::Lsn store_floor, const wal::WalWriter& writer)> release_floor;
};

OrderPathSettings order_path_settings(const Config& config, bool salvage);

// Lines worth an operator's eye, from the WAL writer's thread (a failure). Empty: none.
using PathLog = std::function<void(const std::string& line)>;

class OrderPath {
  public:
    // Opens the WAL on `wal_storage` (required with enable_wal; it truncates the torn tail the
    // recovery reported) and checks that it continues at books.next_lsn; throws wal::WalError or
    // std::runtime_error when it does not. `layout`, `sink`, `shutdown` and `wal_storage`
    // must outlive the path.
    OrderPath(const OrderPathSettings& settings, const engine::ShardLayout& layout,
              RecoveredBooks books, wal::Storage* wal_storage, ReplySink& sink, Shutdown& shutdown,
              PathLog on_error = {});
    ~OrderPath();
    OrderPath(const OrderPath&) = delete;
    OrderPath& operator=(const OrderPath&) = delete;

    engine::CommandLog& log() { return *log_; }
    const engine::CommandLog& log() const { return *log_; }
    wal::WalWriter* wal_writer() { return writer_.get(); }     // null without a WAL
    mirror::MirrorLog* mirror_log() const { return mirror_; }  // null without a mirror
    // Starts the mirror's writer (after the owner registered the points' wake-ups).
    void start_log();
    const DurabilityPoints& points() const { return points_; }
    DurabilityPoint& wal_point() { return wal_point_; }
    StorePoint& store_point() { return store_point_; }
    QuorumPoint* quorum_point() { return quorum_point_.get(); }  // null unless replicated
    DurabilityPoint& mirror_point() { return mirror_point_; }

    std::size_t shard_count() const { return stages_.size(); }
    ShardStage& stage(engine::ShardId id) { return *stages_[id]; }
    const std::vector<store::EventFeed*>& feeds() const { return feed_pointers_; }

    // The store's frontier: every LSN at or below it has its events in the feeds and, with a
    // WAL, is durable (engine/store_frontier.hpp); on a leader acknowledging after the quorum,
    // also held by a majority. A deposed leader's store then never holds a record its successor's
    // log may lack, so the divergence cut that makes it a follower never goes below its store.
    wal::Lsn store_frontier() const;
    // The store committed up to `lsn`: advance the store point and recycle the WAL below it.
    void stored(wal::Lsn lsn);

    // On the caller's thread (simulation, tests): hands the request to the stage that owns it, or
    // to every stage for a mass cancel over every instrument, and calls visit(stage, events) for
    // each.
    template <typename Visit>
    void route(const ShardRequest& request, TimestampNs now, Visit&& visit) {
        if (request.kind == ShardRequest::Kind::Command &&
            engine::for_every_shard(request.command)) {
            for (auto& stage : stages_) {
                visit(*stage, stage->handle(request, now));
            }
            return;
        }
        ShardStage& owner = *stages_[layout_.shard_of(request.command.instrument)];
        visit(owner, owner.handle(request, now));
    }
    // Every gate sends what its point has reached (and drops what a failed log never will).
    void release_all();

  private:
    std::unique_ptr<engine::CommandLog> make_log(const RecoveredBooks& books, Shutdown& shutdown,
                                                 PathLog on_error);
    wal::Lsn wal_release_floor(wal::Lsn store_floor) const;
    std::unique_ptr<wal::WalWriter> open_wal(wal::Storage* storage, const RecoveredBooks& books,
                                             Shutdown& shutdown, PathLog on_error);

    const OrderPathSettings settings_;
    const engine::ShardLayout& layout_;
    std::unique_ptr<wal::WalWriter> writer_;
    // Declared before log_, whose construction sets it.
    mirror::MirrorLog* mirror_ = nullptr;  // log_, when it is the mirror
    std::unique_ptr<engine::CommandLog> log_;
    MatchPoint match_point_;
    LogPoint wal_point_;
    StorePoint store_point_;
    std::unique_ptr<QuorumPoint> quorum_point_;
    LogPoint mirror_point_;
    DurabilityPoints points_;
    std::vector<engine::Shard> shards_;
    std::vector<std::unique_ptr<store::EventFeed>> feeds_;
    std::vector<store::EventFeed*> feed_pointers_;
    std::vector<std::unique_ptr<ShardStage>> stages_;
};

}  // namespace exchanged::service
