// Where a follower's hot standby starts (docs/replication.md, "Hot standby"): the books its store
// holds, at store_lsn, and nothing from the WAL tail above it. The standby applies and stores only
// records the leader reported committed, so its store_lsn is committed; the tail above it may hold
// records no quorum has (an older term's, which divergence repair may cut), and the applier takes
// them only once the leader's commit LSN covers them.
#pragma once

#include <filesystem>

#include "engine/recovery.hpp"
#include "engine/shard_layout.hpp"
#include "store/store.hpp"

namespace exchanged::repl {

// The matchers and seqs at the store's store_lsn (after_lsn). The WAL is checked to continue the
// store (it holds store_lsn and does not end before it); throws std::runtime_error naming the
// store, the WAL and what is wrong otherwise, and store::StoreError when the store fails. The WAL
// must not be open for writing yet (its segments are mapped).
engine::ReplayStart standby_start(store::Store& store, const std::filesystem::path& wal_dir,
                                  const engine::ShardLayout& layout);

}  // namespace exchanged::repl
