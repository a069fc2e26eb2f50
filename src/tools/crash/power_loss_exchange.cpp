#include "tools/crash/power_loss_exchange.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "service/order_service.hpp"

namespace exchanged::tools {
namespace {

// Replies each gate can hold. A step ends once a quarter of it is in use, so a gate never fills:
// a full gate makes the shard wait for durability, which only the end of the step brings.
constexpr std::size_t kGateCapacity = 1024;

// The standard profile's order path with the scenario's WAL sizes and checkpoint interval; the
// cycle writes the store itself, so the shards feed nothing.
service::OrderPathSettings cycle_settings(const PowerLossSetup& setup) {
    service::OrderPathSettings settings = service::order_path_settings(setup.profile, false);
    settings.wal = setup.wal;
    settings.checkpoint_every = setup.checkpoint_every;
    settings.stage.gate_capacity = kGateCapacity;
    settings.feed_store = false;
    return settings;
}

}  // namespace

CycleExchange::CycleExchange(const PowerLossSetup& setup, wal::Storage& disk, store::Store& store,
                             std::vector<book::Matcher> matchers,
                             const std::vector<SequenceNumber>& next_seq, wal::Lsn next_lsn)
    : setup_(setup), store_(store), disk_(disk), sink_(setup.layout) {
    service::RecoveredBooks books{std::move(matchers), next_seq, next_lsn, store.store_lsn(), {}};
    // As the daemon starts: recovery already wrote the WAL tail into the store, the writer opens
    // the log (zeroing a torn tail) and what lies wholly in the store is released.
    path_ = std::make_unique<service::OrderPath>(cycle_settings(setup), setup.layout,
                                                 std::move(books), &disk_, sink_, shutdown_);
    disk_.set_background_wait([this] { writer().wait_background_idle(); });
    // Its thread must be waiting before the first command arrives; otherwise it could take part
    // of the first step on its own and commit it early, at a point thread timing chooses.
    if (!disk_.wait_idle()) {
        throw wal::WalError("the WAL writer failed before its first record");
    }
}

CycleExchange::~CycleExchange() {
    // The writer must find its storage running freely to close; after a crash it has stopped
    // already and close() only joins it.
    disk_.run_freely();
    writer().close();
    disk_.set_background_wait(nullptr);
}

std::span<const engine::ShardEvent> CycleExchange::send(const book::Command& command,
                                                        TimestampNs now,
                                                        std::vector<LoggedCommand>& logged) {
    command_events_.clear();
    // Each account has one session, whose id is the account's.
    const std::uint64_t request_id =
        command.type == book::CommandType::NewOrder ? 0 : next_request_id_++;
    path_->route(
        service::command_request(command, command.account, request_id), now,
        [&](service::ShardStage& stage, std::span<const engine::ShardEvent> events) {
            const std::span<const store::StoreEvent> stored = stage.store_events();
            if (!stored.empty()) {
                book::Command stamped = command;
                stamped.seq = stage.shard().next_seq() - 1;
                stamped.timestamp_ns = now;
                logged.push_back(LoggedCommand{stored.front().lsn, stage.shard().id(), stamped});
            }
            for (const engine::ShardEvent& event : events) {
                held_replies_ += event.event.type == book::EventType::Trade ? 2 : 1;
            }
            events_.insert(events_.end(), stored.begin(), stored.end());
            command_events_.insert(command_events_.end(), events.begin(), events.end());
        });
    return command_events_;
}

bool CycleExchange::commit() {
    if (!disk_.commit()) {
        return false;
    }
    // Everything handed over is durable now; a writer that idled with less is a bug of the
    // stepping, not of the exchange, and would make the crash points meaningless.
    if (writer().durable_lsn() + 1 != writer().next_lsn()) {
        throw std::logic_error("the WAL writer idled at durable LSN " +
                               std::to_string(writer().durable_lsn()) + " with records up to " +
                               std::to_string(writer().next_lsn() - 1) + " handed over");
    }
    path_->release_all();
    held_replies_ = 0;
    return true;
}

void CycleExchange::flush(wal::Lsn up_to) {
    up_to = std::min(up_to, writer().durable_lsn());
    const store::StoreLsn stored = store_lsn();
    if (up_to <= stored) {
        return;
    }
    store::StoreBatch batch;
    batch.first_lsn = stored + 1;
    batch.last_lsn = up_to;
    while (flushed_events_ < events_.size() && events_[flushed_events_].lsn <= up_to) {
        batch.events.push_back(events_[flushed_events_++]);
    }
    store_.apply(batch);
    ++flushes_;
    // As the flush worker's commit: the store point advances and segments wholly in the store go.
    path_->stored(up_to);
}

const Acks& CycleExchange::lose_power() {
    appended_lsn_ = writer().next_lsn() - 1;
    disk_.run_freely();
    writer().close();
    // The log failed: each gate sends what is durable and drops what is not.
    path_->release_all();
    held_replies_ = 0;
    return sink_.acks();
}

}  // namespace exchanged::tools
