// SqliteStore::apply(): one batch into rows, in one transaction: the batch's row plan
// (row_plan.hpp), its inserts grouped by table into multi-row statements, then the batch's own
// steps (counters, store_lsn). A batch one of whose inserts breaks a constraint (which rolls the
// transaction back: INSERT OR ROLLBACK) is applied again strictly in event order, one row per
// statement, so that the failure reported is the first failing event's, as in PostgreSQL.
#include <sqlite3.h>

#include <string>

#include "store/batch_plan.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_statements.hpp"
#include "store/sqlite_store.hpp"

namespace exchanged::store {
namespace {

SqliteBulkInsert* bulk_insert_for(SqliteStatements& s, RowOp op) {
    switch (op) {
        case RowOp::InsertOrder:
            return &s.insert_orders;
        case RowOp::AppendChange:
            return &s.append_changes;
        case RowOp::InsertTrade:
            return &s.insert_trades;
        case RowOp::InsertAudit:
            return &s.insert_audits;
        case RowOp::RaiseCounters:
        case RowOp::SetStoreLsn:
            return nullptr;
    }
    return nullptr;
}

}  // namespace

void SqliteStore::apply(const StoreBatch& batch) {
    if (!apply_once(batch, true)) {
        apply_once(batch, false);
    }
}

bool SqliteStore::apply_once(const StoreBatch& batch, bool bulk) {
    SqliteStatements& s = statements();
    SqliteTransaction transaction(s.begin_write, s.commit, s.rollback);
    const StoreLsn lsn = store_lsn();
    const BatchPlan plan = plan_batch(batch, lsn);
    if (plan.skip) {
        return true;  // the transaction rolls back: nothing was written
    }
    if (!rows_.open_orders().loaded_at(lsn)) {
        load_open_orders(lsn);
    }
    rows_.build(batch, plan.first, options_.audit_log);
    const auto inserts = {&s.insert_orders, &s.append_changes, &s.insert_trades, &s.insert_audits};
    for (SqliteBulkInsert* insert : inserts) {
        insert->discard();  // rows of an earlier batch that failed midway
    }
    for (const RowStep& step : rows_.steps()) {
        if (SqliteBulkInsert* insert = bulk_insert_for(s, step.op)) {
            if (bulk) {
                insert->add(rows_.values(step));
            } else {
                insert->insert_one(rows_.values(step));
            }
        }
    }
    for (SqliteBulkInsert* insert : inserts) {
        if (!insert->flush()) {
            return false;  // rolled back; the strict way finds and reports the failing event
        }
    }
    for (const RowStep& step : rows_.steps()) {
        if (step.event == kBatchStep) {
            run_step(batch, step);
        }
    }
    if (rows_.refusal()) {
        throw StoreError(step_context(db_->path().string(), batch, rows_.refusal()->event) +
                         rows_.refusal()->message);
    }
    transaction.commit();
    rows_.committed(batch.last_lsn);
    return true;
}

void SqliteStore::run_step(const StoreBatch& batch, const RowStep& step) {
    SqliteStatement& statement =
        step.op == RowOp::SetStoreLsn ? statements_->set_store_lsn : statements_->raise_counters;
    const std::span<const std::int64_t> values = rows_.values(step);
    for (std::size_t i = 0; i < values.size(); ++i) {
        statement.bind(static_cast<int>(i + 1), values[i]);
    }
    statement.run();
    if (must_touch_one_row(step.op) && sqlite3_changes(db_->handle()) != 1) {
        throw StoreError(step_context(db_->path().string(), batch, step.event) +
                         missing_row_message(step));
    }
}

}  // namespace exchanged::store
