#include "repl/epoch_file.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "common/crc32c.hpp"

namespace exchanged::repl {

namespace {

constexpr std::string_view kMagic = "EXEPOCH1";
constexpr std::string_view kTempName = "epochs.tmp";
constexpr std::size_t kHeaderBytes = 16;
constexpr std::size_t kTermBytes = 16;

void put_u64(std::byte* at, std::uint64_t value) {
    for (int i = 0; i < 8; ++i) {
        at[i] = static_cast<std::byte>(value >> (8 * i));
    }
}

void put_u32(std::byte* at, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) {
        at[i] = static_cast<std::byte>(value >> (8 * i));
    }
}

std::uint64_t get_u64(const std::byte* at) {
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) {
        value |= static_cast<std::uint64_t>(at[i]) << (8 * i);
    }
    return value;
}

std::uint32_t get_u32(const std::byte* at) {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
        value |= static_cast<std::uint32_t>(at[i]) << (8 * i);
    }
    return value;
}

}  // namespace

std::vector<std::byte> encode_epoch_file(const EpochHistory& history) {
    const std::vector<TermStart>& terms = history.terms();
    std::vector<std::byte> bytes(kHeaderBytes + kTermBytes * terms.size());
    std::memcpy(bytes.data(), kMagic.data(), kMagic.size());
    put_u32(bytes.data() + 8, static_cast<std::uint32_t>(terms.size()));
    for (std::size_t i = 0; i < terms.size(); ++i) {
        std::byte* at = bytes.data() + kHeaderBytes + kTermBytes * i;
        put_u64(at, terms[i].epoch);
        put_u64(at + 8, terms[i].first_lsn);
    }
    put_u32(bytes.data() + 12, crc32c(bytes.data() + kHeaderBytes, bytes.size() - kHeaderBytes));
    return bytes;
}

EpochHistory decode_epoch_file(std::span<const std::byte> bytes, const std::string& what) {
    const auto bad = [&what](const std::string& why) {
        return std::runtime_error("the epoch history file " + what + " is damaged: " + why +
                                  " (restore it from a backup or re-sync this node by snapshot)");
    };
    if (bytes.size() < kHeaderBytes ||
        std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
        throw bad(bytes.size() < kHeaderBytes ? "shorter than its header"
                                              : "it does not start with " + std::string(kMagic));
    }
    const std::uint32_t count = get_u32(bytes.data() + 8);
    if (bytes.size() != kHeaderBytes + kTermBytes * std::uint64_t{count}) {
        throw bad(std::to_string(bytes.size()) + " bytes, " + std::to_string(count) +
                  " terms need " +
                  std::to_string(kHeaderBytes + kTermBytes * std::uint64_t{count}));
    }
    const std::uint32_t crc = crc32c(bytes.data() + kHeaderBytes, bytes.size() - kHeaderBytes);
    if (crc != get_u32(bytes.data() + 12)) {
        throw bad("CRC32C mismatch");
    }
    EpochHistory history;
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::byte* at = bytes.data() + kHeaderBytes + kTermBytes * i;
        try {
            history.begin(get_u64(at), get_u64(at + 8));
        } catch (const std::exception& e) {
            throw bad(e.what());
        }
    }
    return history;
}

std::optional<EpochHistory> read_epoch_file(wal::Storage& storage) {
    const std::vector<std::string> names = storage.list_files();
    if (std::find(names.begin(), names.end(), kEpochFileName) == names.end()) {
        return std::nullopt;
    }
    const std::string name(kEpochFileName);
    std::vector<std::byte> bytes(storage.file_bytes(name));
    storage.read(name, 0, bytes);
    return decode_epoch_file(bytes, name + " (in the WAL directory)");
}

void write_epoch_file(wal::Storage& storage, const EpochHistory& history) {
    const std::vector<std::byte> bytes = encode_epoch_file(history);
    const std::string temp(kTempName);
    storage.create_zeroed(temp, bytes.size());
    storage.write_durable(temp, 0, bytes);
    storage.rename(temp, std::string(kEpochFileName), true);
}

void sync_epoch_file(wal::Storage& storage, const EpochHistory& history) {
    const std::optional<EpochHistory> on_disk = read_epoch_file(storage);
    if (on_disk && on_disk->terms().size() == history.terms().size() &&
        std::equal(history.terms().begin(), history.terms().end(), on_disk->terms().begin(),
                   [](const TermStart& a, const TermStart& b) {
                       return a.epoch == b.epoch && a.first_lsn == b.first_lsn;
                   })) {
        return;
    }
    write_epoch_file(storage, history);
}

wal::TruncateReport cut_log_after(wal::Storage& storage, wal::Lsn keep_lsn) {
    if (std::optional<EpochHistory> history = read_epoch_file(storage)) {
        const std::size_t before = history->terms().size();
        history->truncate_after(keep_lsn);
        if (history->terms().size() != before) {
            write_epoch_file(storage, *history);
        }
    }
    return wal::truncate_log_after(storage, keep_lsn);
}

}  // namespace exchanged::repl
