// What the two `exchangectl backup` tests under load (SQLite and PostgreSQL stores) share: the
// load they run while the backup is taken, and the check that a verified backup holds exactly the
// state a replay of the daemon's WAL from an empty store gives at the backup's last LSN.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "exchangectl_process.hpp"
#include "temp_file.hpp"
#include "tools/store/backup_manifest.hpp"

namespace exchanged::test {

// `exchangectl load` against `address` with an ack journal: EXCHANGED_BACKUP_TEST_ORDERS orders
// (60,000 by default: three seconds, so the backup lands mid-run) at EXCHANGED_BACKUP_TEST_RATE
// orders/s (20,000, modest for a shared test machine; scripts/backup-under-load.sh runs 100,000).
std::unique_ptr<ExchangectlProcess> start_backup_load(const TempDir& dir,
                                                      const std::string& address,
                                                      const std::string& journal,
                                                      const std::string& config);

// `load_out` is the finished load's output (its JSON line): the accepted orders per second reached
// at least 80% of EXCHANGED_BACKUP_TEST_RATE, or the backup was not taken under the load the test
// claims. The line is reported as a warning, so that a run by scripts/backup-under-load.sh shows
// it.
void check_load_rate(const std::string& load_out);

// `verified_out` is the output of a passing `backup verify` of the backup `manifest` describes,
// taken from the daemon of `config` with its data in `data_dir` (the daemon stopped since): its
// "state hash: ... at LSN L" line names the manifest's last LSN, the hashes equal those of a WAL
// replay stopped at L, and the WAL goes on past L (the backup was taken under load). A replay
// stopped one record short (L - 1) must give other hashes: the comparison can fail.
void check_backup_matches_wal_replay(const std::string& config, const std::string& data_dir,
                                     const std::string& verified_out,
                                     const tools::BackupManifest& manifest);

}  // namespace exchanged::test
