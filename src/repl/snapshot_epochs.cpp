#include "repl/snapshot_epochs.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/crc32c.hpp"
#include "repl/epoch_file.hpp"

namespace exchanged::repl {

std::optional<SnapshotFile> add_snapshot_epochs(const std::filesystem::path& wal_dir,
                                                const std::filesystem::path& snapshot_dir,
                                                wal::Lsn last_lsn) {
    const std::filesystem::path from = wal_dir / kEpochFileName;
    std::ifstream in(from, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    const std::vector<char> raw((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
    EpochHistory history = decode_epoch_file(
        {reinterpret_cast<const std::byte*>(raw.data()), raw.size()}, from.string());
    history.truncate_after(last_lsn);
    const std::vector<std::byte> bytes = encode_epoch_file(history);
    const std::string name = "wal/" + std::string(kEpochFileName);
    const std::filesystem::path to = snapshot_dir / name;
    std::filesystem::create_directories(to.parent_path());
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
        throw std::runtime_error("writing the snapshot's epoch history " + to.string() + " failed");
    }
    return SnapshotFile{name, bytes.size(), crc32c(bytes.data(), bytes.size())};
}

}  // namespace exchanged::repl
