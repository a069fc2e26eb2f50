// The in-process replication tests' leader side: a QuorumTracker behind a mutex (as the daemon's
// QuorumPoint keeps it), the WAL options that feed it and a ship buffer, and the sender hooks that
// feed it the followers' acks.
#pragma once

#include <mutex>
#include <span>
#include <utility>

#include "repl/leader_sender.hpp"
#include "repl/quorum_tracker.hpp"
#include "repl/ship_buffer.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::test {

// `options` with each batch published to `buffer` as the leader submits it (what the sender ships).
inline wal::WalOptions shipping_options(wal::WalOptions options, repl::ShipBuffer& buffer) {
    options.on_submitted = [&buffer](wal::Lsn first, wal::Lsn last,
                                     std::span<const std::byte> records) {
        buffer.publish(first, last, records);
    };
    return options;
}

struct TrackedQuorum {
    explicit TrackedQuorum(repl::Epoch epoch) : tracker(3, {2, 3}, epoch) {}

    wal::Lsn frontier() {
        std::lock_guard lock(mutex);
        return tracker.frontier();
    }

    // `options` with each batch published to `buffer` before its fdatasync and its durable LSN
    // counted for the leader.
    wal::WalOptions leader_options(wal::WalOptions options, repl::ShipBuffer& buffer) {
        options = shipping_options(std::move(options), buffer);
        options.on_durable = [this](wal::Lsn lsn) {
            std::lock_guard lock(mutex);
            tracker.leader_durable(lsn);
        };
        return options;
    }

    // durable_lsn from the leader's writer; shipped and ack into the tracker.
    repl::LeaderSenderHooks sender_hooks(const wal::WalWriter& leader) {
        repl::LeaderSenderHooks hooks;
        hooks.durable_lsn = [&leader] { return leader.durable_lsn(); };
        hooks.shipped = [this](wal::Lsn lsn) {
            std::lock_guard lock(mutex);
            tracker.shipped(lsn);
        };
        hooks.ack = [this](repl::NodeId node, repl::Epoch epoch, wal::Lsn lsn) {
            std::lock_guard lock(mutex);
            return tracker.ack(node, epoch, lsn);
        };
        return hooks;
    }

    std::mutex mutex;
    repl::QuorumTracker tracker;
};

}  // namespace exchanged::test
