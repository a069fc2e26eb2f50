#include "tools/store/wal_replay.hpp"

#include <exception>
#include <string>

#include "engine/store_recovery.hpp"
#include "store/open_store.hpp"
#include "tools/store/scratch_dir.hpp"
#include "wal/segment_format.hpp"

namespace exchanged::tools {
namespace {

std::string replay_detail(const engine::StoreRecoveryResult& result, const StoreRows& rows) {
    return "LSN 1.." + std::to_string(result.replay.last_lsn) + ": " +
           std::to_string(result.replay.records) + " records (" +
           std::to_string(result.replay.checkpoints_verified) +
           " checkpoints matched the live state hash), " + std::to_string(result.events_written) +
           " events in " + std::to_string(result.batches) +
           (result.batches == 1 ? " batch; " : " batches; ") + std::to_string(rows.orders.size()) +
           " orders, " + std::to_string(rows.trades.size()) + " trades";
}

}  // namespace

std::optional<wal::Lsn> oldest_segment_lsn(const std::filesystem::path& wal_dir) {
    std::optional<wal::Lsn> oldest;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(wal_dir, error)) {
        const std::optional<wal::Lsn> first =
            wal::parse_segment_file_name(entry.path().filename().string());
        if (first && (!oldest || *first < *oldest)) {
            oldest = first;
        }
    }
    return oldest;
}

WalReplay replay_wal(const exchanged::Config& config, const engine::ShardLayout& layout,
                     const engine::RecoveryOptions& options) {
    WalReplay out;
    const std::filesystem::path& wal_dir = config.persistence.wal_path;
    if (!config.persistence.enable_wal) {
        out.check.skip("the profile keeps no WAL (enable_wal = false)");
        return out;
    }
    const std::optional<wal::Lsn> oldest = oldest_segment_lsn(wal_dir);
    if (!oldest) {
        out.check.skip("no WAL segment in " + wal_dir.string());
        return out;
    }
    if (*oldest > 1) {
        out.check.skip("the WAL starts at LSN " + std::to_string(*oldest) +
                       " (older segments were recycled after they reached the store)");
        return out;
    }
    try {
        const ScratchDir scratch("exchangectl-reconcile");
        store::StoreSettings settings;
        settings.sqlite_path = scratch.path() / "replay.sqlite";
        const std::unique_ptr<store::Store> replayed = store::open_store(settings);
        const engine::StoreRecoveryResult result =
            engine::recover_from_store(*replayed, wal_dir, layout, options);
        if (!result.replay.ok()) {
            out.check.fail(
                std::string(engine::to_string(result.replay.status)) + ": " +
                (result.replay.error.empty() ? result.replay.log.describe() : result.replay.error));
            return out;
        }
        out.rows = read_store_rows(*replayed);
        out.check.pass();
        out.check.set_detail(replay_detail(result, *out.rows));
    } catch (const std::exception& error) {
        out.check.fail(error.what());
    }
    return out;
}

}  // namespace exchanged::tools
