#include "wal/record_format.hpp"

#include <cassert>
#include <cstring>

#include "common/crc32c.hpp"

namespace exchanged::wal {
namespace {

std::uint32_t record_crc(const std::byte* record, std::size_t record_bytes) {
    const std::uint32_t body = crc32c(record + 8, record_bytes - 8);
    return crc32c_extend(body, record, 4);
}

}  // namespace

std::size_t encode_record(Lsn lsn, std::uint16_t type, std::span<const std::byte> payload,
                          std::span<std::byte> out) {
    const std::size_t total = record_bytes_for(payload.size());
    assert(out.size() >= total);
    assert(total <= UINT32_MAX);
    const auto record_bytes = static_cast<std::uint32_t>(total);
    std::byte* p = out.data();
    std::memcpy(p, &record_bytes, 4);
    std::memcpy(p + 8, &lsn, 8);
    std::memcpy(p + 16, &type, 2);
    if (!payload.empty()) {
        std::memcpy(p + kRecordHeaderBytes, payload.data(), payload.size());
    }
    const std::uint32_t crc = record_crc(p, total);
    std::memcpy(p + 4, &crc, 4);
    return total;
}

DecodeStatus decode_record(std::span<const std::byte> in, std::size_t max_record_bytes,
                           DecodedRecord* out) {
    if (in.size() < 4) {
        return DecodeStatus::BadLength;
    }
    std::uint32_t record_bytes = 0;
    std::memcpy(&record_bytes, in.data(), 4);
    if (record_bytes == 0) {
        return DecodeStatus::Zero;
    }
    if (record_bytes < kRecordHeaderBytes || record_bytes > max_record_bytes ||
        record_bytes > in.size()) {
        return DecodeStatus::BadLength;
    }
    std::uint32_t stored_crc = 0;
    std::memcpy(&stored_crc, in.data() + 4, 4);
    if (stored_crc != record_crc(in.data(), record_bytes)) {
        return DecodeStatus::BadChecksum;
    }
    std::memcpy(&out->lsn, in.data() + 8, 8);
    std::memcpy(&out->type, in.data() + 16, 2);
    out->payload = in.subspan(kRecordHeaderBytes, record_bytes - kRecordHeaderBytes);
    out->record_bytes = record_bytes;
    return DecodeStatus::Ok;
}

}  // namespace exchanged::wal
