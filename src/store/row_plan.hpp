// What a batch does to the tables, decided once for every backend (docs/store.md "Event to
// rows"): the row steps in the order they must run, each with its values in the column order of
// its statement. A backend only binds and runs them, so SQLite and PostgreSQL cannot drift apart.
// Every event step is an insert whose outcome does not depend on the others' order (a duplicate
// key fails wherever it runs), so a backend may run them grouped by table in multi-row statements.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/batch_plan.hpp"
#include "store/open_orders.hpp"
#include "store/store.hpp"

namespace exchanged::store {

// Columns per inserted row, as in the schema.
inline constexpr std::size_t kOrderColumns = 16;   // orders, every column
inline constexpr std::size_t kChangeColumns = 10;  // order_changes, every column
inline constexpr std::size_t kTradeColumns = 14;   // trades, every column
inline constexpr std::size_t kAuditColumns = 19;   // audit_log, every column

// Value positions in an orders row. finished_lsn 0 and finished_pos -1 stand for NULL (the
// statements turn them into NULL): an order still open.
namespace order_column {
inline constexpr std::size_t kPrice = 6, kLeaves = 8, kExecuted = 9, kState = 10, kPriority = 12,
                             kFinishedLsn = 14, kFinishedPos = 15;
}
// A value that stands for NULL in one column. A backend binds or sends NULL itself rather than
// asking the database to turn the value into NULL (SQLite: a function such as nullif() in an
// INSERT makes it keep a statement journal, a copy of every page the statement changes).
struct NullWhen {
    std::size_t column = 0;
    std::int64_t value = 0;
};
inline constexpr std::array<NullWhen, 2> kOrderNulls = {
    {{order_column::kFinishedLsn, 0}, {order_column::kFinishedPos, -1}}};
// Whether `value` in `column` stands for NULL.
inline bool stands_for_null(std::span<const NullWhen> nulls, std::size_t column,
                            std::int64_t value) {
    for (const NullWhen& n : nulls) {
        if (n.column == column && n.value == value) {
            return true;
        }
    }
    return false;
}

// What an order_changes row records (its kind column); the row holds the order's columns after it.
enum class ChangeKind : std::int64_t { Trade = 1, Cancel = 2, Replace = 3 };

enum class RowOp : std::uint8_t {
    InsertOrder,    // every orders column, as the batch leaves the order
    AppendChange,   // every order_changes column: lsn, pos, shard, order_id, kind, state, price,
                    // leaves, executed, priority
    InsertTrade,    // every trades column
    InsertAudit,    // every audit_log column
    RaiseCounters,  // shard, next_seq, next_order_id, next_trade_id
    SetStoreLsn,    // last_lsn
};

// An update that must find exactly one row: the meta row. Touching none means the store is
// damaged, and the batch is refused.
bool must_touch_one_row(RowOp op);

// For the batch's own steps (counters and store_lsn), which belong to no event.
inline constexpr std::size_t kBatchStep = std::numeric_limits<std::size_t>::max();

struct RowStep {
    RowOp op = RowOp::InsertOrder;
    std::size_t event = kBatchStep;  // index in StoreBatch::events
    std::uint32_t first = 0;         // its values in RowPlan's value store
    std::uint32_t count = 0;
};

// An event the store refuses (the batch with it): one that changes an order the store does not
// hold open, or one without a seq.
struct RowRefusal {
    std::size_t event = 0;
    std::string message;
};

// Every order is inserted once, with its columns as the batch leaves it; a later batch's change
// of it is appended to order_changes (one row per order and batch, as the batch leaves it), and
// folded into orders before anything reads them (docs/store.md "Schema v2"). Whether an order is
// open, and what a replace does to its time priority, comes from open_orders(), which the
// backend loads before the first batch.
class RowPlan {
  public:
    // Plans batch.events[first ..] (the events above store_lsn, from plan_batch()). It stops
    // before a refused event: that event is refused after the steps before it ran, so the
    // failure reported is the first one in event order, and the batch's own steps are left out.
    void build(const StoreBatch& batch, std::size_t first, bool audit_log);
    // The batch's transaction committed at store_lsn `last_lsn`.
    void committed(StoreLsn last_lsn) { open_.commit(last_lsn); }

    OpenOrders& open_orders() { return open_; }
    std::span<const RowStep> steps() const { return steps_; }
    std::span<const std::int64_t> values(const RowStep& step) const {
        return std::span(values_).subspan(step.first, step.count);
    }
    const std::optional<RowRefusal>& refusal() const { return refusal_; }

  private:
    void add_event(const StoreEvent& e, std::size_t index, std::int64_t position, bool audit_log);
    // Applies a change to an open order: rewrites the batch's row of the order, or appends one.
    void change(OrderSlot& slot, const StoreEvent& e, std::size_t index, OrderId order_id,
                ChangeKind kind, std::int64_t pos);
    void refuse_missing(std::size_t index, const char* what, OrderId order_id);
    void add_batch_steps(StoreLsn last_lsn);
    std::uint32_t add(RowOp op, std::size_t event, std::span<const std::int64_t> values);

    std::vector<RowStep> steps_;
    std::vector<std::int64_t> values_;
    std::vector<ShardCounters> counters_;
    std::optional<RowRefusal> refusal_;
    OpenOrders open_;
};

// How a batch's failure starts: "<database>: LSN <lsn> shard <shard>: " for an event's step,
// "<database>: apply batch <first>..<last>: " for the batch's own.
std::string step_context(const std::string& database, const StoreBatch& batch, std::size_t event);
// Why a step that must touch one row touched none.
std::string missing_row_message(const RowStep& step);

}  // namespace exchanged::store
