#include "store/sqlite_row_source.hpp"

#include <sqlite3.h>

#include <new>
#include <utility>

namespace exchanged::store {
namespace {

struct Table {
    sqlite3_vtab base{};
    const SqliteRowSource* source = nullptr;
};

struct Cursor {
    sqlite3_vtab_cursor base{};
    const SqliteRowSource* source = nullptr;
    std::size_t row = 0;
};

int x_connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
    const auto* source = static_cast<const SqliteRowSource*>(aux);
    if (const int rc = sqlite3_declare_vtab(db, source->schema().c_str()); rc != SQLITE_OK) {
        return rc;
    }
    // Only the store's own statements read it: never a trigger or view that the file holds.
    sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
    auto* table = new (std::nothrow) Table;
    if (table == nullptr) {
        return SQLITE_NOMEM;
    }
    table->source = source;
    *out = &table->base;
    return SQLITE_OK;
}

int x_disconnect(sqlite3_vtab* table) {
    delete reinterpret_cast<Table*>(table);
    return SQLITE_OK;
}

int x_best_index(sqlite3_vtab*, sqlite3_index_info* info) {
    info->estimatedCost = 1e6;  // one full scan, the only plan there is
    return SQLITE_OK;
}

int x_open(sqlite3_vtab* table, sqlite3_vtab_cursor** out) {
    auto* cursor = new (std::nothrow) Cursor;
    if (cursor == nullptr) {
        return SQLITE_NOMEM;
    }
    cursor->source = reinterpret_cast<Table*>(table)->source;
    *out = &cursor->base;
    return SQLITE_OK;
}

int x_close(sqlite3_vtab_cursor* cursor) {
    delete reinterpret_cast<Cursor*>(cursor);
    return SQLITE_OK;
}

int x_filter(sqlite3_vtab_cursor* cursor, int, const char*, int, sqlite3_value**) {
    reinterpret_cast<Cursor*>(cursor)->row = 0;
    return SQLITE_OK;
}

int x_next(sqlite3_vtab_cursor* cursor) {
    ++reinterpret_cast<Cursor*>(cursor)->row;
    return SQLITE_OK;
}

int x_eof(sqlite3_vtab_cursor* cursor) {
    const auto* c = reinterpret_cast<Cursor*>(cursor);
    return c->row >= c->source->rows().size() ? 1 : 0;
}

int x_column(sqlite3_vtab_cursor* cursor, sqlite3_context* context, int index) {
    const auto* c = reinterpret_cast<Cursor*>(cursor);
    const auto column = static_cast<std::size_t>(index);
    const std::int64_t value = c->source->rows()[c->row][column];
    if (c->source->reads_null(column, value)) {
        sqlite3_result_null(context);
    } else {
        sqlite3_result_int64(context, value);
    }
    return SQLITE_OK;
}

int x_rowid(sqlite3_vtab_cursor* cursor, sqlite3_int64* out) {
    *out = static_cast<sqlite3_int64>(reinterpret_cast<Cursor*>(cursor)->row);
    return SQLITE_OK;
}

// No xCreate: an eponymous-only table, which exists on the connection without a CREATE VIRTUAL
// TABLE in the file. Read only: every other callback stays null.
sqlite3_module make_module() {
    sqlite3_module m{};
    m.xConnect = x_connect;
    m.xBestIndex = x_best_index;
    m.xDisconnect = x_disconnect;
    m.xDestroy = x_disconnect;
    m.xOpen = x_open;
    m.xClose = x_close;
    m.xFilter = x_filter;
    m.xNext = x_next;
    m.xEof = x_eof;
    m.xColumn = x_column;
    m.xRowid = x_rowid;
    return m;
}
const sqlite3_module kModule = make_module();

}  // namespace

SqliteRowSource::SqliteRowSource(SqliteDb& db, std::string name, std::size_t columns,
                                 std::span<const NullWhen> nulls)
    : name_(std::move(name)), columns_(columns), nullable_(columns, 0), null_value_(columns, 0) {
    schema_ = "CREATE TABLE x(";
    for (std::size_t c = 0; c < columns_; ++c) {
        schema_ += (c == 0 ? "c" : ", c") + std::to_string(c) + " INTEGER";
    }
    schema_ += ')';
    for (const NullWhen& n : nulls) {
        nullable_.at(n.column) = 1;
        null_value_.at(n.column) = n.value;
    }
    if (sqlite3_create_module_v2(db.handle(), name_.c_str(), &kModule, this, nullptr) !=
        SQLITE_OK) {
        db.fail("register the virtual table " + name_);
    }
}

std::string SqliteRowSource::select_list() const {
    std::string sql;
    for (std::size_t c = 0; c < columns_; ++c) {
        sql += (c == 0 ? "c" : ", c") + std::to_string(c);
    }
    return sql + " FROM " + name_;
}

}  // namespace exchanged::store
