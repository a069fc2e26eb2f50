#include "replay_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

namespace exchanged::engine::test {

ShardLayout stream_layout(const book::testing::StreamConfig& config, std::uint32_t shard_count) {
    ShardLayout layout;
    layout.shard_count = shard_count;
    layout.instruments = config.instruments;
    layout.limits = config.limits;
    return layout;
}

ShardDriver::ShardDriver(const ShardLayout& layout, wal::WalWriter& wal,
                         std::uint64_t checkpoint_every, std::uint64_t seed)
    : layout_(layout),
      stream_(book::testing::make_stream_config(seed)),
      log_(std::make_unique<WalCommandLog>(wal)) {
    shards_.reserve(layout.shard_count);
    for (ShardId id = 0; id < layout.shard_count; ++id) {
        shards_.emplace_back(layout.make_matcher(id), *log_,
                             ShardOptions{id, checkpoint_every, SequenceNumber{1}});
    }
}

std::vector<ShardEvent> ShardDriver::send(const book::Command& command) {
    std::vector<ShardEvent> events;
    now_ += 1'000;
    const auto to = [&](Shard& shard) {
        const SequenceNumber seq = shard.next_seq();
        const std::size_t first = events.size();
        shard.process(command, now_, events);
        if (shard.next_seq() != seq) {
            book::Command stamped = command;
            stamped.seq = seq;
            stamped.timestamp_ns = now_;
            logged_.push_back(LoggedCommand{events[first].lsn, shard.id(), stamped});
        }
        for (std::size_t i = first; i < events.size(); ++i) {
            const book::RejectReason reason = events[i].event.reject_reason;
            busy_ += reason == book::RejectReason::Busy ? 1 : 0;
            unavailable_ |= reason == book::RejectReason::Unavailable;
        }
    };
    if (for_every_shard(command)) {
        for (Shard& shard : shards_) {
            to(shard);
        }
    } else {
        to(shards_[layout_.shard_of(command.instrument)]);
    }
    return events;
}

bool ShardDriver::run(std::size_t commands) {
    std::vector<book::Event> plain;
    for (std::size_t i = 0; i < commands && !unavailable_; ++i) {
        const std::vector<ShardEvent> events = send(stream_.next());
        plain.clear();
        for (const ShardEvent& e : events) {
            plain.push_back(e.event);
        }
        stream_.observe(plain);
    }
    return !unavailable_;
}

std::vector<book::Matcher> reference_matchers(const ShardLayout& layout,
                                              const std::vector<LoggedCommand>& logged,
                                              wal::Lsn up_to, const std::vector<wal::Lsn>& lost) {
    std::vector<book::Matcher> matchers;
    for (ShardId id = 0; id < layout.shard_count; ++id) {
        matchers.push_back(layout.make_matcher(id));
    }
    std::vector<book::Event> events;
    for (const LoggedCommand& entry : logged) {
        if (entry.lsn > up_to || std::find(lost.begin(), lost.end(), entry.lsn) != lost.end()) {
            continue;
        }
        events.clear();
        matchers[entry.shard].apply(entry.command, events);
    }
    return matchers;
}

std::vector<RestingOrder> resting(const book::Matcher& matcher) {
    std::vector<RestingOrder> orders;
    matcher.for_each_resting([&](const book::OrderView& o) {
        orders.emplace_back(o.order_id, o.client_order_id, o.account, o.instrument, o.side, o.price,
                            o.leaves, o.flags);
    });
    return orders;
}

void require_same_matchers(const std::vector<book::Matcher>& got,
                           const std::vector<book::Matcher>& expected) {
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("shard " << i);
        REQUIRE(got[i].state_hash() == expected[i].state_hash());
        REQUIRE(got[i].next_order_id() == expected[i].next_order_id());
        REQUIRE(got[i].next_trade_id() == expected[i].next_trade_id());
        REQUIRE(resting(got[i]) == resting(expected[i]));
    }
}

wal::WalOptions small_wal() {
    wal::WalOptions options;
    options.segment_bytes = wal::kMinSegmentBytes;
    options.max_payload_bytes = 128;
    options.queue_capacity = 1024;
    options.batch_size = 16;
    options.batch_timeout_ms = 1;
    options.batch_bytes_max = 8192;
    return options;
}

}  // namespace exchanged::engine::test
