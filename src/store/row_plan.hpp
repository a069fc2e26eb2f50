// What a batch does to the tables, decided once for every backend (docs/store.md "Event to
// rows"): the row steps in the order they must run, each with its values in the column order of
// its statement. A backend only binds and runs them, so SQLite and PostgreSQL cannot drift apart;
// PostgreSQL may merge the inserts into bulk statements when that keeps the outcome the same.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/batch_plan.hpp"
#include "store/store.hpp"

namespace exchanged::store {

// Columns per inserted row, as in the schema.
inline constexpr std::size_t kOrderColumns = 12;  // orders, shard .. accepted_lsn
inline constexpr std::size_t kTradeColumns = 14;  // trades, every column
inline constexpr std::size_t kAuditColumns = 19;  // audit_log, every column

enum class RowOp : std::uint8_t {
    InsertOrder,    // the orders columns shard .. accepted_lsn (executed, state: defaults)
    TradeOrder,     // shard, order_id, leaves, traded quantity, lsn, finished_pos
    CancelOrder,    // shard, order_id, lsn, finished_pos
    ReplaceOrder,   // shard, order_id, price, leaves, quantity, seq
    InsertTrade,    // every trades column
    InsertAudit,    // every audit_log column
    RaiseCounters,  // shard, next_seq, next_order_id, next_trade_id
    SetStoreLsn,    // last_lsn
};

// An update that must find exactly one row: an open order, or the meta row. Touching none means
// the batch does not fit the store, and it is refused.
bool must_touch_one_row(RowOp op);

// For the batch's own steps (counters and store_lsn), which belong to no event.
inline constexpr std::size_t kBatchStep = std::numeric_limits<std::size_t>::max();

struct RowStep {
    RowOp op = RowOp::InsertOrder;
    std::size_t event = kBatchStep;  // index in StoreBatch::events
    const char* what = "";           // an order update, in messages: "cancel of", ...
    std::uint32_t first = 0;         // its values in RowPlan's value store
    std::uint32_t count = 0;
};

class RowPlan {
  public:
    // Plans batch.events[first ..] (the events above store_lsn, from plan_batch()). It stops
    // before an event without a seq: that event is refused after the steps before it ran, so the
    // failure reported is the first one in event order, and the batch's own steps are left out.
    void build(const StoreBatch& batch, std::size_t first, bool audit_log);

    std::span<const RowStep> steps() const { return steps_; }
    std::span<const std::int64_t> values(const RowStep& step) const {
        return std::span(values_).subspan(step.first, step.count);
    }
    // The event without a seq that ended the plan.
    std::optional<std::size_t> unsequenced() const { return unsequenced_; }

  private:
    void add_event(const StoreEvent& e, std::size_t index, std::int64_t position, bool audit_log);
    void add_batch_steps(StoreLsn last_lsn);
    void add(RowOp op, std::size_t event, const char* what, std::span<const std::int64_t> values);

    std::vector<RowStep> steps_;
    std::vector<std::int64_t> values_;
    std::vector<ShardCounters> counters_;
    std::optional<std::size_t> unsequenced_;
};

// How a batch's failure starts: "<database>: LSN <lsn> shard <shard>: " for an event's step,
// "<database>: apply batch <first>..<last>: " for the batch's own.
std::string step_context(const std::string& database, const StoreBatch& batch, std::size_t event);
// Why a step that must touch one row touched none, e.g. "cancel of order 7, which the store does
// not hold open".
std::string missing_row_message(const RowPlan& plan, const RowStep& step);
// Why an event without a seq is refused.
inline constexpr const char* kUnsequencedMessage =
    "an event without a seq (a command refused before it was logged)";

}  // namespace exchanged::store
