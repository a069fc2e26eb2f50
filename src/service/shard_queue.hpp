// The bounded queue from the gateway's io threads to one shard thread, and what travels on it.
#pragma once

#include <cstddef>
#include <cstdint>

#include <concurrentqueue/concurrentqueue.h>

#include "book/command.hpp"
#include "net/gateway.hpp"
#include "net/protocol.hpp"

namespace exchanged::service {

struct ShardRequest {
    enum class Kind : std::uint8_t { Command, Status };
    Kind kind = Kind::Command;
    net::MessageType request_type = net::MessageType::NewOrder;
    net::SessionId session = 0;
    std::uint64_t client_request_id = 0;
    // Unsequenced: the shard thread stamps seq and timestamp. Status: instrument, account and
    // client_order_id name the order asked about.
    book::Command command;
};

// try_enqueue never allocates, so the queue must be able to index its whole capacity from the
// start: an implicit producer's block index cannot grow without allocating, and with the default
// (32 blocks of 32) try_enqueue would report "full" after about a thousand queued requests. 65536
// blocks of 256 cover [server] shard_queue_capacity's maximum of 2^24.
struct ShardQueueTraits : moodycamel::ConcurrentQueueDefaultTraits {
    static constexpr std::size_t BLOCK_SIZE = 256;
    static constexpr std::size_t IMPLICIT_INITIAL_INDEX_SIZE = 65536;
};

using ShardQueue = moodycamel::ConcurrentQueue<ShardRequest, ShardQueueTraits>;

}  // namespace exchanged::service
