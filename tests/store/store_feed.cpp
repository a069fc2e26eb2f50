#include "store_feed.hpp"

namespace exchanged::store::test {

FeedShard::FeedShard(std::uint64_t seed)
    : config(book::testing::make_stream_config(seed)),
      matcher(config.instruments, config.limits),
      stream(config) {}

StoreFeed::StoreFeed(std::uint64_t seed, std::uint32_t shard_count) : rng_(seed * 7919 + 1) {
    for (std::uint32_t i = 0; i < shard_count; ++i) {
        // Seeds that agree mod 3 share instruments and limits.
        shards_.push_back(std::make_unique<FeedShard>(seed + 3 * i));
    }
}

StoreLsn StoreFeed::step(std::vector<StoreEvent>& out) {
    if (rng_.percent(2)) {
        ++lsn_;  // a record without events (a checkpoint)
    }
    const auto shard = static_cast<ShardId>(rng_.below(shards_.size()));
    FeedShard& s = *shards_[shard];
    const book::Command command = s.stream.next();
    events_.clear();
    s.matcher.apply(command, events_);
    s.stream.observe(events_);
    s.next_seq = command.seq + 1;
    ++lsn_;
    for (const book::Event& e : events_) {
        out.push_back(StoreEvent{lsn_, shard, command.flags, e});
    }
    return lsn_;
}

}  // namespace exchanged::store::test
