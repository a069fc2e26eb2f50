#include "tools/store/backup_postgres.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/postgres_connection.hpp"
#include "store/postgres_dsn.hpp"
#include "tools/store/pg_client_tools.hpp"

namespace exchanged::tools {
namespace {

namespace fs = std::filesystem;
using store::PgConnection;
using store::PgResult;

std::string escaped(PgConnection& c, const std::string& text, bool identifier) {
    std::unique_ptr<char, decltype(&PQfreemem)> out(
        identifier ? PQescapeIdentifier(c.handle(), text.c_str(), text.size())
                   : PQescapeLiteral(c.handle(), text.c_str(), text.size()),
        &PQfreemem);
    if (!out) {
        c.fail("quote '" + text + "'");
    }
    return out.get();
}

std::string literal(PgConnection& c, const std::string& text) {
    return escaped(c, text, false);
}

// pg_dump's pattern for every table of one schema: the name quoted, so it matches only itself.
std::string tables_of(const std::string& schema) {
    std::string quoted = "\"";
    for (const char ch : schema) {
        quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    }
    return quoted + "\".*";
}

}  // namespace

std::string pg_connection_name(const std::string& dsn) {
    return "postgresql:" + store::redact_dsn(dsn);
}

std::string quoted_identifier(PgConnection& c, const std::string& name) {
    return escaped(c, name, true);
}

fs::path pg_tool_for(PgConnection& c, const std::string& tool) {
    const int major = PQserverVersion(c.handle()) / 10000;
    return find_pg_tool(tool, major, pg_tool_dirs(major));
}

void create_schema_first_in_path(PgConnection& c, const std::string& schema,
                                 const std::string& what) {
    store::PgTransaction transaction(c,
                                     "BEGIN; CREATE SCHEMA IF NOT EXISTS " +
                                         quoted_identifier(c, schema) + "; SELECT current_schema()",
                                     "create schema " + schema);
    const PgResult& first = transaction.begin_result();
    if (first.is_null(0, 0) || first.text(0, 0) != schema) {
        throw std::runtime_error(
            what + " is in the schema " + schema + ", which the search_path of " + c.name() +
            " does not put first: add options=-csearch_path=" + schema + " to its DSN");
    }
    transaction.commit();
}

std::optional<std::string> store_schema(PgConnection& c) {
    const PgResult found = c.query(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid = to_regclass('meta')",
        "find the store's schema");
    if (found.rows() == 0) {
        return std::nullopt;
    }
    return found.text(0, 0);
}

std::optional<std::string> existing_store_table(PgConnection& c, const std::string& schema) {
    const PgResult found = c.query(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = " +
            literal(c, schema) +
            " AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') ORDER BY c.relname LIMIT 1",
        "look for tables in the target");
    if (found.rows() > 0) {
        return found.text(0, 0);
    }
    if (const std::optional<std::string> elsewhere = store_schema(c)) {
        return *elsewhere + ".meta";
    }
    return std::nullopt;
}

PgDump dump_postgres_store(const std::string& dsn, const fs::path& file,
                           const std::function<void(std::uint64_t)>& while_held) {
    PgConnection c(dsn, pg_connection_name(dsn));
    const fs::path pg_dump = pg_tool_for(c, "pg_dump");
    PgDump out;
    const std::optional<std::string> schema = store_schema(c);
    if (!schema) {
        throw std::runtime_error(c.name() +
                                 ": holds no store (no meta table on its search_path): is "
                                 "[persistence] store_dsn the daemon's?");
    }
    out.schema = *schema;
    // The snapshot is the transaction's first: store_lsn and the dump see the same commits.
    store::PgTransaction transaction(c,
                                     "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                                     "SELECT store_lsn, pg_export_snapshot() FROM " +
                                         quoted_identifier(c, out.schema) + ".meta WHERE id = 0",
                                     "snapshot for the backup");
    const PgResult& snapshot = transaction.begin_result();
    if (snapshot.rows() != 1) {
        throw std::runtime_error(c.name() + ": the store's meta row is missing");
    }
    out.store_lsn = snapshot.u64(0, 0);
    const std::string snapshot_id = snapshot.text(0, 1);
    if (while_held) {
        while_held(out.store_lsn);
    }
    run_pg_tool(pg_dump,
                {"--format=custom", "--snapshot=" + snapshot_id, "--no-privileges",
                 "--table=" + tables_of(out.schema), "--file=" + file.string()},
                dsn);
    transaction.commit();
    return out;
}

void restore_postgres_dump(const fs::path& dump, const std::string& dsn, const std::string& schema,
                           std::uint64_t store_lsn) {
    PgConnection c(dsn, pg_connection_name(dsn));
    if (const std::optional<std::string> table = existing_store_table(c, schema)) {
        throw std::runtime_error(c.name() + " is not empty: it holds the table " + *table +
                                 "; restore into a database without a store");
    }
    const fs::path pg_restore = pg_tool_for(c, "pg_restore");
    create_schema_first_in_path(c, schema, "the backup's store");
    run_pg_tool(
        pg_restore,
        {"--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges", dump.string()},
        dsn);
    if (store_schema(c) != schema) {
        throw std::runtime_error(c.name() + ": no store found after pg_restore");
    }
    const PgResult lsn = c.query("SELECT store_lsn FROM " + quoted_identifier(c, schema) + ".meta",
                                 "read the restored store_lsn");
    if (lsn.rows() != 1 || lsn.u64(0, 0) != store_lsn) {
        throw std::runtime_error(c.name() + ": the restored store is at LSN " +
                                 (lsn.rows() == 1 ? lsn.text(0, 0) : std::string("(none)")) +
                                 ", the manifest says " + std::to_string(store_lsn));
    }
}

void drop_store_tables(const std::string& dsn, const std::string& schema) {
    PgConnection c(dsn, pg_connection_name(dsn));
    const PgResult tables =
        c.query("SELECT tablename FROM pg_tables WHERE schemaname = " + literal(c, schema),
                "list the restored tables");
    for (int row = 0; row < tables.rows(); ++row) {
        c.exec("DROP TABLE IF EXISTS " + quoted_identifier(c, schema) + "." +
                   quoted_identifier(c, tables.text(row, 0)) + " CASCADE",
               "drop the restored table " + tables.text(row, 0));
    }
}

ScratchDatabase::ScratchDatabase(const std::string& server_dsn)
    : server_dsn_(server_dsn),
      // The time too: a verify on another host may have this pid, and its database is not ours.
      name_("exchanged_verify_" + std::to_string(::getpid()) + "_" +
            std::to_string(std::time(nullptr))) {
    PgConnection c(server_dsn_, pg_connection_name(server_dsn_));
    c.exec("CREATE DATABASE " + quoted_identifier(c, name_),
           "create the scratch database " + name_ + " (the role needs CREATEDB)");
    dsn_ = store::dsn_with_option(server_dsn_, "dbname", name_);
}

ScratchDatabase::~ScratchDatabase() {
    try {
        PgConnection c(server_dsn_, pg_connection_name(server_dsn_));
        c.exec("DROP DATABASE IF EXISTS " + quoted_identifier(c, name_) + " WITH (FORCE)",
               "drop the scratch database " + name_);
    } catch (const std::exception&) {
        // The verify's own outcome stands; docs/operations.md says to drop a database left so.
    }
}

}  // namespace exchanged::tools
