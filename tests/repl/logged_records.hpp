// A WAL's records read back whole, so that tests can compare a leader's log with a follower's.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "wal/storage.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::test {

struct Logged {
    wal::Lsn lsn;
    std::uint16_t type;
    std::vector<std::byte> payload;
    bool operator==(const Logged&) const = default;
};

// Every record of the log on `storage`, which must end cleanly.
inline std::vector<Logged> read_log(wal::Storage& storage) {
    std::vector<Logged> records;
    const wal::ScanResult scan = wal::scan_log(storage, {}, [&](const wal::RecordView& record) {
        records.push_back({record.lsn, record.type,
                           std::vector<std::byte>(record.payload.begin(), record.payload.end())});
    });
    REQUIRE(scan.end == wal::LogEnd::Clean);
    return records;
}

}  // namespace exchanged::test
