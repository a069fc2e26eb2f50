// The DDL is written once per backend (sqlite_schema.cpp, postgres_schema.cpp), and both backends
// must write the same rows (row_plan.hpp). These tests hold the two migrated schemas to the same
// tables, columns in the same order, primary keys and unique keys, as each database reports them.
// Column types (INTEGER, BIGINT) and plain indexes (orders_open) may differ on purpose.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "store/postgres_schema.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_schema.hpp"
#include "store/sqlite_store.hpp"
#include "store_backends.hpp"

namespace exchanged::store {
namespace {

using test::BackendKind;
using test::TestDatabase;

struct TableShape {
    std::vector<std::string> columns;      // in table order
    std::vector<std::string> primary_key;  // in key order
    std::vector<std::string> unique_keys;  // "a,b" in key order, sorted; the primary key not
};

using SchemaShape = std::map<std::string, TableShape>;  // by table name

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) {
        out += (out.empty() ? "" : ",") + name;
    }
    return out;
}

// From PRAGMA table_info and index_list (as table-valued functions, to select from them). A
// unique key is a UNIQUE constraint or a unique index; origin 'pk' is the primary key's own index.
SchemaShape sqlite_shape(TestDatabase& db) {
    SchemaShape shape;
    for (const std::string& table :
         db.rows("SELECT name FROM sqlite_master WHERE type = 'table' "
                 "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")) {
        TableShape& t = shape[table];
        const std::string info = "pragma_table_info('" + table + "')";
        t.columns = db.rows("SELECT name FROM " + info + " ORDER BY cid");
        t.primary_key = db.rows("SELECT name FROM " + info + " WHERE pk > 0 ORDER BY pk");
        for (const std::string& index : db.rows("SELECT name FROM pragma_index_list('" + table +
                                                "') WHERE \"unique\" = 1 AND origin <> 'pk'")) {
            t.unique_keys.push_back(joined(
                db.rows("SELECT name FROM pragma_index_info('" + index + "') ORDER BY seqno")));
        }
        std::sort(t.unique_keys.begin(), t.unique_keys.end());
    }
    return shape;
}

// From information_schema, in the test database's own schema. Unique keys come from pg_index:
// information_schema lists UNIQUE constraints but not unique indexes, which SQLite's index_list
// reports alike.
SchemaShape postgres_shape(TestDatabase& db) {
    SchemaShape shape;
    for (const std::string& table :
         db.rows("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                 "current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name")) {
        TableShape& t = shape[table];
        t.columns = db.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = '" +
            table + "' ORDER BY ordinal_position");
        t.primary_key = db.rows(
            "SELECT k.column_name FROM information_schema.table_constraints c "
            "JOIN information_schema.key_column_usage k ON k.constraint_schema = "
            "c.constraint_schema AND k.constraint_name = c.constraint_name "
            "WHERE c.table_schema = current_schema() AND c.table_name = '" +
            table + "' AND c.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position");
        t.unique_keys = db.rows(
            "SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM pg_index i "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = to_regclass('" +
            table + "') AND i.indisunique AND NOT i.indisprimary GROUP BY i.indexrelid");
        std::sort(t.unique_keys.begin(), t.unique_keys.end());
    }
    return shape;
}

// schema_version as the store creates it, then every migration as written. Not migrate(): it
// also prepares the store's statements, and a column missing from one schema would fail there,
// before the comparison could name it.
void create_schema(TestDatabase& db) {
    if (db.kind() == BackendKind::Sqlite) {
        SqliteStore(db.sqlite_path()).schema_version();
        for (const std::string_view migration : sqlite_migrations()) {
            db.exec(std::string(migration));
        }
        return;
    }
    PostgresStore(db.postgres_dsn()).schema_version();
    for (const std::string_view migration : postgres_migrations()) {
        db.exec(std::string(migration));
    }
}

SchemaShape shape_of(TestDatabase& db) {
    return db.kind() == BackendKind::Sqlite ? sqlite_shape(db) : postgres_shape(db);
}

std::vector<std::string> table_names(const SchemaShape& shape) {
    std::vector<std::string> names;
    for (const auto& [name, table] : shape) {
        names.push_back(name);
    }
    return names;
}

STORE_BACKEND_TEST("store: the schema reader sees columns, primary and unique keys", "[store]") {
    // A reader that saw nothing would make the two schemas look alike: check it on a known table.
    db.open_migrated();
    db.exec(
        "CREATE TABLE probe (a BIGINT PRIMARY KEY, b BIGINT, c BIGINT, UNIQUE (c, b)); "
        "CREATE UNIQUE INDEX probe_b_a ON probe (b, a); CREATE INDEX probe_c ON probe (c)");
    const SchemaShape shape = shape_of(db);
    REQUIRE(shape.count("probe") == 1);
    const TableShape& probe = shape.at("probe");
    CHECK(probe.columns == std::vector<std::string>{"a", "b", "c"});
    CHECK(probe.primary_key == std::vector<std::string>{"a"});
    CHECK(probe.unique_keys == std::vector<std::string>{"b,a", "c,b"});
    REQUIRE(shape.count("orders") == 1);
    CHECK(shape.at("orders").primary_key == std::vector<std::string>{"shard", "order_id"});
}

TEST_CASE("store: SQLite and PostgreSQL schemas hold the same tables, columns and keys",
          "[store][postgresql]") {
    test::run_on(BackendKind::Postgresql, [](TestDatabase& pg) {
        TestDatabase lite(BackendKind::Sqlite);
        create_schema(lite);
        create_schema(pg);
        const SchemaShape expected = sqlite_shape(lite);
        const SchemaShape found = postgres_shape(pg);
        REQUIRE(expected.size() >= 6);  // meta, shard_meta, orders, trades, audit_log, versions
        REQUIRE(table_names(found) == table_names(expected));
        for (const auto& [name, table] : expected) {
            INFO("table " << name);
            const TableShape& other = found.at(name);
            CHECK(!table.columns.empty());
            CHECK(!table.primary_key.empty());
            CHECK(joined(other.columns) == joined(table.columns));
            CHECK(joined(other.primary_key) == joined(table.primary_key));
            CHECK(other.unique_keys == table.unique_keys);
        }
    });
}

}  // namespace
}  // namespace exchanged::store
