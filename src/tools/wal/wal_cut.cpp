// `exchangectl wal cut PATH (--to LSN | --drop N)`: ends a stopped node's log at a record
// boundary, as a power cut that lost the unsynced tail of its last group commits would leave it
// (tests/repl/new_term_test.sh drops a leader's tail this way). The epochs file loses the terms
// that began in the cut part. Only the WAL is cut: a store that already holds records above the
// cut makes the node refuse to start, as it would after a real loss of synced records.
#include <cstdio>
#include <string>

#include "common/cli_args.hpp"
#include "repl/epoch_file.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/wal/wal_path.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::tools {

int wal_cut_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {{"to", true}, {"drop", true}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (args.positional().size() != 1) {
        throw CliError("expected one PATH (a WAL or data directory), got " +
                       std::to_string(args.positional().size()));
    }
    if (args.has("to") == args.has("drop")) {
        throw CliError("give either --to LSN (the last record kept) or --drop N (records cut)");
    }
    const std::string dir = wal_dir_argument(args.positional().front());
    wal::UringStorage storage(dir);
    const wal::ScanResult scan = wal::scan_log(storage, {}, [](const wal::RecordView&) {});
    if (scan.end == wal::LogEnd::Corrupt) {
        std::printf("wal cut: %s is corrupt: %s; nothing cut\n", dir.c_str(), scan.error.c_str());
        return 1;
    }
    if (scan.records == 0) {
        std::printf("wal cut: %s holds no records; nothing cut\n", dir.c_str());
        return 1;
    }
    wal::Lsn keep = 0;
    if (args.has("to")) {
        keep = args.unsigned_or("to", 0);
    } else {
        const std::uint64_t drop = args.unsigned_or("drop", 0, 1);
        if (drop > scan.records) {
            throw CliError("--drop " + std::to_string(drop) + ": the log holds only " +
                           std::to_string(scan.records) + " records");
        }
        keep = scan.last_lsn - drop;
    }
    if (keep < scan.first_lsn - 1) {
        throw CliError("--to " + std::to_string(keep) + ": the log's first record is LSN " +
                       std::to_string(scan.first_lsn) + "; it can keep " +
                       std::to_string(scan.first_lsn - 1) + " at the least");
    }
    const wal::TruncateReport report = repl::cut_log_after(storage, keep);
    if (!report.cut) {
        std::printf("wal cut: %s ends at LSN %llu, at or before %llu: nothing cut\n", dir.c_str(),
                    static_cast<unsigned long long>(report.old_last_lsn),
                    static_cast<unsigned long long>(keep));
        return 0;
    }
    std::printf(
        "wal cut: %s: LSN %llu..%llu cut, the log ends at LSN %llu (%llu segment(s) "
        "removed)\n",
        dir.c_str(), static_cast<unsigned long long>(report.last_lsn + 1),
        static_cast<unsigned long long>(report.old_last_lsn),
        static_cast<unsigned long long>(report.last_lsn),
        static_cast<unsigned long long>(report.segments_removed));
    return 0;
}

}  // namespace exchanged::tools
