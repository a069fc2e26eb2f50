// A node's replication state that must survive a restart (docs/replication.md: Promotion): the
// highest epoch it has promised, the role it holds in that epoch and that epoch's leader. A node
// that promised epoch E must never again take records of an older epoch, nor lead an older one,
// so the promise is on disk before it is answered.
//
// The file `data_dir/replication.state` is a few lines of text ending with a CRC32C line; it is
// replaced atomically (temp file, fdatasync, rename, fsync of the directory).
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "repl/frame_format.hpp"

namespace exchanged::repl {

enum class StateRole : std::uint8_t { Leader, Follower };
const char* to_string(StateRole role);

struct ReplicationState {
    Epoch epoch = 0;  // the highest epoch this node has promised (or leads)
    StateRole role = StateRole::Follower;
    NodeId leader = 0;  // the leader of `epoch` (0: not known yet, a promise to a candidate)
    friend bool operator==(const ReplicationState&, const ReplicationState&) = default;
};

// A state file that exists but cannot be used: its text names the file and what is wrong.
class ReplicationStateError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

inline std::filesystem::path replication_state_path(const std::filesystem::path& data_dir) {
    return data_dir / "replication.state";
}

std::string encode_replication_state(const ReplicationState& state);
// Throws ReplicationStateError naming `source` when the text is short, damaged or malformed.
ReplicationState decode_replication_state(const std::string& text, const std::string& source);

// nullopt when the file does not exist; ReplicationStateError when it cannot be read or decoded.
std::optional<ReplicationState> read_replication_state(const std::filesystem::path& path);
// Durable on return. Throws ReplicationStateError on any failed step: the caller treats it as
// fatal, as a failed WAL fdatasync (the promise it was about to make would not survive a crash).
void write_replication_state(const std::filesystem::path& path, const ReplicationState& state);

}  // namespace exchanged::repl
