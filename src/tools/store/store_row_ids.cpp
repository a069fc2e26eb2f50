#include "tools/store/store_row_ids.hpp"

#include <string>
#include <utility>
#include <vector>

namespace exchanged::tools {
namespace {

// Follows one kind of id through rows ordered by (shard, id) and reports each gap once, as a
// range, and each row out of place: on a shard the profile lacks, at or above the shard's
// counter, or out of order (id 0, or a key whose damage a dump carried over: a text column sorts
// after every number and reads as 0).
class IdWalk {
  public:
    IdWalk(const char* what, std::vector<std::uint64_t> next, CheckResult& check,
           std::uint64_t& missing, std::uint64_t& misplaced)
        : what_(what),
          next_(std::move(next)),
          expected_(next_.size(), 1),
          check_(check),
          missing_(missing),
          misplaced_(misplaced) {}

    void see(std::uint32_t shard, std::uint64_t id) {
        const std::string row =
            std::string(what_) + " " + std::to_string(id) + " of shard " + std::to_string(shard);
        if (shard >= next_.size()) {
            return misplace(row + ": the profile has no such shard");
        }
        if (id >= next_[shard]) {
            return misplace(row + " is at or above the shard's counter " +
                            std::to_string(next_[shard]) +
                            " (the shard_meta row is behind or lost)");
        }
        if (id < expected_[shard]) {
            return misplace(row + " is out of order (a damaged row?)");
        }
        gap(shard, id);
        check_.pass();
        expected_[shard] = id + 1;
    }

    void finish() {
        for (std::uint32_t shard = 0; shard < next_.size(); ++shard) {
            gap(shard, next_[shard]);
        }
    }

  private:
    void misplace(std::string problem) {
        ++misplaced_;
        check_.fail(std::move(problem));
    }

    void gap(std::uint32_t shard, std::uint64_t upto) {
        if (upto <= expected_[shard]) {
            return;
        }
        const std::uint64_t count = upto - expected_[shard];
        missing_ += count;
        check_.fail(std::string(what_) + " ids " + std::to_string(expected_[shard]) + ".." +
                    std::to_string(upto - 1) + " of shard " + std::to_string(shard) +
                    " are missing (" + std::to_string(count) + " rows)");
        expected_[shard] = upto;
    }

    const char* what_;
    std::vector<std::uint64_t> next_;
    std::vector<std::uint64_t> expected_;
    CheckResult& check_;
    std::uint64_t& missing_;
    std::uint64_t& misplaced_;
};

}  // namespace

RowIdReport check_row_ids(store::Store& store, std::uint32_t shard_count) {
    // No finished window: only the counters are wanted (and the open orders come along).
    const store::StoreState state = store.load(shard_count, 0);
    std::vector<std::uint64_t> next_order;
    std::vector<std::uint64_t> next_trade;
    for (const store::ShardState& shard : state.shards) {
        next_order.push_back(shard.snapshot.next_order_id);
        next_trade.push_back(shard.snapshot.next_trade_id);
    }
    RowIdReport report;
    IdWalk orders("order", next_order, report.orders, report.missing_orders, report.misplaced_rows);
    store.read_orders([&](const store::StoredOrder& o) { orders.see(o.shard, o.order_id); });
    orders.finish();
    IdWalk trades("trade", next_trade, report.trades, report.missing_trades, report.misplaced_rows);
    store.read_trades([&](const store::StoredTrade& t) { trades.see(t.shard, t.trade_id); });
    trades.finish();
    return report;
}

}  // namespace exchanged::tools
