// PostgreSQL's client programs as the backups of a PostgreSQL store run them: the lookup refuses
// a missing pg_dump or one of another major version (naming what it found and what to install),
// and a password in the DSN reaches the program through a private password file, never its
// command line. Fake programs (shell scripts) stand in for pg_dump; no server is needed.
#include "tools/store/pg_client_tools.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "temp_file.hpp"

using namespace exchanged;
using namespace exchanged::tools;
namespace fs = std::filesystem;

namespace {

// An executable script `name` in `dir` running `body`.
fs::path fake_tool(const fs::path& dir, const std::string& name, const std::string& body) {
    fs::create_directories(dir);
    const fs::path path = dir / name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
    return path;
}

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("pg tools: the major version of a --version line", "[tools][backup]") {
    CHECK(pg_tool_major("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n") == 15);
    CHECK(pg_tool_major("pg_restore (PostgreSQL) 9.6.24") == 9);
    CHECK(pg_tool_major("pg_dump 15.1") == 0);
    CHECK(pg_tool_major("") == 0);
}

TEST_CASE(
    "pg tools: pg_dump missing or of another major version is refused, saying what to "
    "install",
    "[tools][backup]") {
    test::TempDir dir;
    const fs::path empty = dir.path() / "empty";
    fs::create_directories(empty);
    CHECK_THROWS_WITH(find_pg_tool("pg_dump", 15, {empty}),
                      Catch::Contains("pg_dump not found, and the server is PostgreSQL 15") &&
                          Catch::Contains("install postgresql-client-15"));

    const fs::path old_dir = dir.path() / "old";
    const fs::path old = fake_tool(old_dir, "pg_dump", "echo 'pg_dump (PostgreSQL) 14.2'");
    const fs::path other = dir.path() / "other";
    fake_tool(other, "pg_dump", "echo 'something else'");
    CHECK_THROWS_WITH(find_pg_tool("pg_dump", 15, {empty, old_dir, other}),
                      Catch::Contains(old.string() + " is version 14") &&
                          Catch::Contains("is not a PostgreSQL client (something else)") &&
                          Catch::Contains("install postgresql-client-15"));

    const fs::path right_dir = dir.path() / "right";
    const fs::path right =
        fake_tool(right_dir, "pg_dump", "echo 'pg_dump (PostgreSQL) 15.18 (Debian)'");
    CHECK(find_pg_tool("pg_dump", 15, {empty, old_dir, right_dir}) == right);
}

TEST_CASE("pg tools: a password in the DSN goes through a private password file, not argv",
          "[tools][backup]") {
    ::unsetenv("PGPASSFILE");  // the test's own environment must not stand in for the file
    test::TempDir dir;
    const fs::path tool = fake_tool(dir.path() / "bin", "pg_dump",
                                    "here=$(dirname \"$0\")\n"
                                    "echo \"$@\" > \"$here/args\"\n"
                                    "echo \"$PGPASSFILE\" > \"$here/passfile-path\"\n"
                                    "if [ -n \"$PGPASSFILE\" ]; then\n"
                                    "  cat \"$PGPASSFILE\" > \"$here/passfile\"\n"
                                    "  stat -c %a \"$PGPASSFILE\" > \"$here/passfile-mode\"\n"
                                    "fi");
    run_pg_tool(tool, {"--format=custom"},
                "host=/tmp/sock port=5432 user=ops password='se:cr\\\\et' dbname=exchange");
    const std::string args = read_text(dir.path() / "bin" / "args");
    CHECK(args.find("--format=custom") != std::string::npos);
    CHECK(args.find("--dbname=") != std::string::npos);
    CHECK(args.find("user=ops") != std::string::npos);
    CHECK(args.find("dbname=exchange") != std::string::npos);
    CHECK(args.find("se:cr") == std::string::npos);
    CHECK(args.find("password") == std::string::npos);
    CHECK(read_text(dir.path() / "bin" / "passfile") == "*:*:*:*:se\\:cr\\\\et\n");
    CHECK(read_text(dir.path() / "bin" / "passfile-mode") == "600\n");
    // Removed once the program is done.
    std::string used = read_text(dir.path() / "bin" / "passfile-path");
    used.pop_back();
    CHECK_FALSE(used.empty());
    CHECK_FALSE(fs::exists(used));

    // Without a password no file is made: libpq's own ~/.pgpass or PGPASSFILE applies.
    run_pg_tool(tool, {}, "host=/tmp/sock user=ops dbname=exchange");
    CHECK(read_text(dir.path() / "bin" / "passfile-path") == "\n");
}

TEST_CASE("pg tools: a failing program's exit status and last lines, secrets cut out",
          "[tools][backup]") {
    test::TempDir dir;
    const fs::path tool = fake_tool(dir.path(), "pg_dump",
                                    "echo 'pg_dump: connecting'; "
                                    "echo 'pg_dump: error: bad password=hunter2 for ops' >&2; "
                                    "exit 3");
    CHECK_THROWS_WITH(run_pg_tool(tool, {}, "host=/tmp/sock user=ops password=hunter2"),
                      Catch::Contains("pg_dump failed (exit status 3)") &&
                          Catch::Contains("pg_dump: error: bad") && !Catch::Contains("hunter2"));
}
