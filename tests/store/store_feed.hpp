// Drives one matcher per shard with the book tests' random command streams and turns their events
// into StoreEvents with per-command LSNs (1, 2, 3, ..., with now and then an LSN that carries no
// events, as a checkpoint record does), the way the flush worker will see them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "book/matcher.hpp"
#include "random_stream.hpp"
#include "store/store.hpp"

namespace exchanged::store::test {

struct FeedShard {
    explicit FeedShard(std::uint64_t seed);
    book::testing::StreamConfig config;
    book::Matcher matcher;
    book::testing::RandomStream stream;
    SequenceNumber next_seq = 1;
};

class StoreFeed {
  public:
    StoreFeed(std::uint64_t seed, std::uint32_t shard_count);

    // Runs one command on a random shard and appends its events; returns its LSN.
    StoreLsn step(std::vector<StoreEvent>& out);
    StoreLsn last_lsn() const { return lsn_; }
    std::vector<std::unique_ptr<FeedShard>>& shards() { return shards_; }

  private:
    SplitMix64 rng_;
    std::vector<std::unique_ptr<FeedShard>> shards_;
    std::vector<book::Event> events_;
    StoreLsn lsn_ = 0;
};

}  // namespace exchanged::store::test
