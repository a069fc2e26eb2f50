// exchangectl: the operator's and benchmarker's tool. `exchangectl help` lists the subcommands.
#include <cstdio>
#include <exception>
#include <string_view>

#include "common/cli_args.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/cluster/cluster_promote.hpp"
#include "tools/cluster/cluster_status.hpp"

namespace {

struct Subcommand {
    std::string_view group;
    std::string_view name;  // empty when the group is the whole command
    int (*run)(int argc, char** argv, int first);
    std::string_view usage;
};

constexpr Subcommand kSubcommands[] = {
    {"bench", "match", exchanged::tools::bench_match_main,
     "bench match [--orders N] [--seed S] [--workload mix|liquibook|lobster] [--data FILE] [--rate "
     "R] [--json]"},
    {"lobster", "check", exchanged::tools::lobster_check_main,
     "lobster check --message FILE [--orderbook FILE | --no-orderbook]"},
    {"bench", "jitter", exchanged::tools::bench_jitter_main,
     "bench jitter [--seconds S] [--rate R [--work-ns W] | --period-us P] [--json]"},
    {"wal", "dump", exchanged::tools::wal_main, "wal dump PATH [--from LSN] [--salvage]"},
    {"wal", "verify", exchanged::tools::wal_main, "wal verify PATH [--salvage]"},
    {"wal", "compare", exchanged::tools::wal_compare_main, "wal compare PATH_A PATH_B"},
    {"wal", "state", exchanged::tools::wal_state_main,
     "wal state PATH --config FILE [--to LSN] [--from-store]"},
    {"wal", "orders", exchanged::tools::wal_orders_main, "wal orders PATH"},
    {"wal", "cut", exchanged::tools::wal_cut_main, "wal cut PATH (--to LSN | --drop N)"},
    {"bench", "wal", exchanged::tools::bench_wal_main,
     "bench wal [--records N] [--record-bytes B] [--producers P] [--rate R] [--dir D] [--json]"},
    {"bench", "store", exchanged::tools::bench_store_main,
     "bench store [--backend sqlite|postgresql] [--dsn DSN] [--path FILE] [--events N] "
     "[--batch-events B] [--seed S] [--audit-log] [--json]"},
    {"bench", "recover", exchanged::tools::bench_recover_main,
     "bench recover --data-dir DIR [--config FILE] [--tail N] [--store-records N] [--seed S]"},
    {"order", "", exchanged::tools::order_main,
     "order --connect HOST:PORT --account A [--secret S] [--config FILE] --instrument SYM|ID "
     "--side buy|sell --price P --qty Q [--type limit|market] [--tif gtc|ioc|fok] "
     "[--client-order-id N] [--timeout S]"},
    {"cancel", "", exchanged::tools::cancel_main,
     "cancel --connect HOST:PORT --account A [--secret S] [--config FILE] --instrument SYM|ID "
     "--order-id N [--request-id N] [--timeout S]"},
    {"status", "", exchanged::tools::status_main,
     "status --connect HOST:PORT --account A [--secret S] [--config FILE] --instrument SYM|ID "
     "--client-order-id N [--timeout S]"},
    {"load", "", exchanged::tools::load_main,
     "load --connect HOST:PORT --orders N [--connections C] [--rate R] [--window W] [--journal "
     "FILE] [--json] [--config FILE] [--seed S] [--id-base B] [--timeout S]"},
    {"verify", "", exchanged::tools::verify_main,
     "verify --connect HOST:PORT --journal FILE [--config FILE] [--window W] [--timeout S]"},
    {"store", "verify", exchanged::tools::store_verify_main,
     "store verify --journal FILE [--config FILE] [--data-dir D]"},
    {"store", "check", exchanged::tools::store_check_main,
     "store check [--config FILE] [--data-dir D] [--full] [--repair]"},
    {"store", "lost", exchanged::tools::store_lost_main,
     "store lost --journal FILE [--kept FILE] [--max-lost N] [--config FILE] [--data-dir D]"},
    {"reconcile", "", exchanged::tools::reconcile_main,
     "reconcile [--config FILE] [--data-dir D] [--journal FILE]"},
    {"backup", "create", exchanged::tools::backup_create_main,
     "backup create --to DIR [--config FILE] [--data-dir D] [--timeout S]"},
    {"backup", "list", exchanged::tools::backup_list_main, "backup list --in DIR"},
    {"backup", "verify", exchanged::tools::backup_verify_main,
     "backup verify PATH | --latest DIR [--scratch-dsn DSN]"},
    {"backup", "restore", exchanged::tools::backup_restore_main,
     "backup restore PATH --data-dir D [--config FILE] [--dsn DSN] [--force]"},
    {"backup", "prune", exchanged::tools::backup_prune_main,
     "backup prune --in DIR --keep-days N [--dry-run]"},
    {"cluster", "status", exchanged::tools::cluster_status_main,
     "cluster status --config FILE[,FILE...] | --nodes HOST:PORT[,...] [--timeout S]"},
    {"cluster", "promote", exchanged::tools::cluster_promote_main,
     "cluster promote NODE --config FILE,FILE,... [--timeout S]"},
    {"crash", "power-loss", exchanged::tools::power_loss_main,
     "crash power-loss [--cycles N] [--seed S] [--per-seed K] [--mode drop|torn|flip|all] "
     "[--store-dir D] [--json]"},
};

void print_usage(std::FILE* out) {
    std::fprintf(out, "usage: exchangectl <command> [options]\ncommands:\n");
    for (const Subcommand& sub : kSubcommands) {
        std::fprintf(out, "  %.*s\n", static_cast<int>(sub.usage.size()), sub.usage.data());
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::string_view(argv[1]) == "help" || std::string_view(argv[1]) == "--help") {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string_view group = argv[1];
    const std::string_view name = argc > 2 ? std::string_view(argv[2]) : std::string_view();
    for (const Subcommand& sub : kSubcommands) {
        if (sub.group != group || (!sub.name.empty() && sub.name != name)) {
            continue;
        }
        try {
            return sub.run(argc, argv, sub.name.empty() ? 2 : 3);
        } catch (const exchanged::CliError& error) {
            std::fprintf(stderr, "exchangectl %.*s: error: %s\nusage: exchangectl %.*s\n",
                         static_cast<int>(group.size()), group.data(), error.what(),
                         static_cast<int>(sub.usage.size()), sub.usage.data());
            return 2;
        } catch (const std::exception& error) {
            std::fprintf(stderr, "exchangectl: error: %s\n", error.what());
            return 1;
        }
    }
    std::fprintf(stderr, "exchangectl: unknown command '%s%s%s'\n", argv[1], argc > 2 ? " " : "",
                 argc > 2 ? argv[2] : "");
    print_usage(stderr);
    return 2;
}
