#include "mirror/mirror_log.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/test_fault.hpp"
#include "wal/record_format.hpp"

namespace exchanged::mirror {
namespace {

using Clock = std::chrono::steady_clock;

// The largest record the shards append (a command record is 68 bytes, a checkpoint 24).
constexpr std::uint32_t kMaxPayloadBytes = 240;
constexpr std::uint32_t kSlotBytes =
    static_cast<std::uint32_t>(wal::kRecordHeaderBytes) + kMaxPayloadBytes;
// Between connection attempts while Redis is down.
constexpr std::chrono::milliseconds kReconnectPause{100};

std::string entry_id(wal::Lsn lsn) {
    return std::to_string(lsn) + "-0";
}

// The LSN of a stream ID "<lsn>-<n>"; 0 when it is not one.
wal::Lsn lsn_of(const std::string& id) {
    const std::size_t dash = id.find('-');
    try {
        return dash == std::string::npos ? 0 : std::stoull(id.substr(0, dash));
    } catch (const std::exception&) {
        return 0;
    }
}

// The value of field "r" of one XRANGE entry ([id, [field, value, ...]]); null when absent.
const std::string* record_field(const RedisReply& entry) {
    if (entry.elements.size() != 2) {
        return nullptr;
    }
    const auto& fields = entry.elements[1].elements;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].text == "r") {
            return &fields[i + 1].text;
        }
    }
    return nullptr;
}

}  // namespace

std::string stream_key(const std::string& prefix) {
    return prefix + "log";
}

MirrorLog::MirrorLog(MirrorOptions options)
    : options_(std::move(options)),
      ring_(options_.queue_records, kSlotBytes, options_.first_lsn),
      durable_(options_.first_lsn - 1),
      store_lsn_(options_.store_lsn) {
    if (options_.first_lsn == 0) {
        throw std::invalid_argument("the mirror's first LSN must be at least 1");
    }
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
        throw std::runtime_error(std::string("mirror: eventfd: ") + std::strerror(errno));
    }
    stats_.durable_lsn = options_.first_lsn - 1;
    stats_.unavailable = true;
}

void MirrorLog::start() {
    connect();
    if (failed()) {
        throw std::runtime_error("mirror: " + failure_);
    }
    writer_done_.store(false, std::memory_order_release);
    writer_ = std::thread([this] {
        run();
        writer_done_.store(true, std::memory_order_release);
        moved_.notify_all();
    });
}

MirrorLog::~MirrorLog() {
    close();
    ::close(wake_fd_);
}

wal::AppendResult MirrorLog::try_append(std::uint16_t type,
                                        std::span<const std::byte> payload) noexcept {
    if (failed_.load(std::memory_order_acquire)) {
        return {wal::AppendStatus::Failed, 0};
    }
    // Redis is not answering: what is taken now could not be acknowledged in time, so the order
    // is refused (unavailable) instead of held.
    if (unavailable_.load(std::memory_order_acquire)) {
        return {wal::AppendStatus::Closed, 0};
    }
    if (payload.size() > kMaxPayloadBytes) {
        return {wal::AppendStatus::TooLarge, 0};
    }
    wal::Lsn lsn = 0;
    switch (ring_.try_claim(&lsn)) {
        case wal::RecordRing::Claim::Ok:
            break;
        case wal::RecordRing::Claim::Full:
            return {wal::AppendStatus::Busy, 0};
        default:
            return {wal::AppendStatus::Closed, 0};
    }
    const std::size_t bytes = wal::encode_record(lsn, type, payload, ring_.slot(lsn));
    ring_.publish(lsn, static_cast<std::uint32_t>(bytes));
    // Only a sleeping writer costs a system call, and only the first producer to see it asleep.
    if (writer_sleeping_.load(std::memory_order_seq_cst) &&
        writer_sleeping_.exchange(false, std::memory_order_seq_cst)) {
        const std::uint64_t one = 1;
        [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof one);
    }
    return {wal::AppendStatus::Ok, lsn};
}

bool MirrorLog::wait_durable(wal::Lsn lsn) const {
    std::unique_lock lock(mutex_);
    moved_.wait_for(lock, std::chrono::milliseconds(10),
                    [&] { return durable_lsn() >= lsn || failed() || ring_.closed(); });
    if (durable_lsn() >= lsn) {
        return true;
    }
    // Closed with no writer left: `lsn` will never be sent.
    return !failed() && !(ring_.closed() && writer_done_.load(std::memory_order_acquire));
}

void MirrorLog::stored(wal::Lsn lsn) noexcept {
    wal::Lsn seen = store_lsn_.load(std::memory_order_relaxed);
    while (lsn > seen && !store_lsn_.compare_exchange_weak(seen, lsn, std::memory_order_release)) {
    }
}

void MirrorLog::close() {
    if (stopping_.exchange(true)) {
        return;
    }
    ring_.close();
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof one);
    if (writer_.joinable()) {
        writer_.join();
    }
    moved_.notify_all();
    if (options_.on_durable) {
        options_.on_durable(durable_lsn());
    }
}

MirrorStats MirrorLog::stats() const {
    std::lock_guard lock(mutex_);
    MirrorStats out = stats_;
    out.durable_lsn = durable_lsn();
    out.unavailable = unavailable();
    out.failed = failed();
    return out;
}

void MirrorLog::run() {
    pthread_setname_np(pthread_self(), "mirror");
    while (!failed()) {
        if (hold_expired()) {
            break;
        }
        const bool closing = stopping_.load(std::memory_order_acquire);
        const wal::Lsn end = ring_.claimed_end();
        if (closing && durable_lsn() + 1 >= end) {
            break;  // everything appended is in Redis
        }
        if (client_ == nullptr) {
            if (closing && !last_error_.empty()) {
                break;  // Redis is down at close: what it lacks was never acknowledged
            }
            if (Clock::now() < next_connect_) {
                sleep_until_work(kReconnectPause);
                continue;
            }
            connect();
            continue;
        }
        // Due confirmations go first: under a steady flow the ring is never empty, and Redis
        // would otherwise grow with everything the store already has.
        const Clock::time_point now = Clock::now();
        if (now >= next_confirm_ && !closing) {
            confirm();
            next_confirm_ = Clock::now() + options_.confirm_interval;
            continue;
        }
        if (send_batch()) {
            continue;
        }
        if (!closing) {
            sleep_until_work(
                std::max(std::chrono::milliseconds(1),
                         std::chrono::ceil<std::chrono::milliseconds>(next_confirm_ - now)));
        }
    }
    client_.reset();
}

void MirrorLog::connect() {
    const bool first = stats().reconnects == 0 && last_error_.empty();
    try {
        client_ = std::make_unique<RedisClient>(options_.host, options_.port, options_.timeout);
        resync();
    } catch (const RedisError& error) {
        client_.reset();
        next_connect_ = Clock::now() + kReconnectPause;
        if (last_error_ != error.what()) {
            last_error_ = error.what();
            if (options_.on_error) {
                options_.on_error("mirror: " + last_error_ +
                                  "; new orders are refused as unavailable until Redis answers");
            }
        }
        return;
    }
    if (failed()) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        ++stats_.reconnects;
    }
    if (!first && options_.on_info) {
        options_.on_info("mirror: Redis " + client_->server() + " answers again at LSN " +
                         std::to_string(durable_lsn()) + "; taking orders");
    }
    last_error_.clear();
    unavailable_.store(false, std::memory_order_release);
}

// After a (re)connect: where does the stream end, against what this log sent?
void MirrorLog::resync() {
    const RedisReply info = client_->command({"XINFO", "STREAM", options_.stream_key});
    wal::Lsn last = 0;
    if (info.type == RedisReply::Type::Array) {
        for (std::size_t i = 0; i + 1 < info.elements.size(); i += 2) {
            if (info.elements[i].text == "last-generated-id") {
                last = lsn_of(info.elements[i + 1].text);
            }
        }
    } else if (!info.is_error() || info.text.find("no such key") == std::string::npos) {
        throw RedisError("Redis " + client_->server() + ": XINFO STREAM " + options_.stream_key +
                         ": " + info.describe());
    }
    const wal::Lsn durable = durable_lsn();
    if (last <= durable) {
        if (last < durable && last + 1 > store_lsn_.load(std::memory_order_acquire) &&
            options_.on_error) {
            // Acknowledged entries the store does not hold yet are gone from Redis (it restarted
            // without them: appendfsync is not always, or its files were replaced).
            options_.on_error("mirror: Redis's stream " + options_.stream_key + " ends at LSN " +
                              std::to_string(last) + " but it acknowledged up to " +
                              std::to_string(durable) +
                              "; those not yet in the store are only in memory until it commits "
                              "them");
        }
        return;
    }
    // The failed batch reached Redis in part or in whole: count it sent only if the entries are
    // the ones the ring holds.
    const wal::Lsn end = ring_.claimed_end();
    std::string why;
    if (last >= end) {
        why = "it holds LSN " + std::to_string(last) + ", above any this daemon appended (" +
              std::to_string(end - 1) + ")";
    } else {
        const std::string from = entry_id(durable + 1);
        const std::string to = entry_id(last);
        const RedisReply range = client_->command({"XRANGE", options_.stream_key, from, to});
        wal::Lsn expect = durable + 1;
        for (const RedisReply& entry : range.elements) {
            const std::string* bytes = record_field(entry);
            const auto record =
                ring_.ready(expect) ? ring_.record(expect) : std::span<const std::byte>{};
            if (entry.elements.empty() || lsn_of(entry.elements[0].text) != expect ||
                bytes == nullptr || record.empty() || bytes->size() != record.size() ||
                std::memcmp(bytes->data(), record.data(), record.size()) != 0) {
                why = "its entry for LSN " + std::to_string(expect) +
                      " is not the record this daemon sent";
                break;
            }
            ++expect;
        }
        if (why.empty() && expect != last + 1) {
            why = "entries " + std::to_string(expect) + " to " + std::to_string(last) +
                  " are missing";
        }
    }
    if (!why.empty()) {
        fail("Redis's stream " + options_.stream_key + " does not continue this daemon's log: " +
             why + "; another daemon writes it, or it belongs to another store");
        return;
    }
    set_durable(last);
}

bool MirrorLog::send_batch() {
    const wal::Lsn first = durable_lsn() + 1;
    wal::Lsn lsn = first;
    const Clock::time_point sent_at = Clock::now();
    std::vector<std::string> ids;
    ids.reserve(options_.batch_records);
    try {
        while (lsn - first < options_.batch_records && ring_.ready(lsn)) {
            const auto record = ring_.record(lsn);
            ids.push_back(entry_id(lsn));
            client_->append(
                {"XADD", options_.stream_key, ids.back(), "r",
                 std::string_view(reinterpret_cast<const char*>(record.data()), record.size())});
            ++lsn;
        }
        if (lsn == first) {
            return false;
        }
        if (test_fault::armed(test_fault::Fault::MirrorAckBeforeReply)) {
            set_durable(lsn - 1);  // the planted fault: acks before Redis has the batch
        }
        wal::Lsn taken = first - 1;
        std::string refused;
        for (wal::Lsn at = first; at < lsn; ++at) {
            const RedisReply reply = client_->read();
            if (reply.is_error() || reply.type != RedisReply::Type::String) {
                if (refused.empty()) {
                    refused = "XADD " + ids[at - first] + ": " + reply.describe();
                }
            } else if (refused.empty()) {
                taken = at;
            }
        }
        {
            // Counted before the frontier moves, so whoever saw it move sees the counts.
            std::lock_guard lock(mutex_);
            ++stats_.batches;
            stats_.records += taken - (first - 1);
            if (!refused.empty()) {
                ++stats_.failed_round_trips;
            }
        }
        if (taken >= first) {
            set_durable(taken);
        }
        if (refused.empty()) {
            return true;
        }
        last_error_ = refused;
    } catch (const RedisError& error) {
        std::lock_guard lock(mutex_);
        ++stats_.failed_round_trips;
        last_error_ = error.what();
    }
    // Reconnect and resync: the reply says what Redis took of the batch.
    lost_connection(last_error_, sent_at);
    return true;
}

void MirrorLog::lost_connection(const std::string& why, Clock::time_point since) {
    client_.reset();
    unavailable_.store(true, std::memory_order_release);
    next_connect_ = Clock::now();
    if (silent_since_ == Clock::time_point{}) {
        silent_since_ = since;
    }
    if (options_.on_error) {
        options_.on_error("mirror: " + why +
                          "; acks wait and new orders are refused as unavailable until Redis "
                          "answers again");
    }
    moved_.notify_all();
}

void MirrorLog::confirm() {
    const wal::Lsn store_lsn = store_lsn_.load(std::memory_order_acquire);
    try {
        if (store_lsn + 1 > trimmed_below_) {
            const std::string min_id = entry_id(store_lsn + 1);
            const RedisReply trim =
                client_->command({"XTRIM", options_.stream_key, "MINID", min_id});
            if (trim.is_error()) {
                throw RedisError("XTRIM: " + trim.describe());
            }
            trimmed_below_ = store_lsn + 1;
        }
        const wal::Lsn durable = durable_lsn();
        if (durable > store_lsn) {
            const wal::Lsn expect_count =
                std::min<wal::Lsn>(options_.gap_sample, durable - store_lsn);
            const RedisReply range =
                client_->command({"XRANGE", options_.stream_key, entry_id(store_lsn + 1), "+",
                                  "COUNT", std::to_string(expect_count)});
            wal::Lsn expect = store_lsn + 1;
            for (const RedisReply& entry : range.elements) {
                if (entry.elements.empty() || lsn_of(entry.elements[0].text) != expect) {
                    break;
                }
                ++expect;
            }
            if (expect != store_lsn + 1 + expect_count) {
                {
                    std::lock_guard lock(mutex_);
                    ++stats_.gaps;
                }
                if (options_.on_error) {
                    options_.on_error(
                        "mirror: confirmation found a gap: the store is at LSN " +
                        std::to_string(store_lsn) + ", Redis acknowledged up to " +
                        std::to_string(durable) + ", but its stream lacks LSN " +
                        std::to_string(expect) +
                        "; a crash before the store passes it loses acknowledged orders");
                }
            }
        }
    } catch (const RedisError& error) {
        lost_connection(error.what(), Clock::now());
        return;
    }
    std::lock_guard lock(mutex_);
    stats_.trimmed_below = trimmed_below_;
}

bool MirrorLog::hold_expired() {
    const wal::Lsn durable = durable_lsn();
    const wal::Lsn end = ring_.claimed_end();
    if (durable + 1 >= end) {
        // No ack waits: a silent Redis only refuses new orders. The time it went silent is kept
        // while it stays so, for a record appended as it went.
        if (client_ != nullptr) {
            silent_since_ = {};
        }
        return false;
    }
    if (silent_since_ == Clock::time_point{}) {
        if (client_ != nullptr) {
            return false;  // Redis answers; the round trip under way tells
        }
        silent_since_ = Clock::now();
    }
    if (test_fault::armed(test_fault::Fault::MirrorNoHoldLimit)) {
        return false;
    }
    const auto silent =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - silent_since_);
    if (silent < options_.hold_limit) {
        return false;
    }
    fail("Redis " + options_.host + ":" + std::to_string(options_.port) + " has not answered for " +
         std::to_string(silent.count()) + " ms (redis_hold_limit_ms " +
         std::to_string(options_.hold_limit.count()) + "): the mirror's durable LSN is " +
         std::to_string(durable) + ", acks wait for LSN " + std::to_string(durable + 1) + " to " +
         std::to_string(end - 1) + "; their replies are dropped (the outcome of those orders is " +
         "known after recovery: start again once Redis answers)");
    return true;
}

void MirrorLog::sleep_until_work(std::chrono::milliseconds at_most) {
    writer_sleeping_.store(true, std::memory_order_seq_cst);
    // A record published before the flag was set would not wake us: look once more.
    if (!ring_.ready(durable_lsn() + 1) || client_ == nullptr) {
        pollfd fd{wake_fd_, POLLIN, 0};
        ::poll(&fd, 1, static_cast<int>(at_most.count()));
    }
    writer_sleeping_.store(false, std::memory_order_seq_cst);
    std::uint64_t drained = 0;
    [[maybe_unused]] const ssize_t got = ::read(wake_fd_, &drained, sizeof drained);
}

void MirrorLog::fail(const std::string& why) {
    failure_ = why;
    failed_.store(true, std::memory_order_release);
    client_.reset();
    if (options_.on_error) {
        options_.on_error("mirror failed: " + why + "; refusing orders and exiting");
    }
    if (options_.on_failed) {
        options_.on_failed(why);
    }
    {
        std::lock_guard lock(mutex_);
        moved_.notify_all();
    }
    if (options_.on_durable) {
        options_.on_durable(durable_lsn());
    }
}

void MirrorLog::set_durable(wal::Lsn lsn) {
    if (lsn <= durable_lsn()) {
        return;
    }
    ring_.release_below(lsn + 1);
    silent_since_ = {};  // Redis answered: what still waits waits on the next round trip
    {
        std::lock_guard lock(mutex_);
        durable_.store(lsn, std::memory_order_release);
    }
    moved_.notify_all();
    if (options_.on_durable) {
        options_.on_durable(lsn);
    }
}

}  // namespace exchanged::mirror
