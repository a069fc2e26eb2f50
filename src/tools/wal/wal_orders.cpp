// `exchangectl wal orders PATH`: each command record of a log with the epoch that wrote it (from
// the log's term start records and its epochs file) and its payload in hex, one line each. The
// cluster checks (scripts/cluster-checks.sh) find an acknowledged order's record in the log of
// the leader that acknowledged it and in the final leader's, and compare (epoch, LSN, bytes).
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/cli_args.hpp"
#include "engine/command_record.hpp"
#include "repl/log_epochs.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/wal/wal_path.hpp"
#include "wal/segment_format.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::tools {
namespace {

std::string hex(std::span<const std::byte> payload) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    text.reserve(payload.size() * 2);
    for (const std::byte byte : payload) {
        const auto value = static_cast<unsigned>(byte);
        text += kDigits[value >> 4];
        text += kDigits[value & 0xF];
    }
    return text;
}

}  // namespace

int wal_orders_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, {});
    if (args.positional().size() != 1) {
        throw CliError("expected exactly one PATH (a WAL or data directory), got " +
                       std::to_string(args.positional().size()));
    }
    const std::string path = wal_dir_argument(args.positional()[0]);
    wal::UringStorage storage(path);
    const repl::LogEpochs epochs = repl::read_log_epochs(storage);
    const wal::ScanResult result = wal::scan_log(storage, {}, [&](const wal::RecordView& record) {
        if (record.type != engine::kCommandRecordType) {
            return;
        }
        const engine::CommandRecord decoded = engine::decode_command(record.lsn, record.payload);
        const book::Command& command = decoded.command;
        std::printf("lsn=%" PRIu64 " epoch=%" PRIu64
                    " shard=%u command=%u account=%u"
                    " client_order_id=%" PRIu64 " order_id=%" PRIu64 " payload=%s\n",
                    static_cast<std::uint64_t>(record.lsn),
                    static_cast<std::uint64_t>(epochs.history.epoch_of(record.lsn)),
                    static_cast<unsigned>(decoded.shard), static_cast<unsigned>(command.type),
                    static_cast<unsigned>(command.account),
                    static_cast<std::uint64_t>(command.client_order_id),
                    static_cast<std::uint64_t>(command.order_id), hex(record.payload).c_str());
    });
    if (result.end == wal::LogEnd::Corrupt) {
        std::fprintf(stderr, "wal orders: %s is corrupt: %s\n", path.c_str(), result.error.c_str());
        return 1;
    }
    return 0;
}

}  // namespace exchanged::tools
