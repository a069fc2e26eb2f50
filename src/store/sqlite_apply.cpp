// SqliteStore::apply(): one batch into rows, in one transaction: the steps of the batch's row plan
// (row_plan.hpp), run one statement each in plan order.
#include <sqlite3.h>

#include <string>

#include "store/batch_plan.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_statements.hpp"
#include "store/sqlite_store.hpp"

namespace exchanged::store {
namespace {

SqliteStatement& statement_for(SqliteStatements& s, RowOp op) {
    switch (op) {
        case RowOp::InsertOrder:
            return s.insert_order;
        case RowOp::TradeOrder:
            return s.trade_order;
        case RowOp::CancelOrder:
            return s.cancel_order;
        case RowOp::ReplaceOrder:
            return s.replace_order;
        case RowOp::InsertTrade:
            return s.insert_trade;
        case RowOp::InsertAudit:
            return s.insert_audit;
        case RowOp::RaiseCounters:
            return s.raise_counters;
        case RowOp::SetStoreLsn:
            return s.set_store_lsn;
    }
    throw StoreError("internal: a row step without an SQLite statement");
}

}  // namespace

void SqliteStore::apply(const StoreBatch& batch) {
    SqliteStatements& s = statements();
    SqliteTransaction transaction(s.begin_write, s.commit, s.rollback);
    const BatchPlan plan = plan_batch(batch, store_lsn());
    if (plan.skip) {
        return;  // the transaction rolls back: nothing was written
    }
    rows_.build(batch, plan.first, options_.audit_log);
    for (const RowStep& step : rows_.steps()) {
        run_step(batch, step);
    }
    if (rows_.unsequenced()) {
        throw StoreError(step_context(db_->path().string(), batch, *rows_.unsequenced()) +
                         kUnsequencedMessage);
    }
    transaction.commit();
}

void SqliteStore::run_step(const StoreBatch& batch, const RowStep& step) {
    SqliteStatement& statement = statement_for(*statements_, step.op);
    const std::span<const std::int64_t> values = rows_.values(step);
    for (std::size_t i = 0; i < values.size(); ++i) {
        statement.bind(static_cast<int>(i + 1), values[i]);
    }
    statement.run();
    if (must_touch_one_row(step.op) && sqlite3_changes(db_->handle()) != 1) {
        throw StoreError(step_context(db_->path().string(), batch, step.event) +
                         missing_row_message(rows_, step));
    }
}

}  // namespace exchanged::store
