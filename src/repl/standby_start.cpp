#include "repl/standby_start.hpp"

#include <stdexcept>
#include <string>

#include "engine/store_recovery.hpp"

namespace exchanged::repl {

engine::ReplayStart standby_start(store::Store& store, const std::filesystem::path& wal_dir,
                                  const engine::ShardLayout& layout) {
    const store::StoreLsn stored = store.store_lsn();
    if (stored == 0) {
        return engine::load_from_store(store, layout);  // nothing for the WAL to continue
    }
    engine::RecoveryOptions recovery;
    recovery.map_segments = true;
    recovery.stop_after_lsn = stored;  // read up to the store's LSN, replay none of it
    engine::StoreRecoveryResult recovered =
        engine::rebuild_from_store(store, wal_dir, layout, recovery);
    if (!recovered.replay.ok()) {
        const std::string advice = engine::salvage_advice(recovered.replay);
        throw std::runtime_error("standby: recovering the follower's store " + store.describe() +
                                 " and WAL " + wal_dir.string() + " failed: " +
                                 recovered.replay.error + (advice.empty() ? "" : "; " + advice));
    }
    engine::ReplayStart start;
    start.after_lsn = stored;
    start.matchers = std::move(recovered.replay.matchers);
    for (const engine::ShardReplay& shard : recovered.replay.shards) {
        start.next_seq.push_back(shard.next_seq);
    }
    return start;
}

}  // namespace exchanged::repl
