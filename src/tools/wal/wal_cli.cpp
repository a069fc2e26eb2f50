// `exchangectl wal dump PATH` and `exchangectl wal verify PATH`: read a WAL directory without
// changing it (no truncation; that is recovery's job) and report what is there.
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/cli_args.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/wal/wal_path.hpp"
#include "wal/segment_format.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::tools {
namespace {

constexpr std::size_t kDumpPayloadPrefixBytes = 16;

std::string hex_prefix(std::span<const std::byte> payload) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    const std::size_t shown = std::min(payload.size(), kDumpPayloadPrefixBytes);
    for (std::size_t i = 0; i < shown; ++i) {
        const auto value = static_cast<unsigned>(payload[i]);
        text += kDigits[value >> 4];
        text += kDigits[value & 0xF];
    }
    if (payload.size() > shown) {
        text += "...";
    }
    return text.empty() ? "-" : text;
}

int exit_code(const wal::ScanResult& result) {
    return result.end == wal::LogEnd::Corrupt ? 1 : 0;
}

void print_summary(const wal::ScanResult& result) {
    std::printf("segments: %zu\n", result.segments.size());
    std::printf("records: %llu\n", static_cast<unsigned long long>(result.records));
    if (result.records > 0) {
        std::printf("lsn range: %llu..%llu\n", static_cast<unsigned long long>(result.first_lsn),
                    static_cast<unsigned long long>(result.last_lsn));
    } else {
        std::printf("lsn range: none\n");
    }
    if (result.log_id != 0) {
        std::printf("log id: %016llx\n", static_cast<unsigned long long>(result.log_id));
    }
    std::printf("end: %s\n", wal::to_string(result.end));
    if (result.end == wal::LogEnd::TornTail) {
        std::printf("torn tail: %llu bytes", static_cast<unsigned long long>(result.torn_bytes));
        if (!result.tail_segment.empty()) {
            std::printf(" at %s offset %llu", result.tail_segment.c_str(),
                        static_cast<unsigned long long>(result.tail_offset));
        }
        std::printf(" (recovery truncates it)\n");
        for (const std::string& name : result.drop_segments) {
            std::printf("incomplete segment: %s (recovery removes it)\n", name.c_str());
        }
    }
    if (result.end == wal::LogEnd::Corrupt) {
        std::printf("corruption: %s\n", result.error.c_str());
        std::printf("corrupt segment: %s offset %llu, after LSN %llu",
                    result.corrupt_segment.c_str(),
                    static_cast<unsigned long long>(result.corrupt_offset),
                    static_cast<unsigned long long>(result.corrupt_after_lsn));
        if (result.corrupt_next_lsn != 0) {
            std::printf(", next valid LSN %llu",
                        static_cast<unsigned long long>(result.corrupt_next_lsn));
        }
        std::printf("\n");
        for (const wal::SkippedRegion& region : result.skipped) {
            std::printf("salvage skipped: %s offset %llu, LSN %llu..%llu lost\n",
                        region.segment.c_str(), static_cast<unsigned long long>(region.offset),
                        static_cast<unsigned long long>(region.after_lsn + 1),
                        static_cast<unsigned long long>(region.resume_lsn - 1));
        }
    }
}

}  // namespace

int wal_main(int argc, char** argv, int first) {
    const std::string_view command = argv[first - 1];
    static constexpr CliOption kOptions[] = {{"salvage", false}, {"from", true}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (args.positional().size() != 1) {
        throw CliError("expected exactly one PATH (a WAL directory), got " +
                       std::to_string(args.positional().size()));
    }
    const std::string path = wal_dir_argument(args.positional()[0]);
    wal::ScanOptions options;
    options.salvage = args.has("salvage");
    options.from_lsn = args.unsigned_or("from", 0);

    wal::UringStorage storage(path);
    if (command == "dump") {
        const wal::ScanResult result =
            wal::scan_log(storage, options, [](const wal::RecordView& record) {
                std::printf("lsn=%llu type=%u bytes=%zu segment=%s offset=%llu payload=%s\n",
                            static_cast<unsigned long long>(record.lsn),
                            static_cast<unsigned>(record.type), record.payload.size(),
                            record.segment->c_str(), static_cast<unsigned long long>(record.offset),
                            hex_prefix(record.payload).c_str());
            });
        std::printf("%s\n", result.describe().c_str());
        return exit_code(result);
    }
    const wal::ScanResult result = wal::scan_log(storage, options, nullptr);
    std::printf("wal: %s\n", path.c_str());
    print_summary(result);
    std::printf("usable: %s\n", result.end == wal::LogEnd::Corrupt ? "no" : "yes");
    return exit_code(result);
}

}  // namespace exchanged::tools
