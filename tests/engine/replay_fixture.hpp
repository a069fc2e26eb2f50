// Drives shards the way the gateway will: each command of a seeded random stream goes to the
// shard that owns its instrument (a mass cancel over all instruments to every shard), and the
// fixture remembers every command that was logged, with its LSN, exactly as the shard stamped it,
// so a test can feed a fresh matcher the same commands and compare.
#pragma once

#include <cstdint>
#include <memory>
#include <tuple>
#include <vector>

#include "book/matcher.hpp"
#include "engine/command_log.hpp"
#include "engine/recovery.hpp"
#include "engine/shard.hpp"
#include "engine/shard_layout.hpp"
#include "random_stream.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::engine::test {

struct LoggedCommand {
    wal::Lsn lsn = 0;
    ShardId shard = 0;
    book::Command command;  // with the seq and timestamp the shard gave it
};

inline constexpr TimestampNs kTestEpochNs = 1'700'000'000'000'000'000;

ShardLayout stream_layout(const book::testing::StreamConfig& config, std::uint32_t shard_count);

class ShardDriver {
  public:
    ShardDriver(const ShardLayout& layout, wal::WalWriter& wal, std::uint64_t checkpoint_every,
                std::uint64_t seed);

    // Sends up to `commands` stream commands; stops early (returning false) once a shard
    // reports the WAL unavailable.
    bool run(std::size_t commands);
    // One command to the shard(s) that own it; returns its events from all of them.
    std::vector<ShardEvent> send(const book::Command& command);

    std::vector<Shard>& shards() { return shards_; }
    const std::vector<LoggedCommand>& logged() const { return logged_; }
    std::uint64_t busy() const { return busy_; }

  private:
    const ShardLayout& layout_;
    book::testing::RandomStream stream_;
    std::unique_ptr<WalCommandLog> log_;  // on the heap: the shards keep a reference
    std::vector<Shard> shards_;
    std::vector<LoggedCommand> logged_;
    TimestampNs now_ = kTestEpochNs;
    std::uint64_t busy_ = 0;
    bool unavailable_ = false;
};

// Fresh matchers fed the logged commands with LSN <= up_to (and not in `lost`), by shard.
std::vector<book::Matcher> reference_matchers(const ShardLayout& layout,
                                              const std::vector<LoggedCommand>& logged,
                                              wal::Lsn up_to,
                                              const std::vector<wal::Lsn>& lost = {});

using RestingOrder = std::tuple<OrderId, ClientOrderId, AccountId, InstrumentId, Side, Price,
                                Quantity, std::uint8_t>;
std::vector<RestingOrder> resting(const book::Matcher& matcher);

// The matchers hold the same books as `expected`, shard by shard (Catch assertions).
void require_same_matchers(const std::vector<book::Matcher>& got,
                           const std::vector<book::Matcher>& expected);

// A WAL with 16 KiB segments (a rotation every ~180 records) and small batches, so that tests
// cross segment boundaries and group commits often.
wal::WalOptions small_wal();

}  // namespace exchanged::engine::test
