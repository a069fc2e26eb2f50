// `exchangectl bench recover`: prepares a data directory whose WAL runs --tail records past the
// store, for timing `exchanged --recover` on it (scripts/bench-recover.sh does both). The WAL is
// written directly, the way the shard logs commands (one command record per command with the
// shard's seq, a checkpoint record every [safety] checkpoint_interval commands when checksums are
// on), from the mix workload of `bench match` (about 1.5 events per command); the first
// --store-records of them are then written into the store by the same recovery code, so the
// store holds a realistic state (resting orders, counters) at its store_lsn and the rest is the
// tail. The profile's instrument id 1 must take the workload's prices (the shipped profiles'
// AMZN does).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <thread>

#include "common/cli_args.hpp"
#include "config/config.hpp"
#include "engine/command_record.hpp"
#include "engine/shard_layout.hpp"
#include "engine/startup.hpp"
#include "engine/store_recovery.hpp"
#include "store/open_store.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/workloads/match_workloads.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::tools {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// The workload trades instrument 1 at prices 1,000,000..4,000,000 in ticks of 100 with accounts
// below 64; a profile that cannot take that would only produce rejections.
void require_fitting_profile(const engine::ShardLayout& layout, const Workload& workload) {
    const book::InstrumentSpec& want = workload.instruments.front();
    const auto found = std::find_if(layout.instruments.begin(), layout.instruments.end(),
                                    [&](const book::InstrumentSpec& s) { return s.id == want.id; });
    if (found == layout.instruments.end() || found->tick_size != want.tick_size ||
        found->lot_size != want.lot_size || found->min_price > want.min_price ||
        found->max_price < want.max_price || found->max_order_quantity < want.max_order_quantity ||
        layout.limits.max_accounts < workload.limits.max_accounts) {
        throw CliError(
            "the profile needs instrument id 1 with tick_size=100 lot_size=1, a band covering "
            "1000000..4000000, max_order_quantity >= 1000000 and max_accounts >= 64 (the shipped "
            "profiles' AMZN)");
    }
}

void append(wal::WalWriter& writer, std::uint16_t type, std::span<const std::byte> payload) {
    for (;;) {
        const wal::AppendResult result = writer.try_append(type, payload);
        if (result.status == wal::AppendStatus::Ok) {
            return;
        }
        if (result.status != wal::AppendStatus::Busy) {
            throw std::runtime_error(std::string("WAL append failed: ") +
                                     wal::to_string(result.status) + " " + writer.failure());
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
}

}  // namespace

int bench_recover_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {{"config", true},
                                             {"data-dir", true},
                                             {"tail", true},
                                             {"store-records", true},
                                             {"seed", true}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional()[0] + "'");
    }
    if (!args.has("data-dir")) {
        throw CliError("--data-dir DIR is required (a new or empty directory)");
    }
    const std::uint64_t tail = args.unsigned_or("tail", 1'000'000, 1, 100'000'000);
    const std::uint64_t stored = args.unsigned_or("store-records", 100'000, 0, 100'000'000);
    const std::uint64_t seed = args.unsigned_or("seed", 1);
    // --data-dir replaces [server] data_dir, as exchanged's own flag does, so the WAL and the store
    // land where `exchanged --data-dir` looks for them.
    exchanged::ConfigOverrides overrides;
    overrides.data_dir = args.text("data-dir");
    const exchanged::Config config =
        exchanged::load_config(args.text_or("config", "config/standard.ini"), overrides);
    if (!config.persistence.enable_wal) {
        throw CliError("profile " + config.source_path + " has enable_wal = false: no WAL tail");
    }
    std::error_code error;
    if (std::filesystem::exists(config.persistence.wal_path, error) ||
        (config.persistence.store == exchanged::StoreKind::Sqlite &&
         std::filesystem::exists(config.persistence.store_path, error))) {
        throw CliError("--data-dir " + config.server.data_dir.string() +
                       " already holds a WAL or a store; give a new directory");
    }
    std::filesystem::create_directories(config.persistence.wal_path);

    const engine::ShardLayout layout = engine::make_shard_layout(config);
    const Clock::time_point generate_start = Clock::now();
    const Workload workload = make_mix_workload(stored + tail, seed);
    require_fitting_profile(layout, workload);
    const engine::ShardId shard = layout.shard_of(workload.instruments.front().id);
    const std::uint64_t checkpoint_every = engine::checkpoint_every(config);

    // The checkpoints' hashes come from the profile's own matcher, as the live shard's would.
    book::Matcher matcher = layout.make_matcher(shard);
    std::vector<book::Event> events;
    events.reserve(1024);
    std::uint64_t event_count = 0;
    std::uint64_t records = 0;
    {
        wal::UringStorage storage(config.persistence.wal_path.string());
        wal::WalOptions options = engine::wal_options(config, false);
        options.batch_size = 4096;  // preparing is not what is measured
        wal::WalWriter writer(storage, options);
        engine::CommandRecordBytes command_bytes;
        engine::CheckpointRecordBytes checkpoint_bytes;
        for (std::size_t i = 0; i < workload.commands.size(); ++i) {
            book::Command command = workload.commands[i];
            command.seq = i + 1;
            engine::encode_command(shard, command, command_bytes);
            append(writer, engine::kCommandRecordType, command_bytes);
            ++records;
            events.clear();
            matcher.apply(command, events);
            event_count += events.size();
            if (checkpoint_every != 0 && command.seq % checkpoint_every == 0) {
                engine::encode_checkpoint({shard, command.seq, matcher.state_hash()},
                                          checkpoint_bytes);
                append(writer, engine::kCheckpointRecordType, checkpoint_bytes);
                ++records;
            }
        }
        writer.close();
        if (writer.state() == wal::WalState::Failed) {
            throw std::runtime_error("WAL failed: " + writer.failure());
        }
    }
    std::printf("bench recover: WAL %s: %llu records (%llu commands, %llu events) in %.1f s\n",
                config.persistence.wal_path.c_str(), static_cast<unsigned long long>(records),
                static_cast<unsigned long long>(workload.commands.size()),
                static_cast<unsigned long long>(event_count), seconds_since(generate_start));

    // The store part: the first --store-records commands' records (their checkpoints included),
    // written by recovery itself, so the store is what a daemon would have left behind.
    const Clock::time_point store_start = Clock::now();
    std::unique_ptr<store::Store> primary = store::open_store(engine::store_settings(config));
    primary->migrate();
    if (stored > 0) {
        engine::RecoveryOptions options;
        options.stop_after_lsn = stored + (checkpoint_every == 0 ? 0 : stored / checkpoint_every);
        const engine::StoreRecoveryResult result =
            engine::recover_from_store(*primary, config.persistence.wal_path, layout, options);
        if (!result.replay.ok()) {
            throw std::runtime_error("writing the store part failed: " + result.replay.error);
        }
    }
    const std::uint64_t store_lsn = primary->store_lsn();
    std::printf(
        "bench recover: store %s at LSN %llu (%.1f s); the WAL tail above it: %llu records\n"
        "bench recover: now time `exchanged --config %s --data-dir %s --recover`\n",
        primary->describe().c_str(), static_cast<unsigned long long>(store_lsn),
        seconds_since(store_start), static_cast<unsigned long long>(records - store_lsn),
        config.source_path.c_str(), config.server.data_dir.c_str());
    return 0;
}

}  // namespace exchanged::tools
