#include "file_damage.hpp"

#include <catch2/catch.hpp>

#include <fstream>

#include "store/sqlite_db.hpp"

namespace exchanged::test {

void flip_byte(const std::filesystem::path& file, std::uint64_t offset, unsigned char mask) {
    std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(stream);
    stream.seekg(static_cast<std::streamoff>(offset));
    char byte = 0;
    REQUIRE(stream.get(byte));
    stream.seekp(static_cast<std::streamoff>(offset));
    stream.put(static_cast<char>(static_cast<unsigned char>(byte) ^ mask));
    REQUIRE(stream.flush());
}

std::uint32_t sqlite_page_size(const std::filesystem::path& db) {
    store::SqliteDb handle(db);
    store::SqliteStatement size(handle, "PRAGMA page_size");
    REQUIRE(size.step());
    return static_cast<std::uint32_t>(size.column_int(0));
}

std::vector<std::uint32_t> sqlite_leaf_pages(const std::filesystem::path& db,
                                             const std::string& object) {
    store::SqliteDb handle(db);
    store::SqliteStatement pages(handle, "SELECT pageno FROM dbstat WHERE name = '" + object +
                                             "' AND pagetype = 'leaf' ORDER BY pageno");
    std::vector<std::uint32_t> out;
    while (pages.step()) {
        out.push_back(static_cast<std::uint32_t>(pages.column_int(0)));
    }
    return out;
}

std::uint32_t break_sqlite_page(const std::filesystem::path& db, const std::string& object) {
    const std::vector<std::uint32_t> pages = sqlite_leaf_pages(db, object);
    REQUIRE(!pages.empty());
    const std::uint32_t page = pages[pages.size() / 2];
    flip_byte(db, std::uint64_t{page - 1} * sqlite_page_size(db));
    return page;
}

}  // namespace exchanged::test
