// The checks of `exchangectl reconcile` on rows already read (docs/tools.md): the store on its
// own, the store against a replay of the WAL into an empty store, and positions between the
// store, the replay and an acknowledgement journal's fills. The WAL replay itself is in
// tools/wal_replay.hpp; this part needs no WAL, so tests feed it hand-made rows.
#pragma once

#include <vector>

#include "engine/shard_layout.hpp"
#include "tools/client/journal_contents.hpp"
#include "tools/store/check_result.hpp"
#include "tools/store/profile_names.hpp"
#include "tools/store/store_rows.hpp"

namespace exchanged::tools {

// `replay` and `journal` are optional (nullptr): without them their comparisons are left out.
std::vector<CheckResult> reconcile(const StoreRows& store, const StoreRows* replay,
                                   const JournalContents* journal,
                                   const engine::ShardLayout& layout, const ProfileNames& names);

}  // namespace exchanged::tools
