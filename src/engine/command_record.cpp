#include "engine/command_record.hpp"

#include <cassert>
#include <type_traits>

#include "common/little_endian.hpp"

namespace exchanged::engine {
namespace {

// Little-endian by construction: the shifts say which byte goes where, whatever the host.
class Writer {
  public:
    explicit Writer(std::span<std::byte> out) : out_(out) {}

    template <typename T>
    void put(T value) {
        store_le(out_.data() + at_, value);
        at_ += sizeof(T);
    }
    std::size_t written() const { return at_; }

  private:
    std::span<std::byte> out_;
    std::size_t at_ = 0;
};

class Reader {
  public:
    explicit Reader(std::span<const std::byte> in) : in_(in) {}

    template <typename T>
    T get() {
        const T value = load_le<T>(in_.data() + at_);
        at_ += sizeof(T);
        return value;
    }
    std::size_t read() const { return at_; }

  private:
    std::span<const std::byte> in_;
    std::size_t at_ = 0;
};

template <typename E>
std::uint8_t raw(E value) {
    return static_cast<std::uint8_t>(value);
}

void check_header(wal::Lsn lsn, std::span<const std::byte> payload, std::size_t expected_bytes,
                  const char* what) {
    if (payload.size() != expected_bytes) {
        throw RecordError(lsn, std::string(what) + " record has " + std::to_string(payload.size()) +
                                   " payload bytes, expected " + std::to_string(expected_bytes));
    }
    const auto version = static_cast<std::uint8_t>(payload[0]);
    if (version != kRecordFormatVersion) {
        throw RecordError(lsn, std::string(what) + " record has format version " +
                                   std::to_string(version) + ", this build reads only version " +
                                   std::to_string(kRecordFormatVersion));
    }
}

}  // namespace

RecordError::RecordError(wal::Lsn lsn, const std::string& problem)
    : std::runtime_error("WAL record LSN " + std::to_string(lsn) + ": " + problem), lsn_(lsn) {}

void encode_command(ShardId shard, const book::Command& c, CommandRecordBytes& out) {
    Writer w(out);
    w.put(kRecordFormatVersion);
    w.put(raw(c.type));
    w.put(raw(c.side));
    w.put(raw(c.order_type));
    w.put(raw(c.time_in_force));
    w.put(raw(c.self_trade));
    w.put(c.flags);
    w.put(std::uint8_t{0});
    w.put(std::uint32_t{shard});
    w.put(std::uint32_t{c.instrument});
    w.put(std::uint32_t{c.account});
    w.put(std::uint64_t{c.seq});
    w.put(std::int64_t{c.timestamp_ns});
    w.put(std::uint64_t{c.client_order_id});
    w.put(std::uint64_t{c.order_id});
    w.put(std::int64_t{c.price});
    w.put(std::int64_t{c.quantity});
    assert(w.written() == out.size());
}

CommandRecord decode_command(wal::Lsn lsn, std::span<const std::byte> payload) {
    check_header(lsn, payload, kCommandRecordBytes, "command");
    Reader r(payload);
    r.get<std::uint8_t>();  // the version, checked above
    CommandRecord record;
    book::Command& c = record.command;
    c.type = static_cast<book::CommandType>(r.get<std::uint8_t>());
    c.side = static_cast<Side>(r.get<std::uint8_t>());
    c.order_type = static_cast<book::OrderType>(r.get<std::uint8_t>());
    c.time_in_force = static_cast<book::TimeInForce>(r.get<std::uint8_t>());
    c.self_trade = static_cast<book::SelfTradePrevention>(r.get<std::uint8_t>());
    c.flags = r.get<std::uint8_t>();
    if (const auto reserved = r.get<std::uint8_t>(); reserved != 0) {
        throw RecordError(lsn, "command record has reserved byte 7 = " + std::to_string(reserved) +
                                   ", expected 0");
    }
    record.shard = r.get<std::uint32_t>();
    c.instrument = r.get<std::uint32_t>();
    c.account = r.get<std::uint32_t>();
    c.seq = r.get<std::uint64_t>();
    c.timestamp_ns = r.get<std::int64_t>();
    c.client_order_id = r.get<std::uint64_t>();
    c.order_id = r.get<std::uint64_t>();
    c.price = r.get<std::int64_t>();
    c.quantity = r.get<std::int64_t>();
    assert(r.read() == payload.size());
    return record;
}

void encode_checkpoint(const CheckpointRecord& checkpoint, CheckpointRecordBytes& out) {
    Writer w(out);
    w.put(kRecordFormatVersion);
    w.put(std::uint8_t{0});
    w.put(std::uint16_t{0});
    w.put(std::uint32_t{checkpoint.shard});
    w.put(std::uint64_t{checkpoint.last_seq});
    w.put(std::uint64_t{checkpoint.state_hash});
    assert(w.written() == out.size());
}

CheckpointRecord decode_checkpoint(wal::Lsn lsn, std::span<const std::byte> payload) {
    check_header(lsn, payload, kCheckpointRecordBytes, "checkpoint");
    Reader r(payload);
    r.get<std::uint8_t>();
    if (r.get<std::uint8_t>() != 0 || r.get<std::uint16_t>() != 0) {
        throw RecordError(lsn, "checkpoint record has non-zero reserved bytes 1..3");
    }
    CheckpointRecord checkpoint;
    checkpoint.shard = r.get<std::uint32_t>();
    checkpoint.last_seq = r.get<std::uint64_t>();
    checkpoint.state_hash = r.get<std::uint64_t>();
    assert(r.read() == payload.size());
    return checkpoint;
}

void encode_term_start(const TermStartRecord& term, TermStartRecordBytes& out) {
    Writer w(out);
    w.put(kRecordFormatVersion);
    w.put(std::uint8_t{0});
    w.put(std::uint16_t{0});
    w.put(std::uint32_t{term.leader_node});
    w.put(std::uint64_t{term.epoch});
    assert(w.written() == out.size());
}

TermStartRecord decode_term_start(wal::Lsn lsn, std::span<const std::byte> payload) {
    check_header(lsn, payload, kTermStartRecordBytes, "term start");
    Reader r(payload);
    r.get<std::uint8_t>();
    if (r.get<std::uint8_t>() != 0 || r.get<std::uint16_t>() != 0) {
        throw RecordError(lsn, "term start record has non-zero reserved bytes 1..3");
    }
    TermStartRecord term;
    term.leader_node = r.get<std::uint32_t>();
    term.epoch = r.get<std::uint64_t>();
    if (term.epoch == 0) {
        throw RecordError(lsn, "term start record has epoch 0 (epochs start at 1)");
    }
    assert(r.read() == payload.size());
    return term;
}

}  // namespace exchanged::engine
