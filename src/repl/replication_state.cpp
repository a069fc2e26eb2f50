#include "repl/replication_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "common/crc32c.hpp"

namespace exchanged::repl {

namespace {

constexpr const char* kMagic = "exchanged replication state v1";

std::string hex32(std::uint32_t value) {
    char text[9];
    std::snprintf(text, sizeof(text), "%08x", value);
    return text;
}

std::string os_error(const std::string& what, int error) {
    return what + ": " + std::strerror(error);
}

template <typename T>
T parse_number(const std::string& value, int base, const std::string& where) {
    T out{};
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out, base);
    if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
        throw ReplicationStateError(where + " is not a number: '" + value + "'");
    }
    return out;
}

// The value of the line `key=value` at `line`, or an error naming the line.
std::string field(const std::string& line, const std::string& key, const std::string& source,
                  int number) {
    const std::string prefix = key + "=";
    if (line.rfind(prefix, 0) != 0) {
        throw ReplicationStateError(source + ": line " + std::to_string(number) + ": expected '" +
                                    key + "=...', found '" + line + "'");
    }
    return line.substr(prefix.size());
}

void write_all(int fd, const std::string& text, const std::string& path) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw ReplicationStateError(os_error("write " + path, errno));
        }
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace

const char* to_string(StateRole role) {
    return role == StateRole::Leader ? "leader" : "follower";
}

std::string encode_replication_state(const ReplicationState& state) {
    std::string body = std::string(kMagic) + "\nepoch=" + std::to_string(state.epoch) +
                       "\nrole=" + to_string(state.role) +
                       "\nleader=" + std::to_string(state.leader) + "\n";
    return body + "crc=" + hex32(crc32c(body.data(), body.size())) + "\n";
}

ReplicationState decode_replication_state(const std::string& text, const std::string& source) {
    const std::size_t crc_at = text.rfind("crc=");
    if (crc_at == std::string::npos || text.empty() || text.back() != '\n') {
        throw ReplicationStateError(source + ": damaged replication state (" +
                                    std::to_string(text.size()) +
                                    " bytes, no complete crc line: a short or truncated file)");
    }
    const std::string body = text.substr(0, crc_at);
    const std::string crc_text = text.substr(crc_at + 4, text.size() - crc_at - 5);
    const auto stored = parse_number<std::uint32_t>(crc_text, 16, source + ": crc");
    const std::uint32_t actual = crc32c(body.data(), body.size());
    if (stored != actual) {
        throw ReplicationStateError(source + ": damaged replication state: crc " + crc_text +
                                    " stored, " + hex32(actual) + " computed");
    }
    std::istringstream lines(body);
    std::string line;
    std::getline(lines, line);
    if (line != kMagic) {
        throw ReplicationStateError(source + ": not a replication state file (first line '" + line +
                                    "', expected '" + kMagic + "')");
    }
    ReplicationState state;
    std::getline(lines, line);
    state.epoch = parse_number<Epoch>(field(line, "epoch", source, 2), 10, source + ": epoch");
    std::getline(lines, line);
    const std::string role = field(line, "role", source, 3);
    if (role == "leader") {
        state.role = StateRole::Leader;
    } else if (role == "follower") {
        state.role = StateRole::Follower;
    } else {
        throw ReplicationStateError(source + ": role '" + role +
                                    "' is neither leader nor follower");
    }
    std::getline(lines, line);
    state.leader = parse_number<NodeId>(field(line, "leader", source, 4), 10, source + ": leader");
    if (state.epoch == 0) {
        throw ReplicationStateError(source + ": epoch 0 (epochs start at 1)");
    }
    return state;
}

std::optional<ReplicationState> read_replication_state(const std::filesystem::path& path) {
    std::error_code error;
    if (!std::filesystem::exists(path, error)) {
        if (error) {
            throw ReplicationStateError("cannot look for " + path.string() + ": " +
                                        error.message());
        }
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ReplicationStateError(os_error("cannot open " + path.string(), errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        throw ReplicationStateError("cannot read " + path.string());
    }
    return decode_replication_state(text.str(), path.string());
}

void write_replication_state(const std::filesystem::path& path, const ReplicationState& state) {
    const std::filesystem::path temp = path.string() + ".tmp";
    const std::string text = encode_replication_state(state);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw ReplicationStateError(os_error("create " + temp.string(), errno));
    }
    try {
        write_all(fd, text, temp.string());
        if (::fdatasync(fd) != 0) {
            throw ReplicationStateError(os_error("fdatasync " + temp.string(), errno));
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    if (::close(fd) != 0) {
        throw ReplicationStateError(os_error("close " + temp.string(), errno));
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        throw ReplicationStateError(
            os_error("rename " + temp.string() + " to " + path.string(), errno));
    }
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        throw ReplicationStateError(os_error("open directory " + dir.string(), errno));
    }
    const bool synced = ::fsync(dir_fd) == 0;
    const int sync_error = errno;
    ::close(dir_fd);
    if (!synced) {
        throw ReplicationStateError(os_error("fsync directory " + dir.string(), sync_error));
    }
}

}  // namespace exchanged::repl
