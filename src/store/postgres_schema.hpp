// The PostgreSQL schema as an ordered list of migrations, the same tables and columns as the
// SQLite schema (sqlite_schema.cpp) in BIGINT. Migration i (1-based) takes the schema from version
// i-1 to i; a released migration is never edited, a change is a new one at the end.
#pragma once

#include <span>
#include <string_view>

namespace exchanged::store {

std::span<const std::string_view> postgres_migrations();

}  // namespace exchanged::store
