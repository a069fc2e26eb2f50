// Finding damage in an SQLite store file (docs/recovery.md, "Store corruption"). SQLite keeps no
// page checksums, so nothing notices a damaged page until a query reads it; this check reads them
// all. It looks at the 100-byte header (the fields SQLite relies on), then runs PRAGMA quick_check
// (every b-tree page's structure: page headers, cell bounds and overlaps, key order, the
// freelist) or, at Full, PRAGMA integrity_check (also every index against its table). It names
// the tables and indexes the problems lie in, so the operator can tell index damage (REINDEX
// repairs it, nothing is lost) from table damage. A flipped bit inside a row's value keeps the
// page well-formed and is invisible to both: see check_row_ids() and `exchangectl reconcile`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace exchanged::store {

enum class SqliteCheckLevel : std::uint8_t { Quick, Full };
const char* pragma_name(SqliteCheckLevel level);

// One table or index the problems lie in, or the file header, or the list of free pages.
struct SqliteDamage {
    std::string name;
    std::string type;                  // "table", "index", "header" or "freelist"
    std::vector<std::uint32_t> pages;  // the damaged pages SQLite named in it, if any
};

struct SqliteCheckReport {
    std::filesystem::path path;
    SqliteCheckLevel level = SqliteCheckLevel::Quick;
    std::uint64_t file_bytes = 0;
    double seconds = 0;
    std::vector<std::string> problems;  // SQLite's own words, one per line, at most 100
    std::vector<SqliteDamage> damaged;  // where the problems lie, where SQLite says so
    // Every problem lies in an index: rebuilding the indexes (REINDEX) repairs the file and loses
    // nothing, since an index holds only copies of its table's columns.
    bool only_indexes = false;

    bool ok() const { return problems.empty(); }
    // "table orders (page 13), index orders_open (pages 152, 160)"
    std::string where() const;
    // One paragraph for an error message: the file, the check, the places and SQLite's lines.
    std::string describe() const;
};

// Checks the file without changing it. An empty file (a store not created yet) is ok. Throws
// StoreError only when the file cannot be opened at all (missing, unreadable).
SqliteCheckReport check_sqlite_file(const std::filesystem::path& path, SqliteCheckLevel level);

// Rebuilds the damaged indexes of `found` (found.only_indexes must hold) with REINDEX, each in
// its own statement, then checks the file again at found.level. Throws StoreError when REINDEX
// itself fails: it reads the old index's pages to free them, and a page SQLite cannot parse at
// all stops it (the dump salvage in docs/recovery.md rebuilds every index instead).
SqliteCheckReport reindex_sqlite_file(const SqliteCheckReport& found);

}  // namespace exchanged::store
