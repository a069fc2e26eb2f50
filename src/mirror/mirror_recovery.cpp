#include "mirror/mirror_recovery.hpp"

#include <utility>

#include "wal/record_format.hpp"

namespace exchanged::mirror {
namespace {

// A mirror entry is one record of at most the writer's slot size; anything longer is not ours.
constexpr std::size_t kMaxRecordBytes = 64 * 1024;

wal::Lsn lsn_of_id(const std::string& id) {
    const std::size_t dash = id.find('-');
    if (dash == std::string::npos || dash == 0 || id.substr(dash) != "-0") {
        return 0;
    }
    try {
        return std::stoull(id.substr(0, dash));
    } catch (const std::exception&) {
        return 0;
    }
}

}  // namespace

engine::RecordSource mirror_source(RedisClient& client, std::string stream_key,
                                   std::uint32_t page_entries) {
    return [&client, key = std::move(stream_key), page_entries](
               wal::Lsn after_lsn, const std::function<void(const wal::RecordView&)>& each) {
        const std::string where = "Redis " + client.server() + " stream " + key;
        wal::Lsn from = after_lsn + 1;
        const std::string count = std::to_string(page_entries);
        while (true) {
            RedisReply page;
            try {
                page = client.command(
                    {"XRANGE", key, std::to_string(from) + "-0", "+", "COUNT", count});
            } catch (const RedisError& error) {
                throw engine::RecordSourceError(std::string("reading the mirror: ") + error.what());
            }
            if (page.is_error() || page.type != RedisReply::Type::Array) {
                throw engine::RecordSourceError(where + ": XRANGE: " + page.describe());
            }
            for (const RedisReply& entry : page.elements) {
                const std::string id = entry.elements.empty() ? "" : entry.elements[0].text;
                const wal::Lsn lsn = lsn_of_id(id);
                const std::string* bytes = nullptr;
                if (entry.elements.size() == 2) {
                    const auto& fields = entry.elements[1].elements;
                    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
                        if (fields[i].text == "r") {
                            bytes = &fields[i + 1].text;
                        }
                    }
                }
                if (lsn == 0 || bytes == nullptr) {
                    throw engine::RecordSourceError(where + ": entry '" + id +
                                                    "' is not a mirror record (ID <lsn>-0 with "
                                                    "field r)");
                }
                const std::span<const std::byte> in(
                    reinterpret_cast<const std::byte*>(bytes->data()), bytes->size());
                wal::DecodedRecord record;
                const wal::DecodeStatus status = wal::decode_record(in, kMaxRecordBytes, &record);
                if (status != wal::DecodeStatus::Ok || record.record_bytes != bytes->size() ||
                    record.lsn != lsn) {
                    throw engine::RecordSourceError(
                        where + ": entry " + id + " is damaged (" +
                        (status == wal::DecodeStatus::BadChecksum ? "checksum mismatch"
                         : status != wal::DecodeStatus::Ok
                             ? "bad length"
                             : "its record names LSN " + std::to_string(record.lsn)) +
                        ")");
                }
                wal::RecordView view;
                view.lsn = record.lsn;
                view.type = record.type;
                view.payload = record.payload;
                each(view);
                from = lsn + 1;
            }
            if (page.elements.size() < page_entries) {
                return;
            }
        }
    };
}

}  // namespace exchanged::mirror
