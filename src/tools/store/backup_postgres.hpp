// The PostgreSQL half of the backup commands (docs/operations.md "Backups"): the store dumped by
// pg_dump inside a snapshot whose store_lsn is read in the same transaction, and loaded back by
// pg_restore into a database that holds no store yet. The dump holds the tables of the store's
// schema only (the schema its DSN's search_path reaches), so it loads into another database, or
// into the same schema name of another server.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace exchanged::store {
class PgConnection;
}

namespace exchanged::tools {

struct PgDump {
    std::uint64_t store_lsn = 0;
    std::string schema;  // where the store's tables are
};

// In one REPEATABLE READ READ ONLY transaction on `dsn`: reads store_lsn and exports its snapshot,
// calls `while_held(store_lsn)` (the caller copies the WAL from there while the store cannot move
// under the snapshot), then runs pg_dump of the server's major version on that snapshot into
// `file` (custom format). Throws std::runtime_error (or store::StoreError) saying what failed.
PgDump dump_postgres_store(const std::string& dsn, const std::filesystem::path& file,
                           const std::function<void(std::uint64_t store_lsn)>& while_held);

// The schema the DSN's search_path resolves the store's meta table in; nothing when it reaches
// none.
std::optional<std::string> store_schema(store::PgConnection& connection);

// A table (schema.name) of `schema` in the database, or a store table the connection's
// search_path reaches elsewhere; nothing when there is neither.
std::optional<std::string> existing_store_table(store::PgConnection& connection,
                                                const std::string& schema);

// Loads the dump into `dsn` with pg_restore (one transaction: all or nothing). Refuses, naming
// the table, a database that already holds one in `schema` or a store its search_path reaches;
// creates `schema` when missing; afterwards checks that the DSN's search_path reaches the
// restored store and that it is at `store_lsn`. Throws std::runtime_error.
void restore_postgres_dump(const std::filesystem::path& dump, const std::string& dsn,
                           const std::string& schema, std::uint64_t store_lsn);

// The connection's name in errors: the DSN without its password.
std::string pg_connection_name(const std::string& dsn);
// `name` quoted as an SQL identifier. Throws store::StoreError.
std::string quoted_identifier(store::PgConnection& connection, const std::string& name);
// `tool` (pg_dump, pg_restore) of the connected server's major version (find_pg_tool).
std::filesystem::path pg_tool_for(store::PgConnection& connection, const std::string& tool);

// Creates `schema` when missing (committed) and checks that the connection's search_path puts it
// first, where the daemon's store looks for (and its migrations create) its tables; else throws
// std::runtime_error naming `what` ("the backup's store"), the schema and the DSN option to add.
void create_schema_first_in_path(store::PgConnection& connection, const std::string& schema,
                                 const std::string& what);

// Drops every table of `schema` in `dsn` (after a verify into a scratch database the operator
// named). Throws store::StoreError.
void drop_store_tables(const std::string& dsn, const std::string& schema);

// A database of its own for `backup verify`: exchanged_verify_<pid>_<unix time> created on the
// server of `server_dsn` (its role needs CREATEDB) and dropped again when the object goes (a
// verify that is killed leaves it behind).
class ScratchDatabase {
  public:
    explicit ScratchDatabase(const std::string& server_dsn);
    ~ScratchDatabase();
    ScratchDatabase(const ScratchDatabase&) = delete;
    ScratchDatabase& operator=(const ScratchDatabase&) = delete;

    // server_dsn with dbname replaced (its other options, search_path among them, kept).
    const std::string& dsn() const { return dsn_; }
    const std::string& name() const { return name_; }

  private:
    std::string server_dsn_;
    std::string name_;
    std::string dsn_;
};

}  // namespace exchanged::tools
