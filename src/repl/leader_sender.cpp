#include "repl/leader_sender.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <span>

#include "repl/follower_start.hpp"
#include "repl/frame_decoder.hpp"
#include "wal/record_format.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::repl {

struct LeaderSender::Link {
    explicit Link(FollowerAddress a) : address(std::move(a)) {}

    FollowerAddress address;
    std::thread thread;
    // From the ship buffer, allocated once and not zeroed: only the bytes a copy wrote are read.
    // Zeroing it (8 MiB a follower) cost a promoted leader's start about 45 ms of page faults on
    // this project's test machines.
    std::unique_ptr<std::byte[]> copy;  // options_.copy_bytes
    std::vector<std::byte> frame;       // the frame being sent, reserved once
    std::mutex socket_mutex;
    int live_fd = -1;  // the connection to shut down on stop()
    std::atomic<bool> connected{false};
    std::atomic<bool> reader_done{false};
    std::atomic<wal::Lsn> acked{0};
    std::atomic<wal::Lsn> sent{0};
    std::atomic<std::uint64_t> catch_ups{0};
    std::atomic<std::uint64_t> connects{0};
    std::atomic<std::uint64_t> snapshots{0};
    std::atomic<std::uint64_t> ack_round_trip_ns{0};
    // The sender thread's: when this follower may have its next snapshot, and the pause after it.
    std::chrono::steady_clock::time_point next_snapshot_at{};
    std::chrono::milliseconds snapshot_retry{0};
    // The sender thread's: the last commit LSN this connection was told, and when.
    wal::Lsn commit_sent = 0;
    std::chrono::steady_clock::time_point commit_sent_at;
    // When each recent frame went out, by its last LSN: a ring the sender writes and the ack
    // reader searches (both under sent_mutex; one entry per frame, never allocated).
    struct Sent {
        wal::Lsn last = 0;
        std::chrono::steady_clock::time_point at;
    };
    std::mutex sent_mutex;
    std::array<Sent, 1024> sent_at{};
    std::size_t sent_next = 0;

    void record_sent(wal::Lsn last_lsn) {
        std::lock_guard lock(sent_mutex);
        sent_at[sent_next % sent_at.size()] = Sent{last_lsn, std::chrono::steady_clock::now()};
        ++sent_next;
    }
    // The time since the newest frame an ack of `lsn` covers went out.
    void record_ack(wal::Lsn lsn) {
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(sent_mutex);
        const std::size_t held = std::min(sent_next, sent_at.size());
        for (std::size_t i = 1; i <= held; ++i) {
            const Sent& entry = sent_at[(sent_next - i) % sent_at.size()];
            if (entry.last <= lsn) {
                ack_round_trip_ns = static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(now - entry.at).count());
                return;
            }
        }
    }
};

namespace {

std::string follower_name(const FollowerAddress& address) {
    return "follower " + std::to_string(address.node) + " (" + address.host + ":" +
           std::to_string(address.port) + ")";
}

void set_receive_timeout(const Socket& socket, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(socket.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

constexpr std::size_t kMaxRecordBytes = wal::kRecordHeaderBytes + wal::kMaxPayloadBytesLimit;
// The least time between two Commit frames sent alone; with the idle wait of 20 ms, a quiet
// connection carries at most one per wait, and only when the frontier moved.
constexpr std::chrono::milliseconds kCommitHeartbeat{10};

// Aborts a scan of the WAL files from inside its callback.
struct ConnectionLost {};

}  // namespace

LeaderSender::LeaderSender(LeaderSenderOptions options, ShipBuffer& buffer, LeaderSenderHooks hooks)
    : options_(std::move(options)),
      buffer_(buffer),
      hooks_(std::move(hooks)),
      damage_left_(options_.damage_snapshot_chunks) {
    for (const FollowerAddress& address : options_.followers) {
        auto link = std::make_unique<Link>(address);
        link->copy = std::make_unique_for_overwrite<std::byte[]>(options_.copy_bytes);
        link->frame.reserve(kFrameHeaderBytes + options_.frame_records_bytes + kMaxRecordBytes);
        links_.push_back(std::move(link));
    }
}

LeaderSender::~LeaderSender() {
    stop();
}

void LeaderSender::info(const std::string& line) const {
    if (hooks_.info) {
        hooks_.info(line);
    }
}

void LeaderSender::warn(const std::string& line) const {
    if (hooks_.warn) {
        hooks_.warn(line);
    }
}

void LeaderSender::start() {
    for (auto& link : links_) {
        Link* raw = link.get();
        link->thread = std::thread([this, raw] { run(*raw); });
    }
}

void LeaderSender::stop() {
    if (stopping_.exchange(true)) {
        return;
    }
    for (auto& link : links_) {
        std::lock_guard lock(link->socket_mutex);
        if (link->live_fd >= 0) {
            ::shutdown(link->live_fd, SHUT_RDWR);
        }
    }
    for (auto& link : links_) {
        if (link->thread.joinable()) {
            link->thread.join();
        }
    }
}

std::vector<FollowerStatus> LeaderSender::status() const {
    std::vector<FollowerStatus> out;
    for (const auto& link : links_) {
        FollowerStatus s;
        s.node = link->address.node;
        s.connected = link->connected.load();
        s.acked_lsn = link->acked.load();
        s.sent_lsn = link->sent.load();
        s.catch_ups = link->catch_ups.load();
        s.connects = link->connects.load();
        s.snapshots = link->snapshots.load();
        s.ack_round_trip_ns = link->ack_round_trip_ns.load();
        out.push_back(s);
    }
    return out;
}

void LeaderSender::run(Link& link) {
    auto backoff = options_.redial_min;
    bool reported = false;
    bool busy_reported = false;  // said once while the follower stays busy
    while (!stopping_.load()) {
        Socket socket;
        try {
            socket = connect_to(link.address.host, link.address.port);
        } catch (const std::exception& e) {
            if (!reported) {
                warn("replication: " + follower_name(link.address) + ": " + e.what() +
                     "; redialling with backoff");
                reported = true;
            }
        }
        if (socket.valid()) {
            reported = false;
            const auto before = backoff;
            backoff = options_.redial_min;
            ++link.connects;
            const std::optional<Refuse> busy = serve(link, std::move(socket));
            if (busy) {
                backoff = before;  // the backoff goes on growing while the follower is busy
                if (!busy_reported && busy->epoch <= options_.epoch) {
                    info("replication: " + follower_name(link.address) + ": " + busy->text +
                         "; redialling with backoff until it is free");
                }
            }
            busy_reported = busy.has_value();
        }
        // Sleep in short steps so that stop() is not held up by a long backoff.
        const auto until = std::chrono::steady_clock::now() + backoff;
        while (!stopping_.load() && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        backoff = std::min(backoff * 2, options_.redial_max);
    }
}

bool LeaderSender::send_refuse(const Socket& socket, RefuseReason reason, const std::string& text) {
    std::vector<std::byte> out;
    encode_refuse({options_.epoch, reason, text}, out);
    return write_all(socket, out);
}

std::optional<Refuse> LeaderSender::serve(Link& link, Socket socket) {
    {
        std::lock_guard lock(link.socket_mutex);
        if (stopping_.load()) {
            return std::nullopt;
        }
        link.live_fd = socket.fd();
    }
    const std::string who = follower_name(link.address);
    // The follower speaks first: its Hello says where its log ends.
    FrameDecoder decoder;
    std::optional<Hello> hello;
    std::optional<Refuse> refused;
    std::string bad;
    set_receive_timeout(socket, options_.hello_timeout);
    std::array<std::byte, 4096> chunk{};
    while (!hello && bad.empty()) {
        const std::size_t n = read_some(socket, chunk);
        if (n == 0) {
            bad = "closed or silent before its Hello";
            break;
        }
        if (!decoder.feed(std::span(chunk).first(n), [&](const Frame& frame) {
                if (hello || !bad.empty()) {
                    return;
                }
                if (frame.header.kind == FrameKind::Hello) {
                    hello = hello_of(frame);
                } else if (frame.header.kind == FrameKind::Refuse) {
                    refused = refuse_of(frame);
                    bad = std::string("refused: ") + to_string(refused->reason) + ": " +
                          refused->text;
                } else {
                    bad = std::string("sent ") + to_string(frame.header.kind) + " before Hello";
                }
            })) {
            bad = decoder.message();
        }
    }
    set_receive_timeout(socket, std::chrono::milliseconds(0));
    if (refused && refused->reason == RefuseReason::Busy) {
        if (refused->epoch > options_.epoch) {
            // Its epoch is a promise on its disk, as a Hello's is: the quorum learns this leader
            // is deposed.
            warn("replication: " + who + ": " + refused->text + ", above this leader's " +
                 std::to_string(options_.epoch));
            hooks_.ack(link.address.node, refused->epoch, 0);
        }
    } else if (!hello) {
        warn("replication: " + who + ": " + bad + "; closing");
    } else if (hello->node != link.address.node) {
        warn("replication: " + who + " says it is node " + std::to_string(hello->node) +
             "; closing");
        send_refuse(socket, RefuseReason::DivergedLog,
                    "this address is node " + std::to_string(link.address.node) +
                        " in the leader's peers, not " + std::to_string(hello->node));
    } else {
        LeaderLog log;
        log.epoch = options_.epoch;
        log.oldest_lsn = hooks_.oldest_lsn ? hooks_.oldest_lsn() : 1;
        log.last_lsn = std::max(buffer_.last_lsn(), hooks_.durable_lsn());
        log.history = &options_.history;
        const FollowerStart start = plan_follower_start(log, *hello);
        if (start.truncated) {
            const Truncate& cut = start.truncate;
            warn("replication: " + who + "'s log departs from this leader's after LSN " +
                 std::to_string(cut.keep_lsn) + ": it holds LSN " +
                 std::to_string(cut.keep_lsn + 1) + ".." + std::to_string(hello->durable_lsn) +
                 " (its last in epoch " + std::to_string(hello->last_record_epoch) +
                 "), this leader LSN " + std::to_string(cut.keep_lsn + 1) + ".." +
                 std::to_string(cut.leader_last_lsn) + " from epoch " +
                 std::to_string(cut.leader_epoch_after) + "; telling it to cut its log");
            std::vector<std::byte> out;
            encode_truncate(cut, out);
            write_all(socket, out);
        } else if (start.refused && start.refusal.reason == RefuseReason::OutOfDate &&
                   hooks_.make_snapshot) {
            info("replication: " + who + ": " + start.refusal.text);
            send_snapshot(link, socket);
        } else if (start.refused) {
            warn("replication: " + who + ": refused: " + to_string(start.refusal.reason) + ": " +
                 start.refusal.text + "; closing");
            send_refuse(socket, start.refusal.reason, start.refusal.text);
            if (hello->epoch > options_.epoch) {
                // The follower promised a newer leader: the quorum learns this one is deposed.
                hooks_.ack(hello->node, hello->epoch, hello->durable_lsn);
            }
        } else {
            info("replication: " + who + " connected, durable LSN " +
                 std::to_string(hello->durable_lsn) + "; streaming from LSN " +
                 std::to_string(start.stream_from));
            count_hello(link, *hello);
            link.snapshot_retry = std::chrono::milliseconds(0);
            link.next_snapshot_at = {};
            link.acked = hello->durable_lsn;
            link.connected = true;
            link.reader_done = false;
            std::thread reader([&] { read_acks(link, socket); });
            stream(link, socket, start.stream_from);
            socket.shutdown_both();
            reader.join();
            link.connected = false;
            info("replication: " + who + " disconnected");
        }
    }
    std::lock_guard lock(link.socket_mutex);
    link.live_fd = -1;
    if (refused && refused->reason == RefuseReason::Busy) {
        return refused;
    }
    return std::nullopt;
}

void LeaderSender::count_hello(Link& link, const Hello& hello) {
    // The Hello counts as an Ack: a follower that lost records it had confirmed is set aside
    // here. Its plan succeeded, so its log continues this leader's from its durable LSN (it was
    // cut, re-synced or lost only a tail it is sent again): a follower set aside is readmitted.
    const AckResult joined = hooks_.ack(hello.node, hello.epoch, hello.durable_lsn);
    if (joined.outcome == AckOutcome::Counted) {
        return;
    }
    warn("replication: " + joined.error);
    if (readmits_on_join(joined.outcome) && hooks_.joined) {
        hooks_.joined(hello.node, hello.durable_lsn);
        info("replication: " + follower_name(link.address) + " readmitted from durable LSN " +
             std::to_string(hello.durable_lsn) + ": its log continues the leader's");
    }
}

void LeaderSender::read_acks(Link& link, const Socket& socket) {
    const std::string who = follower_name(link.address);
    FrameDecoder decoder;
    std::array<std::byte, 4096> chunk{};
    bool done = false;
    while (!done) {
        const std::size_t n = read_some(socket, chunk);
        if (n == 0) {
            break;
        }
        const bool ok = decoder.feed(std::span(chunk).first(n), [&](const Frame& frame) {
            if (done) {
                return;
            }
            if (frame.header.kind == FrameKind::Ack) {
                const Ack ack = ack_of(frame);
                const AckResult result = hooks_.ack(link.address.node, ack.epoch, ack.durable_lsn);
                if (result.outcome == AckOutcome::Counted) {
                    link.acked = ack.durable_lsn;
                    link.record_ack(ack.durable_lsn);
                } else if (result.outcome != AckOutcome::SetAside) {
                    warn("replication: " + result.error);
                }
            } else if (frame.header.kind == FrameKind::Refuse) {
                const Refuse refuse = refuse_of(frame);
                warn("replication: " + who + " refused the stream: " + to_string(refuse.reason) +
                     ": " + refuse.text + "; closing");
                done = true;
            } else {
                warn("replication: " + who + " sent " + to_string(frame.header.kind) +
                     " on an open stream; closing");
                done = true;
            }
        });
        if (!ok) {
            warn("replication: " + who + ": " + decoder.message() + "; closing");
            break;
        }
    }
    // Wakes the sender too, if it is still writing.
    link.reader_done = true;
    socket.shutdown_both();
}

void LeaderSender::add_commit(Link& link) {
    if (!hooks_.commit_lsn) {
        return;
    }
    const wal::Lsn commit = hooks_.commit_lsn();
    if (commit == 0 || commit <= link.commit_sent) {
        return;
    }
    encode_commit({options_.epoch, commit}, link.frame);
    link.commit_sent = commit;
    link.commit_sent_at = std::chrono::steady_clock::now();
}

bool LeaderSender::send_commit_heartbeat(Link& link, const Socket& socket) {
    if (std::chrono::steady_clock::now() - link.commit_sent_at < kCommitHeartbeat) {
        return true;
    }
    link.frame.clear();
    add_commit(link);
    return link.frame.empty() || write_all(socket, link.frame);
}

bool LeaderSender::stream(Link& link, const Socket& socket, wal::Lsn from) {
    wal::Lsn next = from;
    link.commit_sent = 0;  // a new connection: its follower is told the frontier afresh
    while (!stopping_.load()) {
        const ShipBuffer::Copy copy =
            buffer_.copy_from(next, {link.copy.get(), options_.copy_bytes});
        switch (copy.status) {
            case ShipBuffer::Status::Closed:
                return false;
            case ShipBuffer::Status::NotYet:
                // Durable but never in the buffer: the log a restarted leader recovered (its
                // buffer starts empty; batches are published before their fsync otherwise).
                // Waiting here, a follower behind it stayed behind until the next order.
                if (hooks_.durable_lsn && next <= hooks_.durable_lsn()) {
                    if (!send_from_disk(link, socket, next)) {
                        return false;
                    }
                    continue;
                }
                buffer_.wait_for(next, std::chrono::milliseconds(20));
                // A connection the reader closed shows up on the next write; a quiet one here.
                if (link.reader_done.load()) {
                    return false;
                }
                // The last records of a burst are committed after they went out: say so.
                if (!send_commit_heartbeat(link, socket)) {
                    return false;
                }
                continue;
            case ShipBuffer::Status::Gone:
                if (!send_from_disk(link, socket, next)) {
                    return false;
                }
                continue;
            case ShipBuffer::Status::Copied:
                break;
        }
        // Walk the copied batches' records; send those from `next` on, cut into frames.
        std::span<const std::byte> rest(link.copy.get(), copy.bytes);
        std::size_t frame_start = 0;  // offset in link.copy of the frame's first record
        std::size_t frame_bytes = 0;
        wal::Lsn frame_first = 0;
        std::uint32_t frame_count = 0;
        const auto flush = [&]() -> bool {
            if (frame_count == 0) {
                return true;
            }
            const wal::Lsn last = frame_first + frame_count - 1;
            hooks_.shipped(last);
            link.frame.clear();
            add_commit(link);
            encode_records(options_.epoch, frame_first, frame_count,
                           std::span<const std::byte>(link.copy.get() + frame_start, frame_bytes),
                           link.frame);
            link.record_sent(last);
            if (!write_all(socket, link.frame)) {
                return false;
            }
            link.sent = last;
            next = last + 1;
            frame_count = 0;
            frame_bytes = 0;
            return true;
        };
        std::size_t offset = 0;
        while (offset < copy.bytes) {
            wal::DecodedRecord record;
            if (wal::decode_record(rest.subspan(offset), kMaxRecordBytes, &record) !=
                wal::DecodeStatus::Ok) {
                warn("replication: a WAL batch in the ship buffer does not decode at byte " +
                     std::to_string(offset) + "; closing the connection");
                return false;
            }
            if (record.lsn >= next) {
                if (frame_count > 0 &&
                    frame_bytes + record.record_bytes > options_.frame_records_bytes) {
                    if (!flush()) {
                        return false;
                    }
                }
                if (frame_count == 0) {
                    frame_start = offset;
                    frame_first = record.lsn;
                }
                frame_bytes += record.record_bytes;
                ++frame_count;
            }
            offset += record.record_bytes;
        }
        if (!flush()) {
            return false;
        }
    }
    return false;
}

bool LeaderSender::send_from_disk(Link& link, const Socket& socket, wal::Lsn& next) {
    const std::string who = follower_name(link.address);
    const wal::Lsn durable = hooks_.durable_lsn();
    if (next > durable) {
        // Not in the buffer (a batch too large for it) and not durable yet: the files do not
        // hold it for sure until the writer's sync completes.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return true;
    }
    ++link.catch_ups;
    info("replication: " + who + " is behind the ship buffer; sending LSNs " +
         std::to_string(next) + ".." + std::to_string(durable) + " from the WAL files");
    wal::ScanOptions scan_options;
    scan_options.from_lsn = next;
    scan_options.to_lsn = durable;
    scan_options.skip_segments_below_from = true;
    std::optional<RecordsFrameBuilder> builder;
    wal::Lsn expected = next;
    bool missing = false;
    const auto send = [&]() {
        if (!builder) {
            return;
        }
        builder->finish();
        hooks_.shipped(expected - 1);
        link.record_sent(expected - 1);
        if (!write_all(socket, link.frame)) {
            throw ConnectionLost{};
        }
        link.sent = expected - 1;
        builder.reset();
    };
    try {
        wal::UringStorage storage(options_.wal_dir.string());
        wal::scan_log(storage, scan_options, [&](const wal::RecordView& record) {
            if (stopping_.load()) {
                throw ConnectionLost{};
            }
            if (record.lsn != expected) {
                missing = true;
                throw ConnectionLost{};
            }
            if (!builder) {
                link.frame.clear();
                add_commit(link);
                builder.emplace(link.frame, options_.epoch, record.lsn);
            }
            builder->add(record.lsn, record.type, record.payload);
            ++expected;
            if (builder->frame_bytes() >= options_.frame_records_bytes) {
                send();
            }
        });
        send();
    } catch (const ConnectionLost&) {
        if (!missing) {
            return false;
        }
    } catch (const std::exception& e) {
        warn("replication: reading the WAL files for " + who + ": " + e.what() + "; closing");
        return false;
    }
    if (missing || expected == next) {
        const std::string text = "the leader's WAL no longer holds LSN " + std::to_string(next) +
                                 " (it re-syncs by snapshot on the next connection)";
        warn("replication: " + who + ": " + text + "; refusing it");
        send_refuse(socket, RefuseReason::OutOfDate, text);
        return false;
    }
    next = expected;
    return true;
}

void LeaderSender::send_snapshot(Link& link, const Socket& socket) {
    const std::string who = follower_name(link.address);
    const auto now = std::chrono::steady_clock::now();
    if (now < link.next_snapshot_at) {
        // The connection waits rather than being refused: a refusal would be redialled at once.
        info("replication: " + who + " did not install the last snapshot; the next in " +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::milliseconds>(link.next_snapshot_at - now)
                     .count()) +
             " ms");
        while (!stopping_.load() && std::chrono::steady_clock::now() < link.next_snapshot_at) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (stopping_.load()) {
            return;
        }
    }
    std::unique_lock lock(snapshot_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {
        const std::string text = "another follower's snapshot is being sent; retrying after it";
        info("replication: " + who + ": " + text);
        send_refuse(socket, RefuseReason::OutOfDate, text);
        return;
    }
    SnapshotSource snapshot;
    try {
        snapshot = hooks_.make_snapshot(link.address.node);
    } catch (const std::exception& e) {
        warn("replication: " + who + ": making a snapshot failed: " + e.what() + "; retrying");
        send_refuse(socket, RefuseReason::OutOfDate, std::string("no snapshot: ") + e.what());
        return;
    }
    std::uint64_t bytes = 0;
    for (const SnapshotFile& file : snapshot.manifest.files) {
        bytes += file.bytes;
    }
    info("replication: " + who + ": sending a snapshot: store at LSN " +
         std::to_string(snapshot.manifest.store_lsn) + ", WAL up to LSN " +
         std::to_string(snapshot.manifest.last_lsn) + ", " +
         std::to_string(snapshot.manifest.files.size()) + " files, " + std::to_string(bytes) +
         " bytes");
    const bool sent = send_snapshot_files(socket, snapshot);
    if (hooks_.drop_snapshot) {
        hooks_.drop_snapshot(snapshot);
    }
    link.snapshot_retry = link.snapshot_retry.count() == 0
                              ? options_.snapshot_retry_min
                              : std::min(link.snapshot_retry * 2, options_.snapshot_retry_max);
    link.next_snapshot_at = std::chrono::steady_clock::now() + link.snapshot_retry;
    if (!sent) {
        warn("replication: " + who + ": the snapshot transfer broke off; it starts over on the " +
             "next connection");
        return;
    }
    // The follower checks the files and closes; closing first could reset what it has not read.
    set_receive_timeout(socket, options_.snapshot_close_timeout);
    std::array<std::byte, 4096> chunk{};
    FrameDecoder decoder;
    std::string refused;
    while (true) {
        const std::size_t n = read_some(socket, chunk);
        if (n == 0) {
            break;
        }
        decoder.feed(std::span(chunk).first(n), [&](const Frame& frame) {
            if (frame.header.kind == FrameKind::Refuse) {
                refused = refuse_of(frame).text;
            }
        });
    }
    if (refused.empty()) {
        ++link.snapshots;
        info("replication: " + who + ": snapshot sent (" + std::to_string(bytes) +
             " bytes); it continues from LSN " + std::to_string(snapshot.manifest.last_lsn + 1) +
             " or so once it has installed it");
    } else {
        warn("replication: " + who + " refused the snapshot: " + refused);
    }
}

bool LeaderSender::send_snapshot_files(const Socket& socket, const SnapshotSource& snapshot) {
    // The snapshot's WAL copy ships its records: the follower's next Hello may claim them all
    // (some perhaps not yet durable here), which the bound on acks must allow.
    hooks_.shipped(snapshot.manifest.last_lsn);
    std::vector<std::byte> out;
    encode_snapshot_begin(options_.epoch, snapshot.manifest, out);
    if (!write_all(socket, out)) {
        return false;
    }
    std::vector<std::byte> data(kMaxSnapshotChunkBytes);
    bool damage = damage_left_.fetch_sub(1) > 0;
    for (std::uint32_t index = 0; index < snapshot.manifest.files.size(); ++index) {
        const SnapshotFile& file = snapshot.manifest.files[index];
        const std::filesystem::path path = snapshot.dir / file.name;
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            warn("replication: snapshot: cannot open " + path.string());
            return false;
        }
        std::uint64_t offset = 0;
        bool ok = true;
        while (ok && offset < file.bytes && !stopping_.load()) {
            const std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), file.bytes - offset));
            const ssize_t n = ::pread(fd, data.data(), want, static_cast<off_t>(offset));
            if (n <= 0) {
                warn("replication: snapshot: reading " + path.string() + " at " +
                     std::to_string(offset) + " failed or ended before its manifest size");
                ok = false;
                break;
            }
            if (damage) {
                data[0] ^= std::byte{0x01};
                damage = false;
            }
            out.clear();
            encode_snapshot_chunk(
                options_.epoch,
                {index, offset,
                 std::span<const std::byte>(data.data(), static_cast<std::size_t>(n))},
                out);
            ok = write_all(socket, out);
            offset += static_cast<std::uint64_t>(n);
        }
        ::close(fd);
        if (!ok || stopping_.load()) {
            return false;
        }
    }
    out.clear();
    encode_snapshot_end(options_.epoch, static_cast<std::uint32_t>(snapshot.manifest.files.size()),
                        out);
    return write_all(socket, out);
}

}  // namespace exchanged::repl
