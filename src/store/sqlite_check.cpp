#include "store/sqlite_check.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "store/sqlite_db.hpp"
#include "store/store.hpp"

namespace exchanged::store {
namespace {

constexpr std::size_t kHeaderBytes = 100;
constexpr int kMaxProblems = 100;

// Problems in the header fields SQLite relies on. The others (change counter, schema cookie,
// version numbers, reserved space) are informational: SQLite ignores or rewrites them, so a flip
// there harms nothing and is not reported. `readable` turns false when SQLite could not even read
// the pages (bad magic, page size or read version).
std::vector<std::string> header_problems(const std::filesystem::path& path,
                                         std::uint64_t file_bytes, bool* readable) {
    std::vector<std::string> out;
    *readable = false;
    if (file_bytes < kHeaderBytes) {
        out.push_back("the file is " + std::to_string(file_bytes) +
                      " bytes, shorter than the 100-byte SQLite header");
        return out;
    }
    std::array<unsigned char, kHeaderBytes> h{};
    std::ifstream in(path, std::ios::binary);
    if (!in.read(reinterpret_cast<char*>(h.data()), h.size())) {
        out.push_back("the header cannot be read");
        return out;
    }
    static constexpr char kMagic[16] = "SQLite format 3";  // with its terminating zero byte
    const bool magic_ok = std::memcmp(h.data(), kMagic, sizeof kMagic) == 0;
    if (!magic_ok) {
        out.push_back(
            "header bytes 0-15: not the SQLite magic string \"SQLite format 3\" (damaged, or not "
            "an SQLite file)");
    }
    const std::uint32_t field = static_cast<std::uint32_t>(h[16]) << 8 | h[17];
    const std::uint32_t page_size = field == 1 ? 65536 : field;
    const bool page_size_ok =
        page_size >= 512 && page_size <= 65536 && (page_size & (page_size - 1)) == 0;
    if (!page_size_ok) {
        out.push_back("header bytes 16-17: page size " + std::to_string(page_size) +
                      " is not a power of two from 512 to 65536");
    }
    if (h[18] != 1 && h[18] != 2) {
        out.push_back("header byte 18: file format write version " + std::to_string(h[18]) +
                      " is not 1 or 2 (SQLite would only read the file: every write fails)");
    }
    const bool read_version_ok = h[19] == 1 || h[19] == 2;
    if (!read_version_ok) {
        out.push_back("header byte 19: file format read version " + std::to_string(h[19]) +
                      " is not 1 or 2 (SQLite refuses the file)");
    }
    if (h[21] != 64 || h[22] != 32 || h[23] != 32) {
        out.push_back("header bytes 21-23: payload fractions " + std::to_string(h[21]) + ", " +
                      std::to_string(h[22]) + ", " + std::to_string(h[23]) +
                      " instead of 64, 32, 32");
    }
    *readable = magic_ok && page_size_ok && read_version_ok;
    return out;
}

// A statement on the raw handle whose failure is a finding, not an exception.
class Query {
  public:
    Query(sqlite3* db, const std::string& sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) {
            error_ = sqlite3_errmsg(db);
        }
    }
    ~Query() { sqlite3_finalize(stmt_); }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    bool next() {
        if (stmt_ == nullptr || !error_.empty()) {
            return false;
        }
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) {
            return true;
        }
        if (rc != SQLITE_DONE) {
            error_ = sqlite3_errmsg(db_);
        }
        return false;
    }
    std::string text(int column) const {
        const unsigned char* value = sqlite3_column_text(stmt_, column);
        return value != nullptr ? reinterpret_cast<const char*>(value) : "";
    }
    std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
    // Empty unless preparing or stepping failed: SQLite's message.
    const std::string& error() const { return error_; }

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
    std::string error_;
};

std::string literal(const std::string& text) {
    std::string out = "'";
    for (const char c : text) {
        out += c == '\'' ? std::string("''") : std::string(1, c);
    }
    return out + "'";
}

std::string quoted(const std::string& name) {
    std::string out = "\"";
    for (const char c : name) {
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + "\"";
}

// The check's own lines, without the "ok" and "*** in database main ***" it also returns.
std::vector<std::string> run_check(sqlite3* db, const std::string& sql) {
    std::vector<std::string> lines;
    Query query(db, sql);
    while (query.next()) {
        const std::string text = query.text(0);
        std::size_t start = 0;
        while (start <= text.size()) {
            std::size_t end = text.find('\n', start);
            if (end == std::string::npos) {
                end = text.size();
            }
            const std::string line = text.substr(start, end - start);
            if (!line.empty() && line != "ok" && line.rfind("*** in database", 0) != 0) {
                lines.push_back(line);
            }
            start = end + 1;
        }
    }
    if (!query.error().empty()) {
        lines.push_back(query.error());
    }
    return lines;
}

// Page numbers a check line names: "Page 13: ...", "On tree page 13 cell 6: ...", "Multiple uses
// for byte 3981 of page 13".
std::vector<std::uint32_t> pages_named(const std::string& line) {
    std::vector<std::uint32_t> pages;
    for (std::size_t at = line.find("age "); at != std::string::npos;
         at = line.find("age ", at + 4)) {
        if (at == 0 || (line[at - 1] != 'p' && line[at - 1] != 'P')) {
            continue;
        }
        std::uint64_t page = 0;
        std::size_t digit = at + 4;
        while (digit < line.size() && line[digit] >= '0' && line[digit] <= '9' &&
               page < 0xFFFFFFFFull) {
            page = page * 10 + static_cast<std::uint64_t>(line[digit++] - '0');
        }
        if (digit > at + 4) {
            pages.push_back(static_cast<std::uint32_t>(page));
        }
    }
    return pages;
}

// The index an integrity_check line names: "row 5 missing from index orders_open", "wrong # of
// entries in index orders_finished", "non-unique entry in index ...".
std::string index_named(const std::string& line) {
    const std::size_t at = line.find("index ");
    if (at == std::string::npos) {
        return "";
    }
    std::size_t end = at + 6;
    while (end < line.size() && line[end] != ' ' && line[end] != ',') {
        ++end;
    }
    return line.substr(at + 6, end - at - 6);
}

// Which table or index the problems lie in: dbstat maps page numbers to b-trees (it walks them
// tolerantly and marks the pages it cannot parse "corrupted"); a line without a page is pinned to
// a table by checking each table (and its indexes) on its own.
void attribute(sqlite3* db, SqliteCheckReport& report, SqliteCheckLevel level) {
    std::map<std::string, std::string> types;  // name -> table | index
    {
        Query schema(db, "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'index')");
        while (schema.next()) {
            types[schema.text(0)] = schema.text(1);
        }
        types["sqlite_schema"] = "table";
    }
    // One b-tree at a time: a walk that a damaged page derails (a child pointer to page 10^9)
    // then costs only that b-tree's map, and says where the damage is.
    std::map<std::uint32_t, std::string> owner;
    std::set<std::string> corrupted;
    std::vector<std::string> unwalkable;
    for (const auto& [name, type] : types) {
        Query pages(db, "SELECT pageno, pagetype FROM dbstat WHERE name = " + literal(name));
        while (pages.next()) {
            owner[static_cast<std::uint32_t>(pages.integer(0))] = name;
            if (pages.text(1) == "corrupted") {
                corrupted.insert(name);
            }
        }
        if (!pages.error().empty()) {
            unwalkable.push_back(name);
        }
    }
    std::map<std::string, SqliteDamage> found;
    for (SqliteDamage& damage : report.damaged) {  // the header check's finding, if any
        found[damage.name] = std::move(damage);
    }
    report.damaged.clear();
    const auto add = [&](const std::string& name, std::uint32_t page) {
        SqliteDamage& damage = found[name];
        damage.name = name;
        const auto type = types.find(name);
        damage.type = type != types.end() ? type->second : "table";
        if (page != 0 &&
            std::find(damage.pages.begin(), damage.pages.end(), page) == damage.pages.end()) {
            damage.pages.push_back(page);
        }
    };
    bool unplaced = false;
    bool orphans = false;
    for (const std::string& line : report.problems) {
        // "Page N is never used": no b-tree reaches the page. Below a damaged interior page those
        // are its children, so they say nothing about where the damage is; on their own they are
        // leaked pages, which lose no row (counted as damage to the free-page list).
        if (line.find("is never used") != std::string::npos) {
            orphans = true;
            continue;
        }
        bool placed = false;
        // Lines about the file as a whole: the header's root page and vacuum fields (which also
        // make SQLite look for pointer-map pages), and the list of free pages.
        if (line.find("rootpage") != std::string::npos ||
            line.find("ptrmap") != std::string::npos) {
            found["header"] = SqliteDamage{"header", "header", {1}};
            placed = true;
        } else if (line.find("freelist") != std::string::npos) {
            found["freelist"] = SqliteDamage{"freelist", "freelist", {}};
            placed = true;
        }
        for (const std::uint32_t page : pages_named(line)) {
            if (const auto it = owner.find(page); it != owner.end()) {
                add(it->second, page);
                placed = true;
            } else if (unwalkable.size() == 1) {
                add(unwalkable.front(), page);  // a page of the one b-tree that could not be walked
                placed = true;
            }
        }
        if (const std::string index = index_named(line); !index.empty() && types.count(index)) {
            add(index, 0);
            placed = true;
        }
        unplaced = unplaced || !placed;
    }
    for (const std::string& name : corrupted) {
        add(name, 0);
    }
    if (orphans && found.empty() && !unplaced) {
        found["freelist"] = SqliteDamage{"freelist", "freelist", {}};
    }
    if (unplaced) {
        // Checking one table checks its indexes too, so this cannot tell which of them: counted
        // as the table's damage (not repairable by REINDEX).
        for (const auto& [name, type] : types) {
            if (type != "table" || name == "sqlite_schema" || found.count(name)) {
                continue;
            }
            const std::string sql =
                std::string("PRAGMA ") + pragma_name(level) + "(" + quoted(name) + ")";
            if (!run_check(db, sql).empty()) {
                add(name, 0);
            }
        }
    }
    bool only_indexes = !unplaced && !found.empty();
    for (auto& [name, damage] : found) {
        std::sort(damage.pages.begin(), damage.pages.end());
        only_indexes = only_indexes && damage.type == "index";
        report.damaged.push_back(std::move(damage));
    }
    report.only_indexes = only_indexes;
}

// Reads the file once from start to end. The check visits pages in b-tree order, which on a cold
// cache is a random read per page (5 s for a 110 MB store on the CI disk); read sequentially
// first, the kernel's readahead brings the file in at disk speed and the check then runs from the
// page cache (0.7 s together). The store's load right after benefits as well.
void read_through(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buffer(1 << 20);
    while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()))) {
    }
}

}  // namespace

const char* pragma_name(SqliteCheckLevel level) {
    return level == SqliteCheckLevel::Full ? "integrity_check" : "quick_check";
}

std::string SqliteCheckReport::where() const {
    std::string text;
    for (const SqliteDamage& damage : damaged) {
        if (!text.empty()) {
            text += ", ";
        }
        text += damage.type == "header"     ? std::string("the file header")
                : damage.type == "freelist" ? std::string("the list of free pages")
                                            : damage.type + " " + damage.name;
        if (!damage.pages.empty() && damage.type != "header") {
            text += damage.pages.size() == 1 ? " (page " : " (pages ";
            for (std::size_t i = 0; i < damage.pages.size(); ++i) {
                text += (i == 0 ? "" : ", ") + std::to_string(damage.pages[i]);
            }
            text += ")";
        }
    }
    return text.empty() ? "SQLite does not say where" : text;
}

std::string SqliteCheckReport::describe() const {
    std::string text = path.string() + ": the store file is damaged (PRAGMA " + pragma_name(level) +
                       "): " + where() + ":";
    // The first lines say enough for a log; `exchangectl store check` prints them all.
    constexpr std::size_t kShown = 10;
    for (std::size_t i = 0; i < problems.size() && i < kShown; ++i) {
        text += "\n  " + problems[i];
    }
    if (problems.size() > kShown) {
        text += "\n  ... and " + std::to_string(problems.size() - kShown) + " more";
    }
    return text;
}

SqliteCheckReport check_sqlite_file(const std::filesystem::path& path, SqliteCheckLevel level) {
    const auto begin = std::chrono::steady_clock::now();
    SqliteCheckReport report;
    report.path = path;
    report.level = level;
    std::error_code error;
    report.file_bytes = std::filesystem::file_size(path, error);
    if (error) {
        throw StoreError(path.string() + ": store check: " + error.message());
    }
    if (report.file_bytes == 0) {
        return report;  // created, never written: nothing to check
    }
    bool readable = false;
    report.problems = header_problems(path, report.file_bytes, &readable);
    if (!report.problems.empty()) {
        report.damaged.push_back(SqliteDamage{"header", "header", {1}});
    }
    if (readable) {
        read_through(path);
        SqliteDb db(path);
        db.exec("PRAGMA busy_timeout = 5000", "set busy_timeout");
        // A file another process holds (the daemon, in exclusive locking mode) is in use, not
        // damaged: say so instead of reporting "database is locked" as a finding.
        const int probe =
            sqlite3_exec(db.handle(), "PRAGMA schema_version", nullptr, nullptr, nullptr);
        if ((probe & 0xFF) == SQLITE_BUSY || (probe & 0xFF) == SQLITE_LOCKED) {
            db.fail("store check");
        }
        const std::vector<std::string> lines =
            run_check(db.handle(), std::string("PRAGMA ") + pragma_name(level) + "(" +
                                       std::to_string(kMaxProblems) + ")");
        const bool header_damaged = !report.problems.empty();
        report.problems.insert(report.problems.end(), lines.begin(), lines.end());
        if (!lines.empty()) {
            attribute(db.handle(), report, level);
        }
        report.only_indexes = report.only_indexes && !header_damaged;
    }
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    return report;
}

SqliteCheckReport reindex_sqlite_file(const SqliteCheckReport& found) {
    if (!found.only_indexes) {
        throw StoreError(found.path.string() + ": REINDEX cannot repair damage outside indexes (" +
                         found.where() + ")");
    }
    {
        SqliteDb db(found.path);
        db.exec("PRAGMA busy_timeout = 5000", "set busy_timeout");
        for (const SqliteDamage& damage : found.damaged) {
            db.exec("REINDEX " + quoted(damage.name), "REINDEX " + damage.name);
        }
    }
    return check_sqlite_file(found.path, found.level);
}

}  // namespace exchanged::store
