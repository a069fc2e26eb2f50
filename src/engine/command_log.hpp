// Where a shard logs its sequenced commands, and how far that log is durable: the seam between the
// shards (and their release gates) and the profile's persistence.
//
// Two kinds exist. WalCommandLog is the WAL (docs/architecture.md: The WAL): a command is durable
// once the group commit's fdatasync covers it. UnloggedCommandLog is for profiles with enable_wal =
// false (hft): commands get LSNs so events stay ordered and tagged, but nothing is ever durable
// here, so a profile may only acknowledge at `match` through it; start-up and the shard threads
// refuse whatever would have to wait for a durable point it cannot reach.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "wal/wal_types.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::engine {

class CommandLog {
  public:
    virtual ~CommandLog() = default;

    // Any thread; never blocks. An LSN when status is Ok.
    virtual wal::AppendResult try_append(std::uint16_t type,
                                         std::span<const std::byte> payload) noexcept = 0;
    // Every LSN at or below this survives a crash.
    virtual wal::Lsn durable_lsn() const noexcept = 0;
    // Blocks until `lsn` is durable (true), or returns false once it never will be (the log failed
    // or closed, or keeps nothing).
    virtual bool wait_durable(wal::Lsn lsn) const = 0;
    // The log failed (fatal, docs/architecture.md: The WAL): what was not durable by then was never
    // acknowledged.
    virtual bool failed() const noexcept = 0;
    // Appends are being taken (neither failed nor closed).
    virtual bool running() const noexcept = 0;
    // Whether durable_lsn() can ever move: false when nothing is persisted.
    virtual bool persists() const noexcept = 0;
    // The LSN the next append will get at the earliest: every LSN below it has been handed out.
    virtual wal::Lsn next_lsn() const noexcept = 0;
};

class WalCommandLog final : public CommandLog {
  public:
    explicit WalCommandLog(wal::WalWriter& writer) : writer_(writer) {}

    wal::AppendResult try_append(std::uint16_t type,
                                 std::span<const std::byte> payload) noexcept override {
        return writer_.try_append(type, payload);
    }
    wal::Lsn durable_lsn() const noexcept override { return writer_.durable_lsn(); }
    bool wait_durable(wal::Lsn lsn) const override { return writer_.wait_durable(lsn); }
    bool failed() const noexcept override { return writer_.state() == wal::WalState::Failed; }
    bool running() const noexcept override { return writer_.state() == wal::WalState::Running; }
    bool persists() const noexcept override { return true; }
    wal::Lsn next_lsn() const noexcept override { return writer_.next_lsn(); }

  private:
    wal::WalWriter& writer_;
};

class UnloggedCommandLog final : public CommandLog {
  public:
    // `first_lsn` continues the numbering of what the store already holds.
    explicit UnloggedCommandLog(wal::Lsn first_lsn = 1) : next_lsn_(first_lsn) {}

    wal::AppendResult try_append(std::uint16_t /*type*/,
                                 std::span<const std::byte> /*payload*/) noexcept override {
        return {wal::AppendStatus::Ok, next_lsn_.fetch_add(1, std::memory_order_relaxed)};
    }
    wal::Lsn durable_lsn() const noexcept override { return 0; }
    bool wait_durable(wal::Lsn /*lsn*/) const override { return false; }
    bool failed() const noexcept override { return false; }
    bool running() const noexcept override { return true; }
    bool persists() const noexcept override { return false; }
    wal::Lsn next_lsn() const noexcept override {
        return next_lsn_.load(std::memory_order_seq_cst);
    }

  private:
    // Shared by the shards: one order over all of them, as a WAL's LSNs are.
    std::atomic<wal::Lsn> next_lsn_;
};

}  // namespace exchanged::engine
