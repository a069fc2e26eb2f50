// Entry points of exchangectl's subcommands. Each takes the whole argv and the index of its first
// own argument, returns the process exit code, and throws CliError for bad flags.
#pragma once

namespace exchanged::tools {

int bench_match_main(int argc, char** argv, int first);
// `lobster check`: a LOBSTER day replayed and compared with the data.
int lobster_check_main(int argc, char** argv, int first);
int bench_jitter_main(int argc, char** argv, int first);
// `wal dump PATH` / `wal verify PATH` (argv[first - 1] names which); `bench wal`.
int wal_main(int argc, char** argv, int first);
// `wal compare A B`: two replicas' logs hold the same records over their common LSNs.
int wal_compare_main(int argc, char** argv, int first);
// `wal state PATH --config FILE [--to LSN] [--from-store]`: the state hash per shard after
// replaying to LSN (from LSN 1, or from the books in the data directory's store).
int wal_state_main(int argc, char** argv, int first);
// `wal orders PATH`: each command record with its epoch and payload, for the cluster checks.
int wal_orders_main(int argc, char** argv, int first);
// `wal cut PATH (--to LSN | --drop N)`: a stopped node's log ends earlier, as after a power cut.
int wal_cut_main(int argc, char** argv, int first);
int bench_wal_main(int argc, char** argv, int first);
// `bench store`: the primary store's batch throughput and commit latency.
int bench_store_main(int argc, char** argv, int first);
// `bench recover`: prepares a data directory with a WAL tail above the store for `--recover`.
int bench_recover_main(int argc, char** argv, int first);
// Client commands against a running daemon (docs/tools.md).
int order_main(int argc, char** argv, int first);
int cancel_main(int argc, char** argv, int first);
int status_main(int argc, char** argv, int first);
int load_main(int argc, char** argv, int first);
int verify_main(int argc, char** argv, int first);
// Checks of the primary store after the daemon stopped (docs/tools.md).
int store_verify_main(int argc, char** argv, int first);
// `store check`: damage in a stopped daemon's store file, and rows missing from it.
int store_check_main(int argc, char** argv, int first);
int reconcile_main(int argc, char** argv, int first);
// `store lost`: after a crash, what a lossy profile's store kept of one run's journal.
int store_lost_main(int argc, char** argv, int first);
// `backup create|list|verify|restore|prune`: online backups of the store and the WAL.
int backup_create_main(int argc, char** argv, int first);
int backup_list_main(int argc, char** argv, int first);
int backup_verify_main(int argc, char** argv, int first);
int backup_restore_main(int argc, char** argv, int first);
int backup_prune_main(int argc, char** argv, int first);
// `crash power-loss`: the seed's scenario B as seeded crash cycles in one process.
int power_loss_main(int argc, char** argv, int first);

}  // namespace exchanged::tools
