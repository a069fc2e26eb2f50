// PostgresStore::apply(): one batch into rows, in one transaction, with the same rows and the same
// refusals as SqliteStore::apply() (docs/store.md): both run the batch's row plan (row_plan.hpp).
// Round trips per batch: BEGIN with the meta row locked, two per table the batch writes (COPY),
// one pipeline for the counters and store_lsn, COMMIT.
//
// Every event's step is an insert, so a batch first goes the bulk way: its new orders, order
// changes, trades and audit rows by one COPY per table (postgres_copy.hpp). A bulk batch that
// fails is rolled back and applied again strictly in event order, one statement per row, so that
// the failure reported is the one of the first failing event, exactly as SQLite reports it.
#include <optional>
#include <span>
#include <string>

#include "store/batch_plan.hpp"
#include "store/postgres_connection.hpp"
#include "store/postgres_copy.hpp"
#include "store/postgres_pipeline.hpp"
#include "store/postgres_statements.hpp"
#include "store/postgres_store.hpp"

namespace exchanged::store {
namespace {

PgStatement statement_for(RowOp op) {
    switch (op) {
        case RowOp::InsertOrder:
            return PgStatement::InsertOrder;
        case RowOp::AppendChange:
            return PgStatement::AppendChange;
        case RowOp::InsertTrade:
            return PgStatement::InsertTrade;
        case RowOp::InsertAudit:
            return PgStatement::InsertAudit;
        case RowOp::RaiseCounters:
            return PgStatement::RaiseCounters;
        case RowOp::SetStoreLsn:
            return PgStatement::SetStoreLsn;
    }
    throw StoreError("internal: a row step without a PostgreSQL statement");
}

void send_step(PgPipeline& pipeline, const RowPlan& rows, std::size_t index) {
    const RowStep& step = rows.steps()[index];
    pipeline.send(pg_statement(statement_for(step.op)).name, PgParams(rows.values(step)), index,
                  must_touch_one_row(step.op) ? 1 : -1);
}

// The failure of a strict attempt, worded as SQLite words it.
[[noreturn]] void throw_refused_step(const std::string& name, const StoreBatch& batch,
                                     const RowPlan& rows, const PgPipeline::Failure& failure) {
    const RowStep& step = rows.steps()[failure.tag];
    const std::string context = step_context(name, batch, step.event);
    if (failure.row_count) {
        throw StoreError(context + missing_row_message(step));
    }
    throw StoreError(context + "execute " + pg_statement(statement_for(step.op)).name + ": " +
                     failure.message);
}

}  // namespace

void PostgresStore::apply(const StoreBatch& batch) {
    ready();
    const std::string range =
        "batch " + std::to_string(batch.first_lsn) + ".." + std::to_string(batch.last_lsn);
    if (!apply_once(batch, range, true)) {
        apply_once(batch, range, false);
    }
}

bool PostgresStore::apply_once(const StoreBatch& batch, const std::string& range, bool bulk) {
    // The row lock orders concurrent writers: a second one waits, then sees the new store_lsn.
    PgTransaction transaction(*connection_,
                              "BEGIN; SELECT store_lsn FROM meta WHERE id = 0 FOR UPDATE",
                              "apply " + range);
    if (transaction.begin_result().rows() != 1) {
        throw StoreError(name_ + ": apply " + range + ": the meta row is missing");
    }
    const StoreLsn lsn = transaction.begin_result().u64(0, 0);
    const BatchPlan plan = plan_batch(batch, lsn);
    if (plan.skip) {
        return true;  // the transaction rolls back: nothing was written
    }
    if (!rows_.open_orders().loaded_at(lsn)) {
        load_open_orders(lsn);
    }
    rows_.build(batch, plan.first, options_.audit_log);
    if (bulk) {
        if (!send_with_copy(range)) {
            return false;  // rolled back; the strict way finds and reports the failing event
        }
    } else if (const std::optional<PgPipeline::Failure> failure = send_in_event_order()) {
        throw_refused_step(name_, batch, rows_, *failure);
    }
    if (rows_.refusal()) {
        throw StoreError(step_context(name_, batch, rows_.refusal()->event) +
                         rows_.refusal()->message);
    }
    commit_batch(transaction, batch, range);
    rows_.committed(batch.last_lsn);
    return true;
}

PgCopyRows* PostgresStore::copy_rows_for(RowOp op) {
    switch (op) {
        case RowOp::InsertOrder:
            return &orders_;
        case RowOp::InsertTrade:
            return &trades_;
        case RowOp::InsertAudit:
            return &audits_;
        case RowOp::AppendChange:
            return &changes_;
        case RowOp::RaiseCounters:
        case RowOp::SetStoreLsn:
            return nullptr;
    }
    return nullptr;
}

bool PostgresStore::send_with_copy(const std::string& range) {
    PgCopyRows* const tables[] = {&orders_, &changes_, &trades_, &audits_};
    for (PgCopyRows* rows : tables) {
        rows->clear();
    }
    const std::span<const RowStep> steps = rows_.steps();
    for (const RowStep& step : steps) {
        if (PgCopyRows* rows = copy_rows_for(step.op)) {
            rows->add_row(rows_.values(step));
        }
    }
    for (PgCopyRows* rows : tables) {
        if (rows->rows() != 0 &&
            pg_copy_in(*connection_, *rows, "apply " + range, options_.during_copy)) {
            return false;
        }
    }
    PgPipeline pipeline(*connection_);
    for (std::size_t i = 0; i < steps.size(); ++i) {
        if (steps[i].event == kBatchStep) {
            send_step(pipeline, rows_, i);  // counters and store_lsn, last as in the plan
        }
    }
    return !pipeline.finish();
}

std::optional<PgPipeline::Failure> PostgresStore::send_in_event_order() {
    PgPipeline pipeline(*connection_);
    for (std::size_t i = 0; i < rows_.steps().size(); ++i) {
        send_step(pipeline, rows_, i);
    }
    return pipeline.finish();
}

}  // namespace exchanged::store
