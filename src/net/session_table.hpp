// The gateway's sessions by id, readable from any thread without a lock (design: the order path
// takes no locks). A fixed table of max_sessions slots lives as long as the gateway; a SessionId
// is (generation << 32) | slot, and the slot's generation changes whenever it is reused, so a
// stale id never reaches the session that took its slot after it.
//
// Lifetime. Each slot's state word packs the generation, an "open" bit and a count of pins:
// threads currently using the slot's contents (its delivery queue, executor and session pointer).
// A pin is taken by a compare-and-swap that succeeds only while the slot is open under the wanted
// generation, and dropped by a decrement. Closing clears the open bit, so no new pin succeeds;
// the acceptor reuses a slot only once it is closed with no pins, and it alone writes the
// contents, before it publishes the new generation. A pinned slot's contents therefore never
// change under the pin. The Session object itself is not kept alive by the slot (a weak pointer):
// a drain posted to its strand holds a shared_ptr, and the session stops touching its slot once
// closed, so the slot can be reused while old handlers still run.
// Internal to src/net.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/any_io_executor.hpp>

#include "net/delivery_queue.hpp"
#include "net/gateway.hpp"
#include "net/protocol.hpp"

namespace exchanged::net {

class Session;

using MessageQueue = DeliveryQueue<Message>;

// Apart on their own cache lines: shard threads delivering to different sessions do not contend.
struct alignas(64) SessionSlot {
    std::atomic<std::uint64_t> state{0};
    // Written by the acceptor while the slot is closed and unpinned; read under a pin.
    boost::asio::any_io_executor executor;  // the session's strand
    std::weak_ptr<Session> session;
    std::unique_ptr<MessageQueue> queue;  // made for the slot's first session, kept for reuse
    // Set by the producer that posts a drain, cleared by the drain when it starts: a burst of
    // deliveries costs one post.
    std::atomic<bool> drain_scheduled{false};
    // A push found the queue full: the session is a slow consumer and is disconnected.
    std::atomic<bool> overflowed{false};
};

class SessionTable {
  public:
    explicit SessionTable(std::uint32_t slots);

    // A slot held open against reuse while it lives; empty when the id is stale or unknown.
    class Pin {
      public:
        Pin() = default;
        explicit Pin(SessionSlot* slot) : slot_(slot) {}
        Pin(Pin&& other) noexcept : slot_(std::exchange(other.slot_, nullptr)) {}
        Pin& operator=(Pin&&) = delete;
        ~Pin();
        explicit operator bool() const { return slot_ != nullptr; }
        SessionSlot* operator->() const { return slot_; }
        SessionSlot& operator*() const { return *slot_; }

      private:
        SessionSlot* slot_ = nullptr;
    };

    // Any thread, lock-free.
    Pin pin(SessionId id);

    // The acceptor's side, serialised by the gateway's registry mutex: find_free gives a closed,
    // unpinned slot (nothing when all are taken or still pinned), next_id the id its next session
    // gets; the caller fills in slot(index), then publish opens it under that id.
    std::optional<std::uint32_t> find_free();
    SessionId next_id(std::uint32_t index) const;
    SessionSlot& slot(std::uint32_t index) { return slots_[index]; }
    void publish(std::uint32_t index, SessionId id);

    // Any thread: no pin succeeds for `id` from now on. Idempotent.
    void close(SessionId id);

    std::size_t open_count() const { return open_.load(std::memory_order_relaxed); }
    std::uint32_t size() const { return size_; }

  private:
    const std::uint32_t size_;
    std::unique_ptr<SessionSlot[]> slots_;
    std::uint32_t cursor_ = 0;  // where find_free starts, so slots are reused round-robin
    std::atomic<std::size_t> open_{0};
};

}  // namespace exchanged::net
