#include "repl/record_fetch.hpp"

#include <stdexcept>

#include "wal/record_format.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::repl {

namespace {

struct Full {};  // stops the scan once the answer is as large as allowed

}  // namespace

std::string read_records(const std::filesystem::path& wal_dir, wal::Lsn from, wal::Lsn to,
                         std::size_t max_bytes) {
    std::string out;
    if (from == 0 || from > to) {
        return out;
    }
    wal::ScanOptions options;
    options.from_lsn = from;
    options.to_lsn = to;
    options.skip_segments_below_from = true;
    wal::Lsn expected = from;
    wal::UringStorage storage(wal_dir.string());
    try {
        wal::scan_log(storage, options, [&](const wal::RecordView& record) {
            if (record.lsn != expected) {
                throw std::runtime_error("the WAL no longer holds LSN " + std::to_string(expected) +
                                         " (it continues at " + std::to_string(record.lsn) + ")");
            }
            const std::size_t bytes = wal::record_bytes_for(record.payload.size());
            if (!out.empty() && out.size() + bytes > max_bytes) {
                throw Full{};
            }
            const std::size_t at = out.size();
            out.resize(at + bytes);
            wal::encode_record(record.lsn, record.type, record.payload,
                               {reinterpret_cast<std::byte*>(out.data() + at), bytes});
            ++expected;
        });
    } catch (const Full&) {
        return out;
    }
    if (expected == from) {
        throw std::runtime_error("the WAL holds no record at LSN " + std::to_string(from) +
                                 " (durable up to " + std::to_string(to) + ")");
    }
    return out;
}

}  // namespace exchanged::repl
