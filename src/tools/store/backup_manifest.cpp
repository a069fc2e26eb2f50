#include "tools/store/backup_manifest.hpp"

#include <ctime>
#include <exception>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

// Boost 1.74's JSON parser pulls in boost/bind.hpp, which otherwise prints a deprecation note.
#define BOOST_BIND_GLOBAL_PLACEHOLDERS
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include "common/crc32c.hpp"
#include "common/json_text.hpp"

namespace exchanged::tools {
namespace {

namespace pt = boost::property_tree;

constexpr const char* kSelfChecksumField = "manifest_crc32c";

std::string hex32(std::uint32_t value) {
    char text[16];
    std::snprintf(text, sizeof text, "%08x", value);
    return text;
}

pt::ptree read_json_file(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) {
        throw std::runtime_error(file.string() + ": cannot be read (is this a backup directory?)");
    }
    pt::ptree tree;
    try {
        pt::read_json(in, tree);
    } catch (const pt::json_parser_error& error) {
        throw std::runtime_error(file.string() + ": not valid JSON: " + error.message() +
                                 " at line " + std::to_string(error.line()));
    }
    return tree;
}

template <typename T>
T field(const pt::ptree& tree, const char* name, const std::filesystem::path& file) {
    try {
        return tree.get<T>(name);
    } catch (const pt::ptree_error&) {
        throw std::runtime_error(file.string() + ": missing or malformed \"" + name + "\"");
    }
}

}  // namespace

std::string to_json(const BackupManifest& m) {
    std::ostringstream out;
    out << "{\n  \"format\": " << m.format << ",\n  \"created\": " << json_string(m.created)
        << ",\n  \"profile\": " << json_string(m.profile)
        << ",\n  \"config\": " << json_string(m.config)
        << ",\n  \"store_backend\": " << json_string(m.backend);
    if (!m.store_schema.empty()) {
        out << ",\n  \"store_schema\": " << json_string(m.store_schema);
    }
    out << ",\n  \"mode\": " << json_string(m.mode) << ",\n  \"store_lsn\": " << m.store_lsn
        << ",\n  \"wal_first_lsn\": " << m.wal_first_lsn
        << ",\n  \"wal_last_lsn\": " << m.wal_last_lsn << ",\n  \"files\": [";
    for (std::size_t i = 0; i < m.files.size(); ++i) {
        const BackupFile& f = m.files[i];
        out << (i == 0 ? "\n" : ",\n") << "    {\"name\": " << json_string(f.name)
            << ", \"bytes\": " << f.bytes << ", \"crc32c\": \"" << hex32(f.crc32c) << "\"}";
    }
    out << "\n  ]";
    // The manifest's own checksum, over every byte before this field: a flipped byte anywhere
    // in it is caught and the manifest named, not a file whose listed checksum it changed.
    const std::string body = out.str();
    return body + ",\n  \"" + kSelfChecksumField + "\": \"" +
           hex32(crc32c(body.data(), body.size())) + "\"\n}\n";
}

std::string to_json(const VerifiedMark& mark) {
    std::ostringstream out;
    out << "{\n  \"verified_at\": " << json_string(mark.verified_at)
        << ",\n  \"last_lsn\": " << mark.last_lsn << ",\n  \"state_hashes\": [";
    for (std::size_t i = 0; i < mark.state_hashes.size(); ++i) {
        // As text: a JSON reader may hold numbers in a double, which cannot keep 64 bits.
        out << (i == 0 ? "" : ", ") << '"' << mark.state_hashes[i] << '"';
    }
    out << "]\n}\n";
    return out.str();
}

// The manifest's text must end in its own checksum field, and that must match the text before it.
void check_self_checksum(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string marker = ",\n  \"" + std::string(kSelfChecksumField) + "\": \"";
    const std::size_t at = text.rfind(marker);
    if (at == std::string::npos || text.size() < at + marker.size() + 8) {
        throw std::runtime_error(file.string() + ": damaged: its checksum field \"" +
                                 kSelfChecksumField + "\" is missing");
    }
    const std::string stored = text.substr(at + marker.size(), 8);
    const std::string actual = hex32(crc32c(text.data(), at));
    if (stored != actual || text.substr(at + marker.size() + 8) != "\"\n}\n") {
        throw std::runtime_error(file.string() + ": damaged: CRC32C " + actual +
                                 ", its checksum field says " + stored);
    }
}

BackupManifest read_manifest(const std::filesystem::path& backup_dir) {
    const std::filesystem::path file = backup_dir / kManifestName;
    if (std::filesystem::exists(file)) {
        check_self_checksum(file);
    }
    const pt::ptree tree = read_json_file(file);
    BackupManifest m;
    m.format = field<int>(tree, "format", file);
    if (m.format != 1) {
        throw std::runtime_error(file.string() + ": format " + std::to_string(m.format) +
                                 " is not one this build reads (1)");
    }
    m.created = field<std::string>(tree, "created", file);
    m.profile = field<std::string>(tree, "profile", file);
    m.config = field<std::string>(tree, "config", file);
    m.backend = field<std::string>(tree, "store_backend", file);
    m.store_schema = tree.get<std::string>("store_schema", "");
    if (m.backend != "sqlite" && m.backend != "postgresql") {
        throw std::runtime_error(file.string() + ": store_backend \"" + m.backend +
                                 "\" is neither sqlite nor postgresql");
    }
    if (m.backend == "postgresql" && m.store_schema.empty()) {
        throw std::runtime_error(file.string() + ": a postgresql backup without \"store_schema\"");
    }
    m.mode = field<std::string>(tree, "mode", file);
    m.store_lsn = field<std::uint64_t>(tree, "store_lsn", file);
    m.wal_first_lsn = field<std::uint64_t>(tree, "wal_first_lsn", file);
    m.wal_last_lsn = field<std::uint64_t>(tree, "wal_last_lsn", file);
    const auto files = tree.get_child_optional("files");
    if (!files) {
        throw std::runtime_error(file.string() + ": missing \"files\"");
    }
    for (const auto& [key, entry] : *files) {
        BackupFile f;
        f.name = field<std::string>(entry, "name", file);
        f.bytes = field<std::uint64_t>(entry, "bytes", file);
        const std::string crc = field<std::string>(entry, "crc32c", file);
        try {
            std::size_t used = 0;
            f.crc32c = static_cast<std::uint32_t>(std::stoul(crc, &used, 16));
            if (used != crc.size()) {
                throw std::invalid_argument(crc);
            }
        } catch (const std::exception&) {
            throw std::runtime_error(file.string() + ": crc32c \"" + crc + "\" of " + f.name +
                                     " is not hexadecimal");
        }
        if (f.name.empty() || f.name.front() == '/' || f.name.find("..") != std::string::npos) {
            throw std::runtime_error(file.string() + ": file name \"" + f.name +
                                     "\" is not inside the backup");
        }
        m.files.push_back(std::move(f));
    }
    return m;
}

std::optional<VerifiedMark> read_verified(const std::filesystem::path& backup_dir) {
    const std::filesystem::path file = backup_dir / kVerifiedName;
    if (!std::filesystem::exists(file)) {
        return std::nullopt;
    }
    const pt::ptree tree = read_json_file(file);
    VerifiedMark mark;
    mark.verified_at = field<std::string>(tree, "verified_at", file);
    mark.last_lsn = field<std::uint64_t>(tree, "last_lsn", file);
    if (const auto hashes = tree.get_child_optional("state_hashes")) {
        for (const auto& [key, value] : *hashes) {
            mark.state_hashes.push_back(value.get_value<std::uint64_t>());
        }
    }
    return mark;
}

std::string utc_now_iso() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

std::string utc_compact(const std::string& iso) {
    std::string out;
    for (const char c : iso) {
        if (c != '-' && c != ':') {
            out += c;
        }
    }
    return out;
}

std::optional<std::int64_t> parse_utc_iso(const std::string& iso) {
    std::tm utc{};
    const char* end = strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &utc);
    if (end == nullptr || *end != '\0') {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(timegm(&utc));
}

}  // namespace exchanged::tools
