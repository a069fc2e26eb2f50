#include "tools/store/pg_snapshot_install.hpp"

#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "store/postgres_connection.hpp"
#include "tools/store/backup_postgres.hpp"
#include "tools/store/pg_client_tools.hpp"

namespace exchanged::tools {

namespace {

namespace fs = std::filesystem;
using store::PgConnection;
using store::PgResult;

std::string schema_in_listing(const std::string& listing) {
    // Entries read "<id>; <catalog> <oid> TABLE <schema> <name> <owner>"; comments start with ';'.
    std::istringstream lines(listing);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line.front() == ';') {
            continue;
        }
        std::istringstream words(line);
        std::vector<std::string> word(5);
        for (std::string& w : word) {
            words >> w;
        }
        if (word[3] == "TABLE" && word[4] != "DATA" && !word[4].empty()) {
            return word[4];
        }
    }
    return "";
}

}  // namespace

std::uint64_t replace_postgres_store(const fs::path& dump, const std::string& dsn) {
    PgConnection c(dsn, pg_connection_name(dsn));
    const fs::path pg_restore = pg_tool_for(c, "pg_restore");
    // The dump's own schema (pg_restore cannot load it into another).
    const std::string schema =
        schema_in_listing(run_pg_tool(pg_restore, {"--list", dump.string()}, dsn));
    if (schema.empty()) {
        throw std::runtime_error(dump.string() + " holds no table (pg_restore --list)");
    }
    // Where the follower's daemon looks for its store: an existing one's schema, else the first
    // of its search_path (created here when missing, as `backup restore` does). A store elsewhere
    // would be left in place beside the restored one, and the daemon would keep reading it.
    if (const std::optional<std::string> own = store_schema(c); own && *own != schema) {
        throw std::runtime_error("the snapshot's store is in the schema " + schema + ", " +
                                 c.name() + "'s in " + *own +
                                 ": give the nodes' store_dsn the same schema (search_path)");
    }
    create_schema_first_in_path(c, schema, "the snapshot's store");
    run_pg_tool(pg_restore,
                {"--clean", "--if-exists", "--exit-on-error", "--single-transaction", "--no-owner",
                 "--no-privileges", dump.string()},
                dsn);
    const PgResult lsn =
        c.query("SELECT store_lsn FROM " + quoted_identifier(c, schema) + ".meta WHERE id = 0",
                "read the restored store_lsn");
    if (lsn.rows() != 1) {
        throw std::runtime_error(c.name() + ": no store meta row after pg_restore");
    }
    return lsn.u64(0, 0);
}

}  // namespace exchanged::tools
