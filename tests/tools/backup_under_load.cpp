#include "backup_under_load.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "engine/recovery.hpp"
#include "engine/shard_layout.hpp"

namespace exchanged::test {
namespace {

std::string from_env(const char* name, const char* fallback) {
    const char* text = std::getenv(name);
    return text != nullptr && *text != '\0' ? text : fallback;
}

// The numbers of "state hash: H1,H2 at LSN L" in verify's output.
std::pair<std::vector<std::uint64_t>, std::uint64_t> state_line(const std::string& out) {
    const std::size_t at = out.find("state hash: ");
    REQUIRE(at != std::string::npos);
    std::vector<std::uint64_t> hashes;
    const char* p = out.c_str() + at + 12;
    for (;;) {
        char* end = nullptr;
        hashes.push_back(std::strtoull(p, &end, 10));
        p = end;
        if (*p != ',') {
            break;
        }
        ++p;
    }
    const std::size_t lsn_at = out.find(" at LSN ", at);
    REQUIRE(lsn_at != std::string::npos);
    return {hashes, std::strtoull(out.c_str() + lsn_at + 8, nullptr, 10)};
}

}  // namespace

std::unique_ptr<ExchangectlProcess> start_backup_load(const TempDir& dir,
                                                      const std::string& address,
                                                      const std::string& journal,
                                                      const std::string& config) {
    return std::make_unique<ExchangectlProcess>(
        std::vector<std::string>{"load", "--json", "--connect", address, "--orders",
                                 from_env("EXCHANGED_BACKUP_TEST_ORDERS", "60000"), "--connections",
                                 "2", "--rate", from_env("EXCHANGED_BACKUP_TEST_RATE", "20000"),
                                 "--journal", journal, "--config", config},
        dir.path() / "load");
}

void check_load_rate(const std::string& load_out) {
    const std::size_t line_at = load_out.find("{\"orders\":");
    REQUIRE(line_at != std::string::npos);
    const std::string line = load_out.substr(line_at, load_out.find('\n', line_at) - line_at);
    WARN("load: " << line);
    // orders_per_sec counts accepted orders only: refusals (busy) do not make the rate.
    const std::size_t at = line.find("\"orders_per_sec\":");
    REQUIRE(at != std::string::npos);
    const double achieved = std::strtod(line.c_str() + at + 17, nullptr);
    const double asked =
        std::strtod(from_env("EXCHANGED_BACKUP_TEST_RATE", "20000").c_str(), nullptr);
    CHECK(achieved >= 0.8 * asked);
}

void check_backup_matches_wal_replay(const std::string& config, const std::string& data_dir,
                                     const std::string& verified_out,
                                     const tools::BackupManifest& manifest) {
    const auto [hashes, last_lsn] = state_line(verified_out);
    CHECK(last_lsn == manifest.last_lsn());

    ConfigOverrides overrides;
    overrides.data_dir = data_dir;
    const exchanged::Config profile = load_config(config, overrides);
    engine::RecoveryOptions options;
    options.stop_after_lsn = last_lsn;
    const engine::RecoveryResult replay =
        engine::recover(profile.persistence.wal_path, engine::make_shard_layout(profile), options);
    REQUIRE(replay.ok());
    REQUIRE(replay.last_lsn == last_lsn);
    std::vector<std::uint64_t> replayed;
    for (const book::Matcher& matcher : replay.matchers) {
        replayed.push_back(matcher.state_hash());
    }
    CHECK(hashes == replayed);
    // The negative control: under load every record is a new order, which moves its shard's next
    // order id, so the state one record earlier hashes differently.
    options.stop_after_lsn = last_lsn - 1;
    const engine::RecoveryResult short_replay =
        engine::recover(profile.persistence.wal_path, engine::make_shard_layout(profile), options);
    REQUIRE(short_replay.ok());
    std::vector<std::uint64_t> short_hashes;
    for (const book::Matcher& matcher : short_replay.matchers) {
        short_hashes.push_back(matcher.state_hash());
    }
    CHECK(hashes != short_hashes);
    const engine::RecoveryResult whole =
        engine::recover(profile.persistence.wal_path, engine::make_shard_layout(profile),
                        engine::RecoveryOptions{});
    REQUIRE(whole.ok());
    CHECK(whole.last_lsn > last_lsn);
}

}  // namespace exchanged::test
