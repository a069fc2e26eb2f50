// Fakes for the service tests: a command log and a durability point whose frontier, failure and
// waiting the test controls, a reply sink that records what leaves a gate, and a one-shard stage
// built over them with a real engine::Shard and book::Matcher.
//
// Every field the shard thread reads while a test thread writes is atomic, and the sink takes a
// lock, so the runner tests can share these with a ShardRunner under ThreadSanitizer.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <variant>
#include <vector>

#include "book/command.hpp"
#include "book/event.hpp"
#include "engine/command_log.hpp"
#include "engine/shard.hpp"
#include "engine/shard_layout.hpp"
#include "net/protocol.hpp"
#include "service/durability_point.hpp"
#include "service/release_gate.hpp"
#include "service/shard_queue.hpp"
#include "service/shard_stage.hpp"

namespace exchanged::service::test {

// A log that numbers commands from 1 and is durable exactly as far as the test says.
class FakeCommandLog final : public engine::CommandLog {
  public:
    wal::AppendResult try_append(std::uint16_t /*type*/,
                                 std::span<const std::byte> /*payload*/) noexcept override {
        if (failed_.load(std::memory_order_acquire)) {
            return {wal::AppendStatus::Failed, 0};
        }
        return {wal::AppendStatus::Ok, next_lsn_.fetch_add(1, std::memory_order_acq_rel)};
    }
    wal::Lsn durable_lsn() const noexcept override {
        return durable_.load(std::memory_order_acquire);
    }
    // Never blocks: a test that fills a gate sets the frontier itself first.
    bool wait_durable(wal::Lsn lsn) const override { return durable_lsn() >= lsn; }
    bool failed() const noexcept override { return failed_.load(std::memory_order_acquire); }
    bool running() const noexcept override { return !failed(); }
    bool persists() const noexcept override { return true; }
    wal::Lsn next_lsn() const noexcept override {
        return next_lsn_.load(std::memory_order_acquire);
    }

    void set_durable(wal::Lsn lsn) { durable_.store(lsn, std::memory_order_release); }
    void fail() { failed_.store(true, std::memory_order_release); }

  private:
    std::atomic<wal::Lsn> next_lsn_{1};
    std::atomic<wal::Lsn> durable_{0};
    std::atomic<bool> failed_{false};
};

// A durability point the test moves by hand. wait() records the LSN it was asked for and runs
// `on_wait` (say, to advance the frontier as a WAL writer would while the shard waits).
class FakePoint final : public DurabilityPoint {
  public:
    wal::Lsn frontier() const noexcept override {
        return frontier_.load(std::memory_order_acquire);
    }
    bool failed() const noexcept override { return failed_.load(std::memory_order_acquire); }
    bool wait(wal::Lsn lsn) const override {
        waits.push_back(lsn);
        if (on_wait) {
            on_wait(lsn);
        }
        return frontier() >= lsn;
    }
    void awaited_by_reply(wal::Lsn lsn) const noexcept override {
        awaited = std::max(awaited, lsn);
    }

    void set_frontier(wal::Lsn lsn) { frontier_.store(lsn, std::memory_order_release); }
    void fail() { failed_.store(true, std::memory_order_release); }

    std::function<void(wal::Lsn)> on_wait;
    mutable std::vector<wal::Lsn> waits;
    mutable wal::Lsn awaited = 0;  // the highest LSN a held reply waits for

  private:
    std::atomic<wal::Lsn> frontier_{0};
    std::atomic<bool> failed_{false};
};

// One reply that left a gate, and where it went.
struct SentReply {
    bool to_account = false;
    std::uint64_t target = 0;  // a session id, or an account id when to_account
    net::Message message;
};

class RecordingSink final : public ReplySink {
  public:
    void to_session(net::SessionId session, const net::Message& message) override {
        const std::lock_guard lock(mutex_);
        sent_.push_back(SentReply{false, session, message});
    }
    void to_account(AccountId account, const net::Message& message) override {
        const std::lock_guard lock(mutex_);
        sent_.push_back(SentReply{true, account, message});
    }

    std::vector<SentReply> sent() const {
        const std::lock_guard lock(mutex_);
        return sent_;
    }
    std::size_t size() const {
        const std::lock_guard lock(mutex_);
        return sent_.size();
    }

  private:
    mutable std::mutex mutex_;
    std::vector<SentReply> sent_;
};

// The message of a reply as type T; fails the test (std::bad_variant_access) when it is not. A
// copy, so that `const T& x = as<T>(sink.sent()[0])` cannot outlive the vector it came from.
template <typename T>
T as(const SentReply& reply) {
    return std::get<T>(reply.message);
}

// Polls `done` until it holds or `limit` passed: the bounded wait of the threaded tests.
template <typename Done>
bool eventually(Done&& done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

// ---- one shard over the fake log ----

inline constexpr InstrumentId kInstrument = 1;

// One instrument with prices 1..1000 and unit lots; small limits so each test builds a matcher
// quickly.
inline engine::ShardLayout one_instrument_layout() {
    engine::ShardLayout layout;
    layout.shard_count = 1;
    book::InstrumentSpec spec;
    spec.id = kInstrument;
    spec.symbol = "TEST";
    spec.tick_size = 1;
    spec.lot_size = 1;
    spec.min_price = 1;
    spec.max_price = 1000;
    spec.max_order_quantity = 1'000'000;
    layout.instruments.push_back(spec);
    layout.limits.max_orders = 1u << 14;
    layout.limits.max_accounts = 16;
    layout.limits.client_order_id_window = 1u << 14;
    return layout;
}

// A limit order as the gateway hands it to a shard (unsequenced).
inline ShardRequest new_order(net::SessionId session, AccountId account, ClientOrderId id,
                              Side side, Price price, Quantity quantity, std::uint8_t flags = 0) {
    ShardRequest request;
    request.kind = ShardRequest::Kind::Command;
    request.request_type = net::MessageType::NewOrder;
    request.session = session;
    request.command.type = book::CommandType::NewOrder;
    request.command.side = side;
    request.command.instrument = kInstrument;
    request.command.account = account;
    request.command.client_order_id = id;
    request.command.price = price;
    request.command.quantity = quantity;
    request.command.flags = flags;
    return request;
}

inline ShardRequest status_request(net::SessionId session, AccountId account, ClientOrderId id) {
    ShardRequest request;
    request.kind = ShardRequest::Kind::Status;
    request.request_type = net::MessageType::OrderStatusRequest;
    request.session = session;
    request.command.instrument = kInstrument;
    request.command.account = account;
    request.command.client_order_id = id;
    return request;
}

// The order path of one shard without threads: fake log, real points over it, a real Shard and
// the ShardStage under test. Members are declared in the order they must be built.
struct StageRig {
    explicit StageRig(AckPoint normal = AckPoint::Wal, AckPoint critical = AckPoint::Wal,
                      const ShardStageOptions& options = {})
        : layout(one_instrument_layout()),
          wal_point(log),
          store_point(log, 0),
          points(match_point, wal_point, store_point),
          shard(layout.make_matcher(0), log, engine::ShardOptions{}),
          stage(shard, sink, log, points, normal, critical, options) {}

    engine::ShardLayout layout;
    FakeCommandLog log;
    MatchPoint match_point;
    LogPoint wal_point;
    StorePoint store_point;
    DurabilityPoints points;
    engine::Shard shard;
    RecordingSink sink;
    ShardStage stage;
};

}  // namespace exchanged::service::test
