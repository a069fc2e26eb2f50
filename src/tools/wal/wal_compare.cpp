// `exchangectl wal compare PATH_A PATH_B`: two replicas' logs must hold the same records (LSN,
// type and payload, byte for byte) over the LSNs both hold. Segment files cannot be compared with
// cmp: each log has its own id and its own segment boundaries.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/cli_args.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/wal/wal_path.hpp"
#include "wal/segment_format.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::tools {
namespace {

// One log's records, payloads back to back.
struct LoadedLog {
    wal::Lsn first_lsn = 0;
    std::vector<std::uint16_t> types;
    std::vector<std::size_t> ends;  // payload i is bytes [ends[i-1], ends[i])
    std::vector<std::byte> bytes;

    std::span<const std::byte> payload(std::size_t index) const {
        const std::size_t begin = index == 0 ? 0 : ends[index - 1];
        return {bytes.data() + begin, ends[index] - begin};
    }
};

bool usable(const wal::ScanResult& result, const std::string& dir) {
    if (result.end != wal::LogEnd::Corrupt) {
        return true;
    }
    std::printf("wal compare: %s is corrupt: %s\n", dir.c_str(), result.error.c_str());
    return false;
}

}  // namespace

int wal_compare_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, {});
    if (args.positional().size() != 2) {
        throw CliError("expected two PATHs (WAL or data directories), got " +
                       std::to_string(args.positional().size()));
    }
    const std::string dir_a = wal_dir_argument(args.positional()[0]);
    const std::string dir_b = wal_dir_argument(args.positional()[1]);

    LoadedLog log_a;
    wal::UringStorage storage_a(dir_a);
    const wal::ScanResult a = wal::scan_log(storage_a, {}, [&](const wal::RecordView& record) {
        if (log_a.types.empty()) {
            log_a.first_lsn = record.lsn;
        }
        log_a.types.push_back(record.type);
        log_a.bytes.insert(log_a.bytes.end(), record.payload.begin(), record.payload.end());
        log_a.ends.push_back(log_a.bytes.size());
    });
    if (!usable(a, dir_a)) {
        return 1;
    }

    std::uint64_t compared = 0;
    wal::Lsn first_compared = 0;
    std::string difference;
    wal::UringStorage storage_b(dir_b);
    const wal::ScanResult b = wal::scan_log(storage_b, {}, [&](const wal::RecordView& record) {
        if (!difference.empty() || a.records == 0 || record.lsn < a.first_lsn ||
            record.lsn > a.last_lsn) {
            return;
        }
        const std::size_t index = record.lsn - log_a.first_lsn;
        const std::span<const std::byte> payload = log_a.payload(index);
        if (log_a.types[index] != record.type) {
            difference = "LSN " + std::to_string(record.lsn) + ": type " +
                         std::to_string(log_a.types[index]) + " in A, " +
                         std::to_string(record.type) + " in B";
        } else if (payload.size() != record.payload.size()) {
            difference = "LSN " + std::to_string(record.lsn) + ": " +
                         std::to_string(payload.size()) + " payload bytes in A, " +
                         std::to_string(record.payload.size()) + " in B";
        } else if (std::memcmp(payload.data(), record.payload.data(), payload.size()) != 0) {
            const auto mismatch =
                std::mismatch(payload.begin(), payload.end(), record.payload.begin());
            difference = "LSN " + std::to_string(record.lsn) + ": payload differs at byte " +
                         std::to_string(mismatch.first - payload.begin());
        }
        if (compared == 0) {
            first_compared = record.lsn;
        }
        ++compared;
    });
    if (!usable(b, dir_b)) {
        return 1;
    }
    const auto range = [](const wal::ScanResult& result) {
        return result.records == 0 ? std::string("no records")
                                   : "LSN " + std::to_string(result.first_lsn) + ".." +
                                         std::to_string(result.last_lsn);
    };
    std::printf("A: %s (%s)\nB: %s (%s)\n", dir_a.c_str(), range(a).c_str(), dir_b.c_str(),
                range(b).c_str());
    if (!difference.empty()) {
        std::printf("wal compare: DIFFERENT at %s\n", difference.c_str());
        return 1;
    }
    if (compared == 0) {
        std::printf("wal compare: identical (no LSN in common)\n");
        return 0;
    }
    std::printf("wal compare: identical over LSN %llu..%llu (%llu records)\n",
                static_cast<unsigned long long>(first_compared),
                static_cast<unsigned long long>(first_compared + compared - 1),
                static_cast<unsigned long long>(compared));
    return 0;
}

}  // namespace exchanged::tools
