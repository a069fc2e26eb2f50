#include "tools/power_loss_exchange.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace exchanged::tools {
namespace {

// Replies each gate can hold. A step ends once a quarter of it is in use, so a gate never fills:
// a full gate makes the shard wait for durability, which only the end of the step brings.
constexpr std::size_t kGateCapacity = 1024;

net::MessageType request_type(book::CommandType type) {
    switch (type) {
        case book::CommandType::NewOrder:
            return net::MessageType::NewOrder;
        case book::CommandType::Cancel:
            return net::MessageType::Cancel;
        case book::CommandType::Replace:
            return net::MessageType::Replace;
        case book::CommandType::MassCancel:
            return net::MessageType::MassCancel;
    }
    return net::MessageType::NewOrder;
}

}  // namespace

CycleExchange::CycleExchange(const PowerLossSetup& setup, wal::Storage& disk, store::Store& store,
                             std::vector<book::Matcher> matchers,
                             const std::vector<SequenceNumber>& next_seq)
    : setup_(setup), store_(store), disk_(disk), sink_(setup.layout) {
    // As the daemon starts: recovery already wrote the WAL tail into the store, the writer opens
    // the log (zeroing a torn tail) and what lies wholly in the store is released.
    writer_ = std::make_unique<wal::WalWriter>(disk_, setup.wal);
    // Its thread must be waiting before the first command arrives; otherwise it could take part
    // of the first step on its own and commit it early, at a point thread timing chooses.
    if (!disk_.wait_idle()) {
        throw wal::WalError("the WAL writer failed before its first record");
    }
    log_ = std::make_unique<engine::WalCommandLog>(*writer_);
    store_lsn_ = store_.store_lsn();
    store_lsn_atomic_.store(store_lsn_, std::memory_order_release);
    release_floor_ = store_lsn_ + 1;
    writer_->release_below(release_floor_);
    shards_.reserve(setup.layout.shard_count);
    for (engine::ShardId id = 0; id < setup.layout.shard_count; ++id) {
        shards_.emplace_back(std::move(matchers[id]), *log_,
                             engine::ShardOptions{id, setup.checkpoint_every, next_seq[id]});
        gates_.push_back(std::make_unique<engine::ReleaseGate>(
            sink_, *log_, &store_lsn_atomic_, setup.profile.persistence.ack_after,
            setup.profile.critical_ack_after(), kGateCapacity));
    }
}

CycleExchange::~CycleExchange() {
    // The writer must find its storage running freely to close; after a crash it has stopped
    // already and close() only joins it.
    disk_.run_freely();
    writer_->close();
}

std::span<const engine::ShardEvent> CycleExchange::send(const book::Command& command,
                                                        TimestampNs now,
                                                        std::vector<LoggedCommand>& logged) {
    command_events_.clear();
    engine::ReplyOrigin origin;
    origin.session = command.account;
    origin.request_type = request_type(command.type);
    origin.client_request_id =
        command.type == book::CommandType::NewOrder ? command.client_order_id : next_request_id_++;
    // As ShardRunner decides it: liquidations and orders above the threshold are critical.
    const Quantity threshold = setup_.profile.safety.critical_order_threshold;
    origin.critical = command.type == book::CommandType::NewOrder &&
                      ((command.flags & book::order_flags::kLiquidation) != 0 ||
                       (threshold > 0 && command.quantity > threshold));
    const auto to = [&](engine::Shard& shard) {
        shard_events_.clear();
        const SequenceNumber seq = shard.next_seq();
        shard.process(command, now, shard_events_);
        if (shard.next_seq() != seq) {
            if (shard_events_.empty() || shard_events_.front().lsn == 0) {
                throw std::logic_error("shard " + std::to_string(shard.id()) +
                                       " logged a command but reported no LSN for it");
            }
            book::Command stamped = command;
            stamped.seq = seq;
            stamped.timestamp_ns = now;
            logged.push_back(LoggedCommand{shard_events_.front().lsn, shard.id(), stamped});
        }
        engine::ReleaseGate& gate = *gates_[shard.id()];
        for (const engine::ShardEvent& event : shard_events_) {
            gate.push(event, origin);
            held_replies_ += event.event.type == book::EventType::Trade ? 2 : 1;
            if (event.lsn != 0) {
                events_.push_back(
                    store::StoreEvent{event.lsn, shard.id(), command.flags, event.event});
            }
        }
        command_events_.insert(command_events_.end(), shard_events_.begin(), shard_events_.end());
    };
    if (engine::for_every_shard(command)) {
        for (engine::Shard& shard : shards_) {
            to(shard);
        }
    } else {
        to(shards_[setup_.layout.shard_of(command.instrument)]);
    }
    return command_events_;
}

bool CycleExchange::commit() {
    if (!disk_.commit()) {
        return false;
    }
    // Everything handed over is durable now; a writer that idled with less is a bug of the
    // stepping, not of the exchange, and would make the crash points meaningless.
    if (writer_->durable_lsn() + 1 != writer_->next_lsn()) {
        throw std::logic_error("the WAL writer idled at durable LSN " +
                               std::to_string(writer_->durable_lsn()) + " with records up to " +
                               std::to_string(writer_->next_lsn() - 1) + " handed over");
    }
    release_gates();
    return true;
}

void CycleExchange::release_gates() {
    for (const auto& gate : gates_) {
        gate->release();
    }
    held_replies_ = 0;
}

void CycleExchange::flush(wal::Lsn up_to) {
    up_to = std::min(up_to, writer_->durable_lsn());
    if (up_to <= store_lsn_) {
        return;
    }
    store::StoreBatch batch;
    batch.first_lsn = store_lsn_ + 1;
    batch.last_lsn = up_to;
    while (flushed_events_ < events_.size() && events_[flushed_events_].lsn <= up_to) {
        batch.events.push_back(events_[flushed_events_++]);
    }
    store_.apply(batch);
    ++flushes_;
    store_lsn_ = up_to;
    store_lsn_atomic_.store(up_to, std::memory_order_release);
    // As the flush worker's on_committed: segments wholly in the store can go.
    release_floor_ = std::max(release_floor_, up_to + 1);
    writer_->release_below(up_to + 1);
}

const Acks& CycleExchange::lose_power() {
    appended_lsn_ = writer_->next_lsn() - 1;
    disk_.run_freely();
    writer_->close();
    // The log failed: each gate sends what is durable and drops what is not.
    release_gates();
    return sink_.acks();
}

}  // namespace exchanged::tools
