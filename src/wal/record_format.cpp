#include "wal/record_format.hpp"

#include <cassert>
#include <cstring>

#include "common/crc32c.hpp"
#include "common/little_endian.hpp"

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
    store_le(p, record_bytes);
    store_le(p + 8, lsn);
    store_le(p + 16, type);
    if (!payload.empty()) {
        std::memcpy(p + kRecordHeaderBytes, payload.data(), payload.size());
    }
    const std::uint32_t crc = record_crc(p, total);
    store_le(p + 4, crc);
    return total;
}

DecodeStatus decode_record(std::span<const std::byte> in, std::size_t max_record_bytes,
                           DecodedRecord* out) {
    if (in.size() < 4) {
        return DecodeStatus::BadLength;
    }
    const auto record_bytes = load_le<std::uint32_t>(in.data());
    if (record_bytes == 0) {
        return DecodeStatus::Zero;
    }
    if (record_bytes < kRecordHeaderBytes || record_bytes > max_record_bytes ||
        record_bytes > in.size()) {
        return DecodeStatus::BadLength;
    }
    if (load_le<std::uint32_t>(in.data() + 4) != record_crc(in.data(), record_bytes)) {
        return DecodeStatus::BadChecksum;
    }
    out->lsn = load_le<Lsn>(in.data() + 8);
    out->type = load_le<std::uint16_t>(in.data() + 16);
    out->payload = in.subspan(kRecordHeaderBytes, record_bytes - kRecordHeaderBytes);
    out->record_bytes = record_bytes;
    return DecodeStatus::Ok;
}

}  // namespace exchanged::wal
