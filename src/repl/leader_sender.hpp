// The leader's side of replication: one connection thread per follower ships the WAL's records
// as Records frames, pipelined (it never waits for an Ack before sending more), and a reader
// thread per connection hands the follower's Acks to the quorum (docs/replication.md).
//
//   WAL writer --on_submitted--> ShipBuffer --copy--> sender thread --Records--> follower
//                                     (gone?) WAL files --scan--^      <--Ack-- reader thread
//
// The sender dials the follower's replication address; the follower answers with Hello, and the
// leader streams from its durable LSN + 1 (plan_follower_start), or sends Refuse and closes. A
// follower behind what the ship buffer holds is caught up from the leader's WAL files, then joins
// the live stream. A closed or failed connection is redialled with backoff. The shard threads
// never wait for any of this: the WAL writer's publish into the buffer never blocks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "repl/follower_start.hpp"
#include "repl/frame_format.hpp"
#include "repl/quorum_tracker.hpp"
#include "repl/ship_buffer.hpp"
#include "repl/snapshot_frames.hpp"
#include "repl/socket_io.hpp"

namespace exchanged::repl {

struct FollowerAddress {
    NodeId node = 0;
    std::string host;
    std::uint16_t port = 0;
};

struct LeaderSenderOptions {
    Epoch epoch = 1;
    // The terms of the leader's log (read_log_epochs, then begin_term for its own): a follower's
    // Hello is answered from it.
    EpochHistory history;
    std::vector<FollowerAddress> followers;
    std::filesystem::path wal_dir;      // the leader's WAL, for followers behind the ship buffer
    std::size_t copy_bytes = 8u << 20;  // per connection: at least one WAL batch
    std::size_t frame_records_bytes = 1u << 20;     // records per Records frame, at most
    std::chrono::milliseconds redial_min{50};       // backoff after a failed or closed
    std::chrono::milliseconds redial_max{1000};     // connection, doubling up to this
    std::chrono::milliseconds hello_timeout{2000};  // for the follower's Hello
    // After SnapshotEnd: how long the follower may take to check the files and close.
    std::chrono::milliseconds snapshot_close_timeout{60000};
    // A follower that still needs a snapshot after one was sent (it refused or never installed
    // it) gets the next one only after this pause, doubling up to snapshot_retry_max: making a
    // snapshot copies the store and reads the WAL, which a follower failing in a loop must not
    // turn into the leader's main work. Reset once the follower streams.
    std::chrono::milliseconds snapshot_retry_min{1000};
    std::chrono::milliseconds snapshot_retry_max{60000};
    // Tests only (a planted fault): this many snapshot transfers have one byte of their first
    // chunk flipped after its file was read, as a damaged disk or buffer would.
    int damage_snapshot_chunks = 0;
};

// A snapshot the leader made for a follower: its files, in `dir`, as the manifest names them.
struct SnapshotSource {
    std::filesystem::path dir;
    SnapshotManifest manifest;
};

struct LeaderSenderHooks {
    // The leader's own WAL: how far it is durable (the catch-up reads the files up to it).
    std::function<wal::Lsn()> durable_lsn;
    // Every record up to `lsn` is about to go to a follower (before the bytes are written, so an
    // Ack can never arrive before the bound that allows it).
    std::function<void(wal::Lsn lsn)> shipped;
    // The quorum's commit frontier (every record up to it is durable on a majority), told to the
    // followers so that their standbys apply only what is committed. Unset: never told.
    std::function<wal::Lsn()> commit_lsn;
    // A follower's Ack (any thread: each connection's reader).
    std::function<AckResult(NodeId node, Epoch epoch, wal::Lsn durable_lsn)> ack;
    // A follower set aside (its acks went backwards or beyond what was shipped) connected again
    // and its Hello plan succeeded: its log now continues the leader's from `durable_lsn` (it
    // was repaired or re-synced), so it counts again (QuorumTracker::readmit).
    std::function<void(NodeId node, wal::Lsn durable_lsn)> joined;
    // The oldest LSN the leader's WAL files still hold (retention); unset: 1.
    std::function<wal::Lsn()> oldest_lsn;
    std::function<void(const std::string& line)> info;
    std::function<void(const std::string& line)> warn;
    // A follower the WAL no longer covers: make a snapshot (the store at some store_lsn plus the
    // WAL segments above it; throws std::runtime_error when it cannot), and remove it once sent.
    // Unset: such a follower is refused `out of date`.
    std::function<SnapshotSource(NodeId node)> make_snapshot;
    std::function<void(const SnapshotSource& snapshot)> drop_snapshot;
};

// What one follower's connection is doing, for status and metrics.
struct FollowerStatus {
    NodeId node = 0;
    bool connected = false;
    wal::Lsn acked_lsn = 0;
    wal::Lsn sent_lsn = 0;
    std::uint64_t catch_ups = 0;  // times it was read from the WAL files
    std::uint64_t connects = 0;
    std::uint64_t snapshots = 0;  // snapshot transfers completed to it
    // From sending the newest record its last Ack covered to receiving that Ack: the follower's
    // lag in time (its network and group commit). 0 until an Ack covered a record sent.
    std::uint64_t ack_round_trip_ns = 0;
};

class LeaderSender {
  public:
    LeaderSender(LeaderSenderOptions options, ShipBuffer& buffer, LeaderSenderHooks hooks);
    ~LeaderSender();
    LeaderSender(const LeaderSender&) = delete;
    LeaderSender& operator=(const LeaderSender&) = delete;

    void start();
    // Closes every connection and joins the threads. Idempotent.
    void stop();
    std::vector<FollowerStatus> status() const;

  private:
    struct Link;
    void run(Link& link);
    // The follower's Refuse(busy) when it serves another leader connection, else nothing.
    std::optional<Refuse> serve(Link& link, Socket socket);
    bool stream(Link& link, const Socket& socket, wal::Lsn from);
    bool send_from_disk(Link& link, const Socket& socket, wal::Lsn& next);
    // Appends a Commit frame to link.frame when the frontier moved since the last one sent.
    void add_commit(Link& link);
    // While no records flow: a Commit frame alone, when the frontier moved (at most one per
    // kCommitHeartbeat).
    bool send_commit_heartbeat(Link& link, const Socket& socket);
    void read_acks(Link& link, const Socket& socket);
    bool send_refuse(const Socket& socket, RefuseReason reason, const std::string& text);
    void count_hello(Link& link, const Hello& hello);
    // Makes a snapshot and sends it (one transfer at a time, all followers together); the
    // follower closes the connection once it has checked it.
    void send_snapshot(Link& link, const Socket& socket);
    bool send_snapshot_files(const Socket& socket, const SnapshotSource& snapshot);
    void info(const std::string& line) const;
    void warn(const std::string& line) const;

    const LeaderSenderOptions options_;
    ShipBuffer& buffer_;
    const LeaderSenderHooks hooks_;
    std::vector<std::unique_ptr<Link>> links_;
    std::atomic<bool> stopping_{false};
    std::mutex snapshot_mutex_;  // one snapshot at a time
    std::atomic<int> damage_left_{0};
};

}  // namespace exchanged::repl
