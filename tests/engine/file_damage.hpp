// Damage for the corruption tests: a byte flipped in place, as a failing disk would, and the pages
// of an SQLite b-tree to aim at.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace exchanged::test {

// XORs the byte at `offset` with `mask` (non-zero, so the byte always changes).
void flip_byte(const std::filesystem::path& file, std::uint64_t offset, unsigned char mask = 0x5a);

// The page size and the leaf pages of the table or index `object` (from SQLite's dbstat).
std::uint32_t sqlite_page_size(const std::filesystem::path& db);
std::vector<std::uint32_t> sqlite_leaf_pages(const std::filesystem::path& db,
                                             const std::string& object);

// Flips the first byte (the page type) of a leaf page of `object`, which no check can miss, and
// returns the page's number.
std::uint32_t break_sqlite_page(const std::filesystem::path& db, const std::string& object);

}  // namespace exchanged::test
