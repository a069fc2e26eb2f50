#include "repl/follower_receiver.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common/test_fault.hpp"
#include "engine/command_record.hpp"
#include "repl/frame_decoder.hpp"
#include "repl/log_epochs.hpp"
#include "wal/record_format.hpp"

namespace exchanged::repl {

namespace {

constexpr std::size_t kMaxRecordBytes = wal::kRecordHeaderBytes + wal::kMaxPayloadBytesLimit;

std::uint16_t bound_port(const Socket& socket) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    ::getsockname(socket.fd(), reinterpret_cast<sockaddr*>(&address), &length);
    if (address.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
    }
    return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

}  // namespace

FollowerReceiver::FollowerReceiver(FollowerReceiverOptions options, wal::WalWriter& writer,
                                   FollowerReceiverHooks hooks)
    : options_(std::move(options)),
      writer_(&writer),
      hooks_(std::move(hooks)),
      history_(options_.history),
      epoch_(options_.epoch) {
    // Its Hello would name terms above the epoch it promised, which a leader refuses as malformed.
    if (history_.last_epoch() > options_.epoch) {
        throw std::runtime_error("replication: this follower's log holds epoch " +
                                 std::to_string(history_.last_epoch()) + " (from LSN " +
                                 std::to_string(history_.terms().back().first_lsn) +
                                 "), above the epoch it follows, " +
                                 std::to_string(options_.epoch));
    }
    listener_ = listen_on(options_.host, options_.port);
    port_ = bound_port(listener_);
    acked_ = writer_->durable_lsn();
    received_ = writer_->durable_lsn();
}

FollowerReceiver::~FollowerReceiver() {
    stop();
}

void FollowerReceiver::info(const std::string& line) const {
    if (hooks_.info) {
        hooks_.info(line);
    }
}

void FollowerReceiver::warn(const std::string& line) const {
    if (hooks_.warn) {
        hooks_.warn(line);
    }
}

void FollowerReceiver::start() {
    thread_ = std::thread([this] { run(); });
}

void FollowerReceiver::stop() {
    if (stopping_.exchange(true)) {
        return;
    }
    listener_.shutdown_both();
    {
        std::lock_guard lock(socket_mutex_);
        if (live_fd_ >= 0) {
            ::shutdown(live_fd_, SHUT_RDWR);
        }
    }
    durable_moved_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void FollowerReceiver::durable(wal::Lsn /*lsn*/) {
    // Taken so that the Ack thread cannot miss the wake-up between its check and its wait.
    { std::lock_guard lock(durable_mutex_); }
    durable_moved_.notify_all();
}

void FollowerReceiver::run() {
    // One leader connection is served at a time, on its own thread, while this one goes on
    // accepting: a second dialler is told at once which epoch this node follows. Left in the
    // listen backlog instead, a deposed leader cut off by a partition never heard of the new
    // epoch after the heal (its redials waited behind the new leader's connection) and stayed
    // held, refusing its clients, until an operator restarted it.
    std::thread serving;
    std::atomic<bool> busy{false};
    while (!stopping_.load()) {
        Socket socket = accept_one(listener_);
        if (!socket.valid()) {
            if (!stopping_.load()) {
                warn("replication: accepting on port " + std::to_string(port_) +
                     " failed; no more leader connections");
            }
            break;
        }
        if (busy.load()) {
            turn_away(socket);
            continue;
        }
        if (serving.joinable()) {
            serving.join();
        }
        busy = true;
        serving = std::thread([this, &busy, connection = std::move(socket)]() mutable {
            serve(std::move(connection));
            busy = false;
        });
    }
    if (serving.joinable()) {
        serving.join();
    }
}

void FollowerReceiver::turn_away(const Socket& socket) {
    const Epoch following = epoch_.load();
    std::vector<std::byte> out;
    encode_refuse(
        {following, RefuseReason::Busy,
         "node " + std::to_string(options_.node) +
             " serves another leader connection; it follows epoch " + std::to_string(following)},
        out);
    // A short write is the dialler's loss: it redials, and this thread must not wait on it.
    write_all(socket, out);
}

void FollowerReceiver::serve(Socket socket) {
    {
        std::lock_guard lock(socket_mutex_);
        if (stopping_.load()) {
            return;
        }
        live_fd_ = socket.fd();
    }
    const Hello said = hello();
    const wal::Lsn durable = said.durable_lsn;
    std::vector<std::byte> hello_bytes;
    encode_hello(said, hello_bytes);
    std::optional<Truncate> cut;
    if (write_all(socket, hello_bytes)) {
        info("replication: leader connected; Hello with durable LSN " + std::to_string(durable));
        connected_ = true;
        std::atomic<bool> done{false};
        std::thread acks([&] { send_acks(socket, done); });
        FrameDecoder decoder(FrameDecoderOptions{options_.max_frame_bytes});
        auto chunk = std::make_unique<std::byte[]>(64 * 1024);
        SnapshotStaging staging(options_.snapshot_dir);
        bool snapshot_complete = false;
        std::string why;
        while (why.empty()) {
            const std::size_t n = read_some(socket, {chunk.get(), 64 * 1024});
            if (n == 0) {
                why = stopping_.load() ? "stopping" : "the leader closed the connection";
                break;
            }
            const bool ok = decoder.feed({chunk.get(), n}, [&](const Frame& frame) {
                if (!why.empty()) {
                    return;
                }
                if (frame.header.kind == FrameKind::Refuse) {
                    const Refuse refuse = refuse_of(frame);
                    why = std::string("the leader refused: ") + to_string(refuse.reason) + ": " +
                          refuse.text;
                    return;
                }
                const FrameKind kind = frame.header.kind;
                const bool snapshot = kind == FrameKind::SnapshotBegin ||
                                      kind == FrameKind::SnapshotChunk ||
                                      kind == FrameKind::SnapshotEnd;
                if (!snapshot && kind != FrameKind::Records && kind != FrameKind::Truncate &&
                    kind != FrameKind::Commit) {
                    why = std::string("the leader sent ") + to_string(kind);
                    return;
                }
                std::unique_lock<std::mutex> promised(promise_mutex_, std::defer_lock);
                if (!follows(frame, socket, promised, why)) {
                    return;
                }
                if (snapshot) {
                    promised.unlock();
                    snapshot_frame(frame, staging, snapshot_complete, why);
                    if (!snapshot_complete && !why.empty()) {
                        // The leader logs why and starts over on its next connection.
                        std::vector<std::byte> out;
                        encode_refuse({epoch_.load(), RefuseReason::OutOfDate, why}, out);
                        write_all(socket, out);
                    }
                } else if (kind == FrameKind::Truncate) {
                    cut = truncate_of(frame);
                    why = "the leader asked to cut this log after LSN " +
                          std::to_string(cut->keep_lsn);
                } else if (kind == FrameKind::Commit) {
                    promised.unlock();
                    heard_commit(commit_of(frame).commit_lsn);
                } else {
                    append(frame.payload, why);
                    const std::optional<NodeId> named = std::exchange(named_leader_, std::nullopt);
                    promised.unlock();
                    if (named && hooks_.leader_named) {
                        hooks_.leader_named(frame.header.epoch, *named);
                    }
                }
            });
            if (!ok) {
                why = decoder.message();
            }
        }
        done = true;
        durable_moved_.notify_all();
        socket.shutdown_both();
        acks.join();
        connected_ = false;
        if (snapshot_complete) {
            install(staging.manifest());
        } else {
            if (staging.active()) {
                staging.abandon();
            }
            if (!stopping_.load()) {
                warn("replication: connection to the leader closed: " + why);
            }
        }
    }
    {
        std::lock_guard lock(socket_mutex_);
        live_fd_ = -1;
    }
    if (cut && !stopping_.load()) {
        cut_log(*cut);
    }
}

void FollowerReceiver::heard_commit(wal::Lsn lsn) {
    // This connection's plan made the log a prefix of the leader's, so what the leader commits
    // up to here is this log's too. Every frame is handed on: a standby reopened after a snapshot
    // starts from its store again and needs to hear it, even when it did not move.
    if (lsn > commit_.load(std::memory_order_relaxed)) {
        commit_.store(lsn, std::memory_order_release);
    }
    if (hooks_.committed) {
        hooks_.committed(lsn);
    }
}

void FollowerReceiver::promise(Epoch epoch) {
    {
        std::lock_guard lock(promise_mutex_);
        if (epoch <= epoch_.load()) {
            return;
        }
        epoch_ = epoch;
    }
    std::lock_guard lock(socket_mutex_);
    if (live_fd_ >= 0) {
        ::shutdown(live_fd_, SHUT_RDWR);
    }
}

void FollowerReceiver::adopt(Epoch epoch) {
    // Mutation check: the behaviour before adoption, a follower that missed a promise round
    // refuses the new leader until an operator edits its profile.
    if (!hooks_.adopt_epoch || test_fault::armed(test_fault::Fault::RefuseNewerEpoch)) {
        return;
    }
    // Mutation check: taken in memory only, so a crash forgets a promise this node's acks made.
    if (!test_fault::armed(test_fault::Fault::AdoptWithoutPersist) && !hooks_.adopt_epoch(epoch)) {
        return;
    }
    Epoch had = 0;
    {
        std::lock_guard lock(promise_mutex_);
        had = epoch_.load();
        if (epoch <= had) {
            return;  // a promise raised it meanwhile
        }
        epoch_ = epoch;
    }
    warn("replication: adopted epoch " + std::to_string(epoch) +
         " from the leader's frames (this node had promised " + std::to_string(had) +
         "; it missed that term's promise round)");
}

bool FollowerReceiver::follows(const Frame& frame, const Socket& socket,
                               std::unique_lock<std::mutex>& promised, std::string& why) {
    if (frame.header.epoch > epoch_.load()) {
        adopt(frame.header.epoch);
    }
    promised.lock();
    const Epoch following = epoch_.load();
    if (frame.header.epoch == following) {
        return true;
    }
    promised.unlock();
    why = std::string(to_string(frame.header.kind)) + " of epoch " +
          std::to_string(frame.header.epoch) + ", this follower follows epoch " +
          std::to_string(following);
    std::vector<std::byte> out;
    encode_refuse({following, RefuseReason::StaleEpoch, why}, out);
    write_all(socket, out);
    return false;
}

Epoch FollowerReceiver::last_durable_epoch() const {
    std::lock_guard lock(promise_mutex_);
    return history_.epoch_of(writer_->durable_lsn());
}

bool FollowerReceiver::append_fetched(std::span<const std::byte> records, std::string& why) {
    std::lock_guard lock(promise_mutex_);
    const bool appended = append(records, why);
    named_leader_.reset();  // a candidate's fetch holds older terms only
    return appended;
}

Hello FollowerReceiver::hello() const {
    std::lock_guard lock(promise_mutex_);
    const wal::Lsn durable = writer_->durable_lsn();
    Hello hello{options_.node, epoch_.load(), durable, history_.epoch_of(durable), {}};
    // Terms whose records are not durable yet are not this log's to claim.
    for (const TermStart& term : history_.terms()) {
        if (term.first_lsn <= durable) {
            hello.terms.push_back(term);
        }
    }
    return hello;
}

void FollowerReceiver::cut_log(const Truncate& truncate) {
    // writer_ and history_ change: a promotion's fetch or answer must not read them meanwhile.
    std::lock_guard promised(promise_mutex_);
    const wal::Lsn keep = truncate.keep_lsn;
    const wal::Lsn last = writer_->next_lsn() - 1;
    if (keep >= last) {
        warn("replication: the leader asked to cut this log after LSN " + std::to_string(keep) +
             ", but it ends at LSN " + std::to_string(last) + "; nothing to cut");
        return;
    }
    // Both sides of the departure, for whoever reads the log after a failover.
    warn("replication: this log departs from the leader's after LSN " + std::to_string(keep) +
         ": cutting LSN " + std::to_string(keep + 1) + ".." + std::to_string(last) + " (epoch " +
         std::to_string(history_.epoch_of(keep + 1)) + ".." +
         std::to_string(history_.epoch_of(last)) + " here; the leader, in epoch " +
         std::to_string(truncate.epoch) + ", holds LSN " + std::to_string(keep + 1) + ".." +
         std::to_string(truncate.leader_last_lsn) + " from epoch " +
         std::to_string(truncate.leader_epoch_after) + ")");
    // Mutation check: the follower keeps its departed tail; the leader's next Hello plan must
    // find the same departure again and the logs never converge.
    if (test_fault::armed(test_fault::Fault::SkipDivergenceTruncate)) {
        return;
    }
    if (!hooks_.truncate_log) {
        warn(
            "replication: this follower cannot cut its log (no truncate hook); it will be "
            "asked again");
        return;
    }
    try {
        writer_ = &hooks_.truncate_log(keep);
    } catch (const std::exception& e) {
        warn(std::string("replication: cutting the log failed: ") + e.what());
        return;
    }
    history_.truncate_after(keep);
    received_ = writer_->durable_lsn();
    acked_ = writer_->durable_lsn();
    info("replication: log cut to end at LSN " + std::to_string(writer_->durable_lsn()) +
         "; waiting for the leader to stream from LSN " +
         std::to_string(writer_->durable_lsn() + 1));
}

void FollowerReceiver::snapshot_frame(const Frame& frame, SnapshotStaging& staging, bool& complete,
                                      std::string& why) {
    if (options_.snapshot_dir.empty() || !hooks_.install_snapshot) {
        why = "the leader sent a snapshot; this follower takes none";
        return;
    }
    std::string bad;
    if (frame.header.kind == FrameKind::SnapshotBegin) {
        const SnapshotManifest manifest = snapshot_begin_of(frame);
        std::uint64_t bytes = 0;
        for (const SnapshotFile& file : manifest.files) {
            bytes += file.bytes;
        }
        info("replication: snapshot: receiving the leader's store at LSN " +
             std::to_string(manifest.store_lsn) + " and its WAL up to LSN " +
             std::to_string(manifest.last_lsn) + ": " + std::to_string(manifest.files.size()) +
             " files, " + std::to_string(bytes) + " bytes, into " + options_.snapshot_dir.string());
        bad = snapshot_store_mismatch(manifest, options_.snapshot_store);
        if (bad.empty()) {
            bad = staging.begin(manifest);
        }
    } else if (frame.header.kind == FrameKind::SnapshotChunk) {
        bad = staging.chunk(snapshot_chunk_of(frame));
    } else {
        bad = staging.end(snapshot_end_of(frame));
        if (bad.empty()) {
            info("replication: snapshot: " + std::to_string(staging.bytes_received()) +
                 " bytes received and checked against the manifest; installing it");
            complete = true;
            why = "snapshot received";
            return;
        }
    }
    if (!bad.empty()) {
        why = "snapshot refused, the leader will start it over: " + bad;
        staging.abandon();
    }
}

void FollowerReceiver::install(const SnapshotManifest& manifest) {
    // writer_ and history_ change: a promotion's fetch or answer must not read them meanwhile.
    std::lock_guard promised(promise_mutex_);
    wal::WalWriter* reopened = hooks_.install_snapshot(manifest);
    if (reopened == nullptr) {
        warn("replication: the snapshot could not be installed; taking no more connections");
        stopping_ = true;
        return;
    }
    writer_ = reopened;
    // The old log's terms describe records the snapshot replaced.
    history_ = hooks_.installed_history ? hooks_.installed_history() : EpochHistory{};
    acked_ = writer_->durable_lsn();
    received_ = writer_->durable_lsn();
    info("replication: snapshot installed: the WAL holds up to LSN " +
         std::to_string(writer_->durable_lsn()) + "; continuing from LSN " +
         std::to_string(writer_->durable_lsn() + 1) + " on the next connection");
}

bool FollowerReceiver::append(std::span<const std::byte> records, std::string& why) {
    std::size_t offset = 0;
    while (offset < records.size()) {
        wal::DecodedRecord record;
        if (wal::decode_record(records.subspan(offset), kMaxRecordBytes, &record) !=
            wal::DecodeStatus::Ok) {
            // A frame's decoder checked it already; fetched records were not.
            why = "a record at byte " + std::to_string(offset) + " does not decode";
            return false;
        }
        offset += record.record_bytes;
        // Records this log took on an earlier connection come again from its durable LSN on.
        if (record.lsn < writer_->next_lsn()) {
            continue;
        }
        std::optional<TermStart> term;
        try {
            term = term_start_of(record.lsn, record.type, record.payload);
        } catch (const std::exception& e) {
            why = e.what();
            return false;
        }
        if (term && term->epoch <= history_.last_epoch()) {
            why = "the leader's term start record at LSN " + std::to_string(record.lsn) +
                  " is for epoch " + std::to_string(term->epoch) + ", not above this log's " +
                  std::to_string(history_.last_epoch());
            return false;
        }
        while (true) {
            const wal::ReplicatedAppendResult result =
                writer_->append_replicated(record.lsn, record.type, record.payload);
            if (result.not_next) {
                why = result.error;
                return false;
            }
            if (result.status == wal::AppendStatus::Ok) {
                break;
            }
            if (result.status != wal::AppendStatus::Busy || stopping_.load()) {
                why = std::string("the follower's WAL refused the record: ") +
                      wal::to_string(result.status);
                return false;
            }
            // The ring is full: wait for the group commit; TCP holds the leader back meanwhile.
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
        if (term) {
            history_.begin(term->epoch, term->first_lsn);
            if (hooks_.save_history) {
                // Once per term: wait for the group commit, so that the file never names a term
                // the log lacks, and persist it before the standby (and its store) sees it.
                if (!writer_->wait_durable(record.lsn)) {
                    why = "the term start record at LSN " + std::to_string(record.lsn) +
                          " did not become durable: " + writer_->failure();
                    return false;
                }
                try {
                    hooks_.save_history(history_);
                } catch (const std::exception& e) {
                    why = std::string("saving the epoch history: ") + e.what();
                    return false;
                }
            }
            if (term->epoch == epoch_.load()) {
                named_leader_ = engine::decode_term_start(record.lsn, record.payload).leader_node;
            }
        }
        if (hooks_.appended) {
            hooks_.appended(record.lsn, record.type, record.payload);
        }
        received_ = record.lsn;
    }
    return true;
}

void FollowerReceiver::send_acks(const Socket& socket, const std::atomic<bool>& done) {
    std::vector<std::byte> out;
    out.reserve(kFrameHeaderBytes + kAckPayloadBytes);
    wal::Lsn sent = 0;
    bool first = true;
    while (!done.load()) {
        {
            std::unique_lock lock(durable_mutex_);
            durable_moved_.wait_for(lock, std::chrono::milliseconds(20),
                                    [&] { return done.load() || writer_->durable_lsn() != sent; });
        }
        const wal::Lsn durable = writer_->durable_lsn();
        if (done.load() || (!first && durable == sent)) {
            continue;
        }
        first = false;
        out.clear();
        encode_ack({epoch_.load(), durable}, out);
        if (!write_all(socket, out)) {
            return;
        }
        sent = durable;
        acked_ = durable;
    }
}

}  // namespace exchanged::repl
