#include "repl/follower_receiver.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <vector>

#include "repl/frame_decoder.hpp"
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
      writer_(writer),
      hooks_(std::move(hooks)),
      epoch_(options_.epoch) {
    listener_ = listen_on(options_.host, options_.port);
    port_ = bound_port(listener_);
    acked_ = writer_.durable_lsn();
    received_ = writer_.durable_lsn();
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

void FollowerReceiver::durable(wal::Lsn /*lsn*/) {
    // Taken so that the Ack thread cannot miss the wake-up between its check and its wait.
    { std::lock_guard lock(durable_mutex_); }
    durable_moved_.notify_all();
}

void FollowerReceiver::run() {
    while (!stopping_.load()) {
        Socket socket = accept_one(listener_);
        if (!socket.valid()) {
            if (!stopping_.load()) {
                warn("replication: accepting on port " + std::to_string(port_) +
                     " failed; no more leader connections");
            }
            return;
        }
        serve(std::move(socket));
    }
}

void FollowerReceiver::serve(Socket socket) {
    {
        std::lock_guard lock(socket_mutex_);
        if (stopping_.load()) {
            return;
        }
        live_fd_ = socket.fd();
    }
    const wal::Lsn durable = writer_.durable_lsn();
    std::vector<std::byte> hello;
    const Epoch epoch = epoch_.load();
    // The last record's epoch is this follower's epoch until the log keeps its epoch history.
    encode_hello({options_.node, epoch, durable, durable > 0 ? epoch : 0}, hello);
    if (write_all(socket, hello)) {
        info("replication: leader connected; Hello with durable LSN " + std::to_string(durable));
        connected_ = true;
        std::atomic<bool> done{false};
        std::thread acks([&] { send_acks(socket, done); });
        FrameDecoder decoder(FrameDecoderOptions{options_.max_frame_bytes});
        auto chunk = std::make_unique<std::byte[]>(64 * 1024);
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
                } else if (frame.header.kind != FrameKind::Records) {
                    why = std::string("the leader sent ") + to_string(frame.header.kind);
                } else {
                    std::unique_lock promised(promise_mutex_);
                    const Epoch following = epoch_.load();
                    if (frame.header.epoch != following) {
                        promised.unlock();
                        why = "Records of epoch " + std::to_string(frame.header.epoch) +
                              ", this follower follows epoch " + std::to_string(following);
                        std::vector<std::byte> out;
                        encode_refuse({following, RefuseReason::StaleEpoch, why}, out);
                        write_all(socket, out);
                    } else {
                        append(frame.payload, why);
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
        if (!stopping_.load()) {
            warn("replication: connection to the leader closed: " + why);
        }
    }
    std::lock_guard lock(socket_mutex_);
    live_fd_ = -1;
}

bool FollowerReceiver::append_fetched(std::span<const std::byte> records, std::string& why) {
    std::lock_guard lock(promise_mutex_);
    return append(records, why);
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
        if (record.lsn < writer_.next_lsn()) {
            continue;
        }
        while (true) {
            const wal::ReplicatedAppendResult result =
                writer_.append_replicated(record.lsn, record.type, record.payload);
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
                                    [&] { return done.load() || writer_.durable_lsn() != sent; });
        }
        const wal::Lsn durable = writer_.durable_lsn();
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
