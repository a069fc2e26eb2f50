// The daemon's order path for one cycle of the power-loss scenario: the same service::OrderPath the
// daemon builds (the WAL writer opened after recovery and checked to continue where recovery
// ended, the segments the store holds released, one Shard and one ShardStage with its release
// gate per shard, the standard profile's ack points), on the simulated disk and the scenario's
// clock, driven from this thread one command at a time. Flushes write a prefix at or below the
// WAL's durable LSN into the store, as the flush worker does, and advance the store point.
//
// Steps replace the writer's timing: commands handed over in one step are committed together when
// the step ends (SteppedStorage), and the gates release after each commit, as a shard thread does
// once the writer reports durability.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/shard.hpp"
#include "service/order_path.hpp"
#include "service/shutdown.hpp"
#include "store/store.hpp"
#include "tools/crash/power_loss_acks.hpp"
#include "tools/crash/power_loss_check.hpp"
#include "tools/crash/power_loss_setup.hpp"
#include "tools/crash/stepped_storage.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::tools {

class CycleExchange {
  public:
    // Opens the WAL on `disk` and builds the shards from the recovered matchers. Throws
    // wal::WalError when the log cannot be opened, std::runtime_error when it does not continue
    // at `next_lsn`.
    CycleExchange(const PowerLossSetup& setup, wal::Storage& disk, store::Store& store,
                  std::vector<book::Matcher> matchers, const std::vector<SequenceNumber>& next_seq,
                  wal::Lsn next_lsn);
    ~CycleExchange();
    CycleExchange(const CycleExchange&) = delete;
    CycleExchange& operator=(const CycleExchange&) = delete;

    // The LSN the writer will give the next record: where recovery said the log ends.
    wal::Lsn next_lsn() const { return writer().next_lsn(); }

    // Hands one command to the shard that owns its instrument (a mass cancel over every
    // instrument to every shard, each logging its own copy), as the gateway routes it. Appends
    // what each shard logged to `logged` and returns the events.
    std::span<const engine::ShardEvent> send(const book::Command& command, TimestampNs now,
                                             std::vector<LoggedCommand>& logged);
    // Ends the step: the writer commits what was handed over. True when it is durable, false
    // when the power went during the commit (the simulated crash).
    bool commit();
    // Replies waiting in the gates: a step ends early before they could fill a gate, which
    // would make the shard wait for a durability that only the end of the step brings.
    std::size_t held_replies() const { return held_replies_; }

    wal::Lsn durable_lsn() const { return writer().durable_lsn(); }
    store::StoreLsn store_lsn() const { return path_->store_point().frontier(); }
    // Writes the events of LSNs store_lsn()+1 .. up_to (at most durable_lsn()) into the store in
    // one batch, as the flush worker does, and releases the WAL segments below it. Throws
    // store::StoreError.
    void flush(wal::Lsn up_to);
    std::uint64_t flushes() const { return flushes_; }
    // The highest LSN given to WalWriter::release_below(): no segment at or after the one that
    // holds it can have been deleted.
    wal::Lsn release_floor() const { return store_lsn() + 1; }

    // After a failed commit: no more records are taken, the writer stops, and the gates send
    // what the log made durable and drop the rest, as the shard threads do when the WAL fails.
    // Returns what they sent.
    const Acks& lose_power();
    // The last LSN the writer ever handed out.
    wal::Lsn appended_lsn() const { return appended_lsn_; }
    // Every event of this cycle's logged commands, in LSN order.
    std::span<const store::StoreEvent> events() const { return events_; }

  private:
    wal::WalWriter& writer() const { return *path_->wal_writer(); }

    const PowerLossSetup& setup_;
    store::Store& store_;
    SteppedStorage disk_;
    AckRecorder sink_;
    service::Shutdown shutdown_;
    std::unique_ptr<service::OrderPath> path_;
    std::vector<engine::ShardEvent> command_events_;  // all shards' for one command
    std::vector<store::StoreEvent> events_;
    std::size_t flushed_events_ = 0;
    std::size_t held_replies_ = 0;
    wal::Lsn appended_lsn_ = 0;
    std::uint64_t flushes_ = 0;
    std::uint64_t next_request_id_ = 1;
};

}  // namespace exchanged::tools
