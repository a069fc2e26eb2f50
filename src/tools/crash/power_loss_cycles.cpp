#include "tools/crash/power_loss_cycles.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <memory>
#include <system_error>

#include "engine/store_recovery.hpp"
#include "store/sqlite_store.hpp"
#include "tools/crash/power_loss_exchange.hpp"
#include "tools/crash/power_loss_flow.hpp"
#include "tools/crash/power_loss_setup.hpp"
#include "wal/segment_format.hpp"
#include "wal/sim_storage.hpp"

namespace exchanged::tools {

const char* to_string(PowerLossMode mode) {
    switch (mode) {
        case PowerLossMode::Drop:
            return "drop";
        case PowerLossMode::Torn:
            return "torn";
        case PowerLossMode::Flip:
            return "flip";
    }
    return "?";
}

namespace {

std::uint64_t fold(std::uint64_t digest, std::uint64_t value) {
    SplitMix64 mix(digest ^ (value * 0x9e3779b97f4a7c15ULL));
    return mix.next();
}

}  // namespace

void PowerLossStats::add(const PowerLossStats& o) {
    cycles += o.cycles;
    commands_logged += o.commands_logged;
    commands_acked += o.commands_acked;
    orders_acked += o.orders_acked;
    trades_acked += o.trades_acked;
    beyond_durable += o.beyond_durable;
    crashes_beyond += o.crashes_beyond;
    torn_tails += o.torn_tails;
    resent += o.resent;
    resent_duplicates += o.resent_duplicates;
    refusals += o.refusals;
    store_batches += o.store_batches;
    fingerprint = fold(fingerprint, o.fingerprint);
}

namespace {

constexpr TimestampNs kEpochNs = 1'700'000'000'000'000'000;
// At most this many steps commit before the crash is armed; it then fires within three commits.
constexpr std::uint64_t kMaxStepsBeforeCrash = 8;
// A step ends early once this many replies wait in the gates (a quarter of a gate; one command
// adds at most about 200), so that no gate fills before the step's commit.
constexpr std::size_t kMaxHeldReplies = 256;

// The store's directory for one scenario, removed with it.
class ScratchStore {
  public:
    explicit ScratchStore(const std::filesystem::path& base) {
        std::filesystem::path dir = base;
        std::error_code error;
        if (dir.empty()) {
            dir = std::filesystem::is_directory("/dev/shm", error)
                      ? std::filesystem::path("/dev/shm")
                      : std::filesystem::temp_directory_path();
        }
        std::string pattern = (dir / "exchangectl-power-loss-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::system_error(errno, std::generic_category(),
                                    "cannot create a directory for the store: " + pattern);
        }
        path_ = pattern;
    }
    ~ScratchStore() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    ScratchStore(const ScratchStore&) = delete;
    ScratchStore& operator=(const ScratchStore&) = delete;
    std::filesystem::path file() const { return path_ / "store.sqlite"; }

  private:
    std::filesystem::path path_;
};

class Scenario {
  public:
    Scenario(std::uint64_t seed, const PowerLossOptions& options)
        : seed_(seed),
          options_(options),
          setup_(make_power_loss_setup(seed)),
          names_(setup_.profile),
          disk_(setup_.disk_seed),
          scratch_(options.scratch_dir),
          store_(scratch_.file()),
          flow_(setup_.layout.instruments, setup_.accounts) {
        store_.migrate();
        for (engine::ShardId id = 0; id < setup_.layout.shard_count; ++id) {
            matchers_.push_back(setup_.layout.make_matcher(id));
            next_seq_.push_back(1);
        }
    }

    PowerLossOutcome run() {
        PowerLossOutcome outcome;
        outcome.seed = seed_;
        for (std::uint32_t cycle = 1; cycle <= options_.cycles; ++cycle) {
            PowerLossMode mode = PowerLossMode::Drop;
            std::vector<std::string> problems;
            bool refused = false;
            try {
                problems = run_cycle(cycle, mode, refused, outcome.stats);
            } catch (const std::exception& error) {
                problems.push_back(std::string("error: ") + error.what());
            }
            if (!problems.empty()) {
                outcome.passed = false;
                outcome.failed_cycle = cycle;
                outcome.failed_mode = mode;
                outcome.problems = std::move(problems);
                return outcome;
            }
            ++outcome.stats.cycles;
            if (refused) {
                outcome.ended_by_refusal = true;
                return outcome;
            }
        }
        // As the next start would: the writer opens where the last recovery ended.
        try {
            wal::WalWriter writer(disk_, setup_.wal);
            if (writer.next_lsn() != next_lsn_) {
                outcome.passed = false;
                outcome.failed_cycle = options_.cycles;
                outcome.problems.push_back(reopen_problem(writer.next_lsn()));
            }
        } catch (const std::exception& error) {
            outcome.passed = false;
            outcome.failed_cycle = options_.cycles;
            outcome.problems.push_back(std::string("reopening the WAL: ") + error.what());
        }
        return outcome;
    }

  private:
    std::string reopen_problem(wal::Lsn opened) const {
        return "the WAL writer opened at LSN " + std::to_string(opened) +
               " but recovery ended before LSN " + std::to_string(next_lsn_);
    }

    // Drives steps of commands until the crash fires; returns the problems found after it.
    std::vector<std::string> run_cycle(std::uint32_t cycle, PowerLossMode& mode, bool& refused,
                                       PowerLossStats& stats) {
        SplitMix64 rng = cycle_random(seed_, cycle);
        mode = options_.modes[rng.below(options_.modes.size())];
        const std::uint64_t steps_before_crash = rng.below(kMaxStepsBeforeCrash);
        const std::uint64_t crash_submit = 1 + rng.below(3);
        const std::size_t logged_before = logged_.size();

        std::unique_ptr<CycleExchange> opened;
        try {
            opened = std::make_unique<CycleExchange>(setup_, disk_, store_, std::move(matchers_),
                                                     next_seq_, next_lsn_);
        } catch (const wal::WalError&) {
            throw;
        } catch (const std::runtime_error& error) {
            return {error.what()};  // the WAL does not continue where recovery ended
        }
        CycleExchange& exchange = *opened;
        matchers_.clear();
        std::vector<book::Command> resend = std::move(resend_);
        resend_.clear();
        std::size_t resent = 0;
        for (std::uint64_t step = 0;; ++step) {
            if (step == steps_before_crash) {
                disk_.crash_at_submit(crash_submit);
            }
            // Mostly small steps (the group commits of a light load), now and then a burst.
            const std::uint64_t commands = 1 + rng.below(rng.percent(20) ? 160 : 24);
            for (std::uint64_t i = 0; i < commands; ++i) {
                const bool again = resent < resend.size();
                const book::Command command = again ? resend[resent++] : flow_.next(rng);
                now_ += 1'000 + static_cast<TimestampNs>(rng.below(1'000));
                const auto events = exchange.send(command, now_, logged_);
                flow_.observe(events);
                if (again) {
                    ++stats.resent;
                    const bool duplicate = !events.empty() &&
                                           events.front().event.type == book::EventType::Rejected &&
                                           events.front().event.reject_reason ==
                                               book::RejectReason::DuplicateClientOrderId;
                    stats.resent_duplicates += duplicate ? 1 : 0;
                }
                if (exchange.held_replies() > kMaxHeldReplies) {
                    break;
                }
            }
            if (!exchange.commit()) {
                break;
            }
            if (rng.percent(40)) {
                // The flush worker wrote some durable prefix meanwhile.
                const wal::Lsn durable = exchange.durable_lsn();
                if (durable > exchange.store_lsn()) {
                    exchange.flush(exchange.store_lsn() + 1 +
                                   rng.below(durable - exchange.store_lsn()));
                }
            }
        }
        // The power went during that commit.
        const Acks released = exchange.lose_power();
        CrashFacts crash;
        crash.durable_lsn = exchange.durable_lsn();
        crash.appended_lsn = exchange.appended_lsn();
        crash.bit_flipped = mode == PowerLossMode::Flip;
        const Acks due = acks_due(exchange.events(), crash.durable_lsn);
        stats.store_batches += exchange.flushes();
        stats.orders_acked += released.orders.size();
        stats.trades_acked += released.trades.size();
        for (std::size_t i = logged_before; i < logged_.size(); ++i) {
            ++stats.commands_logged;
            if (logged_[i].lsn <= crash.durable_lsn) {
                ++stats.commands_acked;
            } else if (logged_[i].command.type == book::CommandType::NewOrder) {
                // No acknowledgement came: its client sends it again, same client order id.
                book::Command again = logged_[i].command;
                again.seq = 0;
                again.timestamp_ns = 0;
                resend_.push_back(again);
            }
        }
        const wal::Lsn release_floor = exchange.release_floor();

        cut_power(mode, rng, release_floor);
        RecoveredState recovered;
        recovered.recovery = engine::recover_from_store(store_, disk_, setup_.layout, {});
        recovered.rows = read_store_rows(store_);
        if (options_.tamper) {
            options_.tamper(cycle, acked_, recovered);
        }
        remember_acks(released, due, acked_);
        const CycleEvidence evidence{setup_.layout, names_, logged_, crash, released, due, acked_};
        std::vector<std::string> problems = check_cycle(evidence, recovered);
        if (!problems.empty()) {
            return problems;
        }
        engine::RecoveryResult& replay = recovered.recovery.replay;
        if (!replay.ok()) {
            // A refusal the flipped bit allows: the operator's turn (salvage), not the next cycle.
            refused = true;
            ++stats.refusals;
            return {};
        }
        stats.torn_tails += replay.log.end == wal::LogEnd::TornTail ? 1 : 0;
        if (replay.last_lsn > crash.durable_lsn) {
            stats.beyond_durable += replay.last_lsn - crash.durable_lsn;
            ++stats.crashes_beyond;
        }
        stats.fingerprint = fold(stats.fingerprint, crash.durable_lsn);
        stats.fingerprint = fold(stats.fingerprint, crash.appended_lsn);
        stats.fingerprint = fold(stats.fingerprint, replay.last_lsn);
        for (const book::Matcher& matcher : replay.matchers) {
            stats.fingerprint = fold(stats.fingerprint, matcher.state_hash());
        }
        forget_acks_after(replay.last_lsn, acked_);
        // Go on from exactly what recovery rebuilt.
        std::erase_if(logged_,
                      [&](const LoggedCommand& entry) { return entry.lsn > replay.last_lsn; });
        matchers_ = std::move(replay.matchers);
        next_seq_.clear();
        for (const engine::ShardReplay& shard : replay.shards) {
            next_seq_.push_back(shard.next_seq);
        }
        next_lsn_ = replay.next_lsn;
        flow_.relearn(matchers_);
        return {};
    }

    void cut_power(PowerLossMode mode, SplitMix64& rng, wal::Lsn release_floor) {
        switch (mode) {
            case PowerLossMode::Drop:
                disk_.lose_power(wal::SimStorage::PowerLoss::DropUnsynced);
                return;
            case PowerLossMode::Torn:
                disk_.lose_power(wal::SimStorage::PowerLoss::TornPrefix);
                return;
            case PowerLossMode::Flip:
                disk_.lose_power(wal::SimStorage::PowerLoss::DropUnsynced);
                flip_synced_bit(rng, release_floor);
                return;
        }
    }

    // Flips one bit in a segment that must exist whatever the background deletion managed
    // before the crash (SimStorage's own flip picks among the files present, which depends on
    // that timing), in its header or records, so that the seed alone says where.
    void flip_synced_bit(SplitMix64& rng, wal::Lsn release_floor) {
        std::vector<std::pair<wal::Lsn, std::string>> segments;
        for (const std::string& name : disk_.list_files()) {
            if (const auto first = wal::parse_segment_file_name(name)) {
                segments.emplace_back(*first, name);
            }
        }
        std::sort(segments.begin(), segments.end());
        std::vector<std::string> kept;
        for (std::size_t i = 0; i < segments.size(); ++i) {
            // A segment goes only once the next one starts at or below the release floor.
            if (i + 1 == segments.size() || segments[i + 1].first > release_floor) {
                kept.push_back(segments[i].second);
            }
        }
        if (kept.empty()) {
            return;
        }
        const std::string& name = kept[rng.below(kept.size())];
        const std::vector<std::byte> bytes = disk_.contents(name);
        std::size_t used = bytes.size();
        while (used > 0 && bytes[used - 1] == std::byte{0}) {
            --used;
        }
        const std::uint64_t span = std::max<std::uint64_t>(used, 64);
        const std::uint64_t offset = std::min<std::uint64_t>(rng.below(span), bytes.size() - 1);
        disk_.flip_bit(name, offset, static_cast<int>(rng.below(8)));
    }

    const std::uint64_t seed_;
    const PowerLossOptions& options_;
    const PowerLossSetup setup_;
    const ProfileNames names_;
    wal::SimStorage disk_;
    ScratchStore scratch_;
    store::SqliteStore store_;
    OrderFlow flow_;

    // The state the next cycle starts from: what the last recovery rebuilt.
    std::vector<book::Matcher> matchers_;
    std::vector<SequenceNumber> next_seq_;
    wal::Lsn next_lsn_ = 1;
    std::vector<LoggedCommand> logged_;  // every command in the recovered log, in LSN order
    std::vector<book::Command> resend_;  // new orders whose acknowledgement never came
    Acks acked_;                         // every acknowledgement so far, with its LSN
    TimestampNs now_ = kEpochNs;
};

}  // namespace

PowerLossOutcome run_power_loss(std::uint64_t seed, const PowerLossOptions& options) {
    PowerLossOptions checked = options;
    if (checked.modes.empty()) {
        checked.modes = PowerLossOptions{}.modes;
    }
    try {
        Scenario scenario(seed, checked);
        return scenario.run();
    } catch (const std::exception& error) {
        PowerLossOutcome outcome;
        outcome.seed = seed;
        outcome.passed = false;
        outcome.problems.push_back(std::string("setting up: ") + error.what());
        return outcome;
    }
}

}  // namespace exchanged::tools
