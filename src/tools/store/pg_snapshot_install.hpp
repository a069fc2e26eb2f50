// A PostgreSQL follower's half of a snapshot re-sync (docs/replication.md "Retention and snapshot
// re-sync"): the leader's pg_dump replaces the store in the follower's own database. Unlike
// `backup restore`, the database already holds a store (the follower's old one), and a crash may
// interrupt the install at any point, after which the follower's next start runs it again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace exchanged::tools {

// Replaces the store `dsn` reaches with the dump's: one pg_restore transaction that drops the
// dump's tables where they exist and creates them anew (--clean --if-exists --single-transaction),
// so it is all or nothing, and run again it ends in the same store. The dump's schema must be the
// one the DSN's search_path puts first (where the follower's store is or would be created).
// Returns the restored store's LSN. Throws std::runtime_error naming the cause (the server down,
// a permission, pg_restore's own last lines, or the schemas that differ).
std::uint64_t replace_postgres_store(const std::filesystem::path& dump, const std::string& dsn);

}  // namespace exchanged::tools
