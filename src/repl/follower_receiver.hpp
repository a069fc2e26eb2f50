// The follower's side of replication: it listens on its replication address; the leader dials
// in, the follower says Hello (its durable LSN), then appends every record of the leader's Records
// frames to its own WAL with WalWriter::append_replicated (the same group commit and fdatasync
// as a leader's) and sends an Ack with its durable LSN after each group commit. A frame error, a
// Refuse or a record that does not continue its log closes the connection with a log line naming
// why; the leader redials (docs/replication.md). A leader of a newer epoch than the one followed
// is followed once the app persisted that epoch (hooks.adopt_epoch); an older one is refused.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "repl/follower_start.hpp"
#include "repl/frame_format.hpp"
#include "repl/snapshot_staging.hpp"
#include "repl/socket_io.hpp"
#include "wal/wal_writer.hpp"

namespace exchanged::repl {

struct FollowerReceiverOptions {
    NodeId node = 0;
    Epoch epoch = 1;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  // 0: any free port (tests)
    std::size_t max_frame_bytes = kDefaultMaxFrameBytes;
    // The terms of the log the writer opened (read_log_epochs); the receiver extends it with the
    // term start records it appends and says it in every Hello.
    EpochHistory history = {};
    // Where a snapshot from the leader is staged (snapshot_staging.hpp); empty: a snapshot is
    // refused.
    std::filesystem::path snapshot_dir = {};
    // The store file a snapshot must hold for this follower (SnapshotTargets::store_name): one
    // holding the other kind is refused at its SnapshotBegin, before any of it is written.
    std::string snapshot_store = kSnapshotSqliteStore;
};

struct FollowerReceiverHooks {
    std::function<void(const std::string& line)> info;
    std::function<void(const std::string& line)> warn;
    // After each record the WAL took (the standby applier's ring). Quick, never blocking.
    std::function<void(wal::Lsn lsn, std::uint16_t type, std::span<const std::byte> payload)>
        appended;
    // The leader's commit frontier is `lsn` (each Commit frame): the standby may apply up to it.
    // The receiver's thread; quick, never blocking.
    std::function<void(wal::Lsn lsn)> committed;
    // The leader found this log departing from its own after `keep_lsn` (Truncate): close the
    // writer, cut the log to end at keep_lsn (wal::truncate_log_after), reopen it and return the
    // new writer, whose on_durable must still reach durable(). Called on the receiver's thread
    // with no connection open; a throw is logged and leaves the receiver serving the old writer.
    std::function<wal::WalWriter&(wal::Lsn keep_lsn)> truncate_log;
    // A snapshot was received whole and checked (READY in snapshot_dir) and the connection is
    // closed: close the WAL, install the snapshot, reopen the WAL and return it (the receiver
    // appends to it from now on). Throws on failure (the follower cannot go on: fatal).
    std::function<wal::WalWriter*(const SnapshotManifest& manifest)> install_snapshot;
    // A term start record this receiver appended is durable: persist `history` (the epochs file,
    // epoch_file.hpp) before the record is handed on, so that no store holds it (and no segment
    // release takes it) first. Throws on failure (fatal for the follower). Unset: not persisted.
    std::function<void(const EpochHistory& history)> save_history;
    // After install_snapshot: the installed log's history (read_log_epochs: the snapshot's epochs
    // file and its segments). Unset: an empty history.
    std::function<EpochHistory()> installed_history;
    // A frame of `epoch`, above the epoch this follower follows, came on the leader connection: a
    // leader of `epoch` exists only once a majority promised it, so this node missed that round
    // and takes the epoch as if it had promised it (docs/replication.md: Adopting a newer epoch).
    // Persist that promise before returning true; nothing of the frame is taken before. False:
    // the epoch is not to be taken (this node promised it or a higher one otherwise), and the
    // frame is refused as stale. A failed write must not return (fatal, as for a promise). Called
    // on the receiver's thread with no lock of the receiver held. Unset: every newer epoch is
    // refused.
    std::function<bool(Epoch epoch)> adopt_epoch;
    // The term start record of the epoch this follower follows was appended: `leader` wrote it,
    // so it leads that epoch (an adoption from the frames does not know the leader's node id).
    // The receiver's thread, no lock of the receiver held.
    std::function<void(Epoch epoch, NodeId leader)> leader_named;
};

class FollowerReceiver {
  public:
    // Binds the listening socket at once (throws std::runtime_error naming the address), so that
    // a port in use stops start-up; so does a log holding a term above options.epoch. `writer` must
    // outlive the receiver and be appended to by it alone.
    FollowerReceiver(FollowerReceiverOptions options, wal::WalWriter& writer,
                     FollowerReceiverHooks hooks);
    ~FollowerReceiver();
    FollowerReceiver(const FollowerReceiver&) = delete;
    FollowerReceiver& operator=(const FollowerReceiver&) = delete;

    void start();
    void stop();
    // The follower WAL's on_durable: wakes the Ack thread. Quick; the WAL writer's thread.
    void durable(wal::Lsn lsn);

    std::uint16_t port() const { return port_; }
    bool connected() const { return connected_.load(); }
    wal::Lsn received_lsn() const { return received_.load(); }
    wal::Lsn acked_lsn() const { return acked_.load(); }
    // The highest commit LSN the leader has reported (0: none yet).
    wal::Lsn commit_lsn() const { return commit_.load(std::memory_order_acquire); }
    // This node promised `epoch` to a candidate (docs/replication.md: Promotion): from the return
    // on, no record of an older epoch is appended, acks carry `epoch` (so the old leader, if it
    // still runs, learns it is deposed), and the old leader's connection is closed. Only raises.
    // (A newer epoch in the leader's frames raises it too, through hooks.adopt_epoch.)
    void promise(Epoch epoch);
    Epoch epoch() const { return epoch_.load(); }
    // The epoch of the last durable record (its term in this log), for a promise's answer.
    Epoch last_durable_epoch() const;
    // A promotion's candidate appends records it fetched from a longer log (encoded as a Records
    // payload), as if the leader had sent them; false with `why` when one does not decode or does
    // not continue the log.
    bool append_fetched(std::span<const std::byte> records, std::string& why);

  private:
    void run();
    void serve(Socket socket);
    // A dialler while another leader connection is served: Refuse(busy) with the epoch followed.
    void turn_away(const Socket& socket);
    void send_acks(const Socket& socket, const std::atomic<bool>& done);
    bool append(std::span<const std::byte> records, std::string& why);
    // A leader frame of `epoch` above the one followed: persisted through hooks_.adopt_epoch,
    // then followed. Called without promise_mutex_ (the hook writes a file, and a promise holds
    // the app's lock while it takes promise_mutex_).
    void adopt(Epoch epoch);
    // Whether a leader frame of `epoch` is followed (after adopting a newer one); otherwise sends
    // the Refuse and sets `why`. Returns with `promised` locked when it is followed.
    bool follows(const Frame& frame, const Socket& socket, std::unique_lock<std::mutex>& promised,
                 std::string& why);
    void heard_commit(wal::Lsn lsn);
    Hello hello() const;
    void cut_log(const Truncate& truncate);
    // A snapshot frame; sets `why` when the connection is to close (`installed` once whole).
    void install(const SnapshotManifest& manifest);
    void snapshot_frame(const Frame& frame, SnapshotStaging& staging, bool& complete,
                        std::string& why);
    void info(const std::string& line) const;
    void warn(const std::string& line) const;

    const FollowerReceiverOptions options_;
    wal::WalWriter* writer_;  // replaced between connections: by cut_log, or when a snapshot is
                              // installed (this thread, no acks)
    const FollowerReceiverHooks hooks_;
    EpochHistory history_;  // the receiver's thread only
    Socket listener_;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::mutex socket_mutex_;
    int live_fd_ = -1;
    std::mutex durable_mutex_;
    std::condition_variable durable_moved_;
    std::atomic<bool> connected_{false};
    // The epoch this follower follows; raised by promise() and adopt(). The frame check and its
    // append (and history_ outside the receiver's thread) run under promise_mutex_, so that
    // promise() returns only after any older-epoch append ended.
    std::atomic<Epoch> epoch_;
    mutable std::mutex promise_mutex_;
    std::atomic<wal::Lsn> received_{0};
    std::atomic<wal::Lsn> acked_{0};
    std::atomic<wal::Lsn> commit_{0};
    // The leader a term start record of the followed epoch named, for hooks_.leader_named once
    // promise_mutex_ is released. Under promise_mutex_.
    std::optional<NodeId> named_leader_;
};

}  // namespace exchanged::repl
