#include "tools/store/reconcile.hpp"

#include <string>

#include "tools/store/positions.hpp"
#include "tools/store/store_compare.hpp"
#include "tools/store/store_consistency.hpp"

namespace exchanged::tools {
namespace {

// The store may end below the replay: trailing records without events (checkpoints) need not
// reach it. Above the replay it would hold events the WAL never logged.
CheckResult compare_store_lsn(const StoreRows& store, const StoreRows& replay) {
    CheckResult check("store vs replay: store_lsn");
    const std::string both =
        "store " + std::to_string(store.store_lsn) + ", replay " + std::to_string(replay.store_lsn);
    if (store.store_lsn > replay.store_lsn) {
        check.fail(both + ": the store holds LSNs the WAL does not");
    } else {
        check.pass();
        check.set_detail(both);
    }
    return check;
}

CheckResult compare_replay_positions(const StoreRows& store, const StoreRows& replay,
                                     const ProfileNames& names) {
    CheckResult check("store vs replay: positions");
    compare_positions(positions_of(store), "store", positions_of(replay), "replay", names, check);
    check.set_detail(std::to_string(check.passed()) + " account/instrument positions equal");
    return check;
}

CheckResult compare_journal_positions(const StoreRows& store, const JournalContents& journal,
                                      const engine::ShardLayout& layout,
                                      const ProfileNames& names) {
    CheckResult check("journal vs store: positions");
    const JournalPositions positions = journal_positions(journal, store, layout, names);
    if (positions.unknown_accounts > 0) {
        check.fail(std::to_string(positions.unknown_accounts) +
                   " fills of accounts the profile does not have");
    }
    compare_positions(positions.journal, "journal", positions.store, "store", names, check);
    check.set_detail(std::to_string(check.passed()) + " account/instrument positions over " +
                     std::to_string(positions.fills) + " journaled fills equal");
    return check;
}

}  // namespace

std::vector<CheckResult> reconcile(const StoreRows& store, const StoreRows* replay,
                                   const JournalContents* journal,
                                   const engine::ShardLayout& layout, const ProfileNames& names) {
    std::vector<CheckResult> checks = check_store_consistency(store, names);
    if (replay != nullptr) {
        checks.push_back(compare_store_lsn(store, *replay));
        checks.push_back(compare_orders(store, "store", *replay, "replay"));
        checks.push_back(compare_trades(store, "store", *replay, "replay"));
        checks.push_back(compare_replay_positions(store, *replay, names));
    }
    if (journal != nullptr) {
        checks.push_back(compare_journal_positions(store, *journal, layout, names));
    }
    return checks;
}

}  // namespace exchanged::tools
