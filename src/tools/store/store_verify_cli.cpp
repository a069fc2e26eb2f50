// exchangectl store verify: checks the primary store against an acknowledgement journal (the
// rules are in tools/store_journal_check.hpp). Prints each failure on its own line, then
// `N passed, M failed`, then `verify-data: PASS` or `verify-data: FAIL`; exit 0 only on PASS.
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include "common/cli_args.hpp"
#include "engine/shard_layout.hpp"
#include "tools/cli/exit_codes.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/cli/verdict.hpp"
#include "tools/client/journal_contents.hpp"
#include "tools/store/profile_names.hpp"
#include "tools/store/store_from_config.hpp"
#include "tools/store/store_journal_check.hpp"

namespace exchanged::tools {
namespace {

constexpr CliOption kOptions[] = {{"config", true}, {"data-dir", true}, {"journal", true}};

int run(const CliArgs& args, const std::string& journal_path) {
    const exchanged::Config profile = load_store_profile(args);
    JournalContents journal = read_journal_file(journal_path);
    std::printf("journal: %s: %s\n", journal_path.c_str(), journal.summary().c_str());
    const std::unique_ptr<store::Store> store = open_configured_store(profile);
    const store::StoreLsn store_lsn = store->store_lsn();
    const StoreVerifyResult result = verify_store_against_journal(
        journal, *store, engine::make_shard_layout(profile), ProfileNames(profile));
    std::printf("store: %s: store_lsn %" PRIu64 ", %" PRIu64 " orders, %" PRIu64 " trades\n",
                store->describe().c_str(), store_lsn, result.store_orders, result.store_trades);
    for (const std::string& failure : result.failures) {
        std::printf("%s\n", failure.c_str());
    }
    std::printf("%" PRIu64 " passed, %zu failed\n", result.passed, result.failures.size());
    const bool pass = result.failures.empty();
    std::printf("verify-data: %s\n", pass ? "PASS" : "FAIL");
    return pass ? kExitOk : kExitRefused;
}

}  // namespace

int store_verify_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    const std::string journal_path = args.text_or("journal", "");
    if (journal_path.empty() || !args.positional().empty()) {
        throw CliError("--journal FILE is required, and nothing else without a flag");
    }
    return run_to_verdict("verify-data", [&] { return run(args, journal_path); });
}

}  // namespace exchanged::tools
