// The WAL replay of `exchangectl reconcile`: every record from LSN 1 through the matching code
// into a fresh, temporary SQLite store (engine::recover_from_store from an empty store), whose
// rows are what the primary store must hold. It needs the whole log: once the daemon has recycled
// the segments that reached the store, the replay is skipped and says so.
#pragma once

#include <filesystem>
#include <optional>

#include "config/config.hpp"
#include "engine/recovery.hpp"
#include "engine/shard_layout.hpp"
#include "tools/store/check_result.hpp"
#include "tools/store/store_rows.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::tools {

struct WalReplay {
    CheckResult check{"WAL replay"};  // passed, skipped (with why) or failed (with the error)
    std::optional<StoreRows> rows;    // the replayed store's rows when it passed
};

// Replays config's WAL; the temporary store is removed before returning.
WalReplay replay_wal(const exchanged::Config& config, const engine::ShardLayout& layout,
                     const engine::RecoveryOptions& options);

// The first LSN of the oldest segment in `wal_dir`, read from the file names; nothing when the
// directory holds no segment.
std::optional<wal::Lsn> oldest_segment_lsn(const std::filesystem::path& wal_dir);

}  // namespace exchanged::tools
