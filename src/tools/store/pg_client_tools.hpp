// PostgreSQL's own client programs (pg_dump, pg_restore) for the backups of a PostgreSQL store
// (docs/operations.md "Backups"): found in the major version of the server they talk to, and run
// without a password on their command line (libpq reads it from a private password file).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace exchanged::tools {

// The major version in a `--version` line ("pg_dump (PostgreSQL) 15.18 (Debian ...)" gives 15);
// 0 when the text holds none.
int pg_tool_major(const std::string& version_line);

// Where to look for `tool` of a server's major version: Debian's /usr/lib/postgresql/<major>/bin,
// then every directory on PATH.
std::vector<std::filesystem::path> pg_tool_dirs(int server_major);

// The first `tool` in `dirs` whose --version has the server's major version. Throws
// std::runtime_error saying what was found instead (or that nothing was) and what to install.
std::filesystem::path find_pg_tool(const std::string& tool, int server_major,
                                   const std::vector<std::filesystem::path>& dirs);

// Runs `tool args... --dbname=<dsn without its password>`; a password in `dsn` reaches the tool
// through a password file (PGPASSFILE) only it can read, removed afterwards. Throws
// std::runtime_error with the tool's exit status and the last lines it printed.
// Returns what the tool printed (pg_restore --list's table of contents).
std::string run_pg_tool(const std::filesystem::path& tool, const std::vector<std::string>& args,
                        const std::string& dsn);

}  // namespace exchanged::tools
