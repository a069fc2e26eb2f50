// A leader and two followers in one process over loopback TCP: the leader's WAL batches go
// through the ship buffer and the sender's connections to the followers' receivers, which append
// them to their own WALs and acknowledge; the quorum frontier follows. A follower that starts
// late, behind what the ship buffer holds, is caught up from the leader's WAL files.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../engine/temp_file.hpp"
#include "common/test_fault.hpp"
#include "engine/command_record.hpp"
#include "logged_records.hpp"
#include "repl/epoch_file.hpp"
#include "repl/follower_receiver.hpp"
#include "repl/frame_decoder.hpp"
#include "repl/leader_sender.hpp"
#include "repl/log_epochs.hpp"
#include "repl/quorum_tracker.hpp"
#include "repl/ship_buffer.hpp"
#include "repl/socket_io.hpp"
#include "small_log.hpp"
#include "tracked_quorum.hpp"
#include "wal/log_truncate.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_reader.hpp"
#include "wal/wal_writer.hpp"

using namespace exchanged;
using namespace exchanged::repl;
using namespace std::chrono_literals;

namespace {

constexpr Epoch kEpoch = 1;

std::vector<std::byte> payload_for(wal::Lsn lsn) {
    std::vector<std::byte> payload(lsn % 40);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<std::byte>(lsn * 31 + i);
    }
    return payload;
}

using test::Logged;

std::vector<Logged> read_log(const std::filesystem::path& dir) {
    wal::UringStorage storage(dir.string());
    return test::read_log(storage);
}

// The quorum as the daemon keeps it: a tracker behind a lock.
struct Warnings {
    std::mutex mutex;
    std::vector<std::string> lines;
    void add(const std::string& line) {
        std::lock_guard lock(mutex);
        lines.push_back(line);
    }
    bool any(const std::string& part) { return count(part) > 0; }
    int count(const std::string& part) {
        std::lock_guard lock(mutex);
        return static_cast<int>(
            std::count_if(lines.begin(), lines.end(),
                          [&](const std::string& l) { return l.find(part) != std::string::npos; }));
    }
};

// A follower as the daemon runs one: its WAL, its log's epoch history, and the hook that cuts
// the log when the leader finds it departed (the old writer is kept until the end: the test
// thread may still read it).
struct Follower {
    // `more`: further receiver hooks (an adoption's).
    Follower(NodeId node, const std::filesystem::path& log_dir, Epoch epoch = kEpoch,
             const std::function<void(FollowerReceiverHooks&)>& more = {})
        : dir(log_dir) {
        options = test::small_log_options();
        options.on_durable = [this](wal::Lsn lsn) {
            if (receiver) {
                receiver->durable(lsn);
            }
        };
        storage = std::make_unique<wal::UringStorage>(dir.string());
        writer = std::make_unique<wal::WalWriter>(*storage, options);
        FollowerReceiverOptions receiver_options;
        receiver_options.node = node;
        receiver_options.epoch = epoch;
        receiver_options.history = read_log_epochs(*storage).history;
        FollowerReceiverHooks hooks;
        hooks.warn = [this](const std::string& line) { warnings.add(line); };
        hooks.save_history = [this](const EpochHistory& history) {
            write_epoch_file(*storage, history);
        };
        hooks.truncate_log = [this](wal::Lsn keep) -> wal::WalWriter& {
            writer->close();
            retired.push_back(std::move(writer));
            retired_storage.push_back(std::move(storage));
            storage = std::make_unique<wal::UringStorage>(dir.string());
            cut_log_after(*storage, keep);
            writer = std::make_unique<wal::WalWriter>(*storage, options);
            return *writer;
        };
        if (more) {
            more(hooks);
        }
        receiver = std::make_unique<FollowerReceiver>(receiver_options, *writer, hooks);
    }
    ~Follower() {
        receiver->stop();
        writer->close();
    }
    std::filesystem::path dir;
    wal::WalOptions options;
    Warnings warnings;
    std::unique_ptr<wal::UringStorage> storage;
    std::unique_ptr<wal::WalWriter> writer;
    std::vector<std::unique_ptr<wal::WalWriter>> retired;
    std::vector<std::unique_ptr<wal::UringStorage>> retired_storage;
    std::unique_ptr<FollowerReceiver> receiver;
};

template <typename Condition>
bool eventually(Condition condition) {
    for (int i = 0; i < 2000; ++i) {  // 20 s: a loaded machine, never a timing claim
        if (condition()) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return condition();
}

void append_all(wal::WalWriter& leader, wal::Lsn from, wal::Lsn to) {
    for (wal::Lsn lsn = from; lsn <= to; ++lsn) {
        const std::vector<std::byte> payload = payload_for(lsn);
        wal::AppendResult result;
        // Types the engine does not know: the follower takes them as they are (type 3, a term
        // start, it decodes).
        const auto type = static_cast<std::uint16_t>(10 + lsn % 7);
        while ((result = leader.try_append(type, payload)).status == wal::AppendStatus::Busy) {
            std::this_thread::yield();
        }
        REQUIRE(result.status == wal::AppendStatus::Ok);
        REQUIRE(result.lsn == lsn);
    }
}

}  // namespace

TEST_CASE("a leader's records reach two followers over TCP and their acks make the quorum",
          "[repl][link]") {
    test::TempDir dir;
    test::TrackedQuorum quorum(kEpoch);
    ShipBuffer buffer(1u << 20);
    wal::UringStorage leader_storage((dir.path() / "leader").string());
    wal::WalWriter leader(leader_storage, quorum.leader_options(test::small_log_options(), buffer));

    Follower two(2, dir.path() / "f2");
    Follower three(3, dir.path() / "f3");
    two.receiver->start();
    three.receiver->start();

    LeaderSenderOptions options;
    options.epoch = kEpoch;
    options.followers = {{2, "127.0.0.1", two.receiver->port()},
                         {3, "127.0.0.1", three.receiver->port()}};
    options.wal_dir = dir.path() / "leader";
    options.copy_bytes = 64 * 1024;
    std::vector<std::string> warnings;
    std::mutex warnings_mutex;
    LeaderSenderHooks hooks = quorum.sender_hooks(leader);
    hooks.commit_lsn = [&] { return quorum.frontier(); };
    hooks.warn = [&](const std::string& line) {
        std::lock_guard lock(warnings_mutex);
        warnings.push_back(line);
    };
    LeaderSender sender(options, buffer, hooks);
    sender.start();

    constexpr wal::Lsn kRecords = 3000;
    append_all(leader, 1, kRecords);
    REQUIRE(leader.wait_durable(kRecords));
    REQUIRE(eventually([&] { return quorum.frontier() == kRecords; }));
    REQUIRE(eventually([&] {
        return two.writer->durable_lsn() == kRecords && three.writer->durable_lsn() == kRecords;
    }));
    // The frontier reaches the followers (Commit frames, the last ones alone once no records
    // flow), never beyond what the leader committed.
    REQUIRE(eventually([&] {
        return two.receiver->commit_lsn() == kRecords && three.receiver->commit_lsn() == kRecords;
    }));
    {
        std::lock_guard lock(quorum.mutex);
        CHECK_FALSE(quorum.tracker.set_aside(2));
        CHECK_FALSE(quorum.tracker.set_aside(3));
    }
    for (const FollowerStatus& status : sender.status()) {
        CHECK(status.connected);
        CHECK(status.sent_lsn == kRecords);
        CHECK(status.ack_round_trip_ns > 0);
    }
    sender.stop();
    leader.close();
    two.writer->close();
    three.writer->close();
    const std::vector<Logged> logged = read_log(dir.path() / "leader");
    REQUIRE(logged.size() == kRecords);
    CHECK(read_log(dir.path() / "f2") == logged);
    CHECK(read_log(dir.path() / "f3") == logged);
}

TEST_CASE("a follower behind the ship buffer is caught up from the leader's WAL files",
          "[repl][link]") {
    test::TempDir dir;
    test::TrackedQuorum quorum(kEpoch);
    ShipBuffer buffer(32 * 1024);  // a few batches: the late follower is far behind it
    wal::UringStorage leader_storage((dir.path() / "leader").string());
    wal::WalWriter leader(leader_storage, quorum.leader_options(test::small_log_options(), buffer));
    constexpr wal::Lsn kBefore = 4000;
    append_all(leader, 1, kBefore);
    REQUIRE(leader.wait_durable(kBefore));
    CHECK(quorum.frontier() == 0);  // the leader alone is no majority

    Follower two(2, dir.path() / "f2");
    Follower three(3, dir.path() / "f3");
    two.receiver->start();
    // Follower 3 does not answer yet (no Hello): the sender times out and keeps redialling.
    const std::uint16_t three_port = three.receiver->port();
    LeaderSenderOptions options;
    options.epoch = kEpoch;
    options.followers = {{2, "127.0.0.1", two.receiver->port()}, {3, "127.0.0.1", three_port}};
    options.wal_dir = dir.path() / "leader";
    options.copy_bytes = 32 * 1024;
    options.frame_records_bytes = 4096;
    LeaderSenderHooks hooks = quorum.sender_hooks(leader);
    LeaderSender sender(options, buffer, hooks);
    sender.start();
    REQUIRE(eventually([&] { return quorum.frontier() == kBefore; }));
    constexpr wal::Lsn kAfter = 6000;
    append_all(leader, kBefore + 1, kAfter);
    REQUIRE(eventually([&] { return quorum.frontier() == kAfter; }));
    three.receiver->start();
    REQUIRE(eventually([&] { return three.writer->durable_lsn() == kAfter; }));
    std::uint64_t catch_ups = 0;
    for (const FollowerStatus& status : sender.status()) {
        catch_ups += status.catch_ups;
    }
    CHECK(catch_ups >= 2);  // each follower started behind the buffer
    sender.stop();
    leader.close();
    two.writer->close();
    three.writer->close();
    const std::vector<Logged> logged = read_log(dir.path() / "leader");
    REQUIRE(logged.size() == kAfter);
    CHECK(read_log(dir.path() / "f2") == logged);
    CHECK(read_log(dir.path() / "f3") == logged);
}

// A leader restarted after kill -9 recovers its log from the WAL files with an empty ship buffer.
// A follower behind that log is caught up from the files at once, not when the next order comes
// (an idle cluster restarted whole stayed one record apart: scripts/cluster-crash-test.sh).
TEST_CASE("a follower behind a restarted leader's recovered log is caught up with no new records",
          "[repl][link]") {
    test::TempDir dir;
    ShipBuffer buffer(32 * 1024);  // empty: nothing was published since the "restart"
    wal::UringStorage leader_storage((dir.path() / "leader").string());
    wal::WalWriter leader(leader_storage, test::small_log_options());
    constexpr wal::Lsn kLogged = 500;
    append_all(leader, 1, kLogged);
    REQUIRE(leader.wait_durable(kLogged));

    Follower two(2, dir.path() / "f2");
    two.receiver->start();
    LeaderSenderOptions options;
    options.epoch = kEpoch;
    options.followers = {{2, "127.0.0.1", two.receiver->port()}};
    options.wal_dir = dir.path() / "leader";
    options.copy_bytes = 32 * 1024;
    options.frame_records_bytes = 4096;
    test::TrackedQuorum quorum(kEpoch);
    LeaderSenderHooks hooks = quorum.sender_hooks(leader);
    LeaderSender sender(options, buffer, hooks);
    sender.start();
    CHECK(eventually([&] { return two.writer->durable_lsn() == kLogged; }));
    sender.stop();
    leader.close();
    two.writer->close();
    const std::vector<Logged> logged = read_log(dir.path() / "leader");
    REQUIRE(read_log(dir.path() / "f2").size() == logged.size());
    CHECK(read_log(dir.path() / "f2") == logged);
}

TEST_CASE("the ship buffer keeps the newest batches and says when older ones are gone",
          "[repl][link]") {
    ShipBuffer buffer(100, 4);
    std::vector<std::byte> out(100);
    CHECK(buffer.copy_from(1, out).status == ShipBuffer::Status::NotYet);
    const std::vector<std::byte> forty(40, std::byte{1});
    buffer.publish(1, 4, forty);
    buffer.publish(5, 8, forty);
    ShipBuffer::Copy copy = buffer.copy_from(6, out);
    CHECK(copy.status == ShipBuffer::Status::Copied);
    CHECK(copy.first == 5);
    CHECK(copy.last == 8);
    CHECK(copy.bytes == 40);
    buffer.publish(9, 12, forty);  // does not fit after 80: wraps to 0, over LSNs 1..4
    CHECK(buffer.copy_from(2, out).status == ShipBuffer::Status::Gone);
    copy = buffer.copy_from(5, out);
    CHECK(copy.status == ShipBuffer::Status::Copied);
    CHECK(copy.last == 12);
    CHECK(copy.bytes == 80);
    CHECK(buffer.copy_from(13, out).status == ShipBuffer::Status::NotYet);
    buffer.publish(13, 13, std::vector<std::byte>(10));  // over 5..8
    buffer.publish(14, 14, std::vector<std::byte>(10));
    buffer.publish(15, 15, std::vector<std::byte>(10));
    CHECK(buffer.copy_from(5, out).status == ShipBuffer::Status::Gone);
    CHECK(buffer.copy_from(9, out).status == ShipBuffer::Status::Copied);
    // Four batches at most: a fifth pushes the oldest out.
    buffer.publish(16, 16, std::vector<std::byte>(10));
    CHECK(buffer.copy_from(9, out).status == ShipBuffer::Status::Gone);
    CHECK(buffer.copy_from(13, out).last == 16);
    // A batch larger than the ring is not kept: its records are read from the disk.
    buffer.publish(17, 20, std::vector<std::byte>(101));
    CHECK(buffer.copy_from(17, out).status == ShipBuffer::Status::Gone);
    CHECK(buffer.copy_from(14, out).status == ShipBuffer::Status::Gone);
    buffer.close();
    CHECK(buffer.copy_from(21, out).status == ShipBuffer::Status::Closed);
}

namespace {

std::uint16_t port_of(const Socket& socket) {
    sockaddr_in address{};
    socklen_t length = sizeof(address);
    ::getsockname(socket.fd(), reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
}

}  // namespace

TEST_CASE("a peer that sends garbage is closed with the decoder's reason, and redialled",
          "[repl][link]") {
    Socket listener = listen_on("127.0.0.1", 0);
    ShipBuffer buffer(1u << 16);
    Warnings warnings;
    LeaderSenderOptions options;
    options.followers = {{2, "127.0.0.1", port_of(listener)}};
    options.redial_min = 10ms;
    LeaderSenderHooks hooks;
    hooks.durable_lsn = [] { return wal::Lsn{0}; };
    hooks.shipped = [](wal::Lsn) {};
    hooks.ack = [](NodeId, Epoch, wal::Lsn) { return AckResult{}; };
    hooks.warn = [&](const std::string& line) { warnings.add(line); };
    LeaderSender sender(options, buffer, hooks);
    sender.start();
    {
        Socket first = accept_one(listener);
        REQUIRE(first.valid());
        const std::string garbage = "HTTP/1.1 200 OK\r\n\r\nnot a replication stream at all....";
        REQUIRE(write_all(first, std::as_bytes(std::span(garbage))));
        REQUIRE(eventually([&] { return warnings.any("magic"); }));
    }
    // The sender dials again after its backoff.
    Socket second = accept_one(listener);
    CHECK(second.valid());
    CHECK(warnings.any("follower 2 (127.0.0.1:"));
    second.shutdown_both();
    sender.stop();
    CHECK(sender.status()[0].connects >= 2);
}

TEST_CASE("a follower refuses Records of another epoch, the leader logs why and redials",
          "[repl][link]") {
    test::TempDir dir;
    ShipBuffer buffer(1u << 20);
    wal::UringStorage leader_storage((dir.path() / "leader").string());
    const wal::WalOptions leader_options =
        test::shipping_options(test::small_log_options(), buffer);
    wal::WalWriter leader(leader_storage, leader_options);
    Follower two(2, dir.path() / "f2");  // follows epoch 1
    two.receiver->start();
    Warnings warnings;
    LeaderSenderOptions options;
    options.epoch = 2;
    options.followers = {{2, "127.0.0.1", two.receiver->port()}};
    options.wal_dir = dir.path() / "leader";
    options.redial_min = 10ms;
    LeaderSenderHooks hooks;
    hooks.durable_lsn = [&] { return leader.durable_lsn(); };
    hooks.shipped = [](wal::Lsn) {};
    hooks.ack = [](NodeId, Epoch, wal::Lsn) { return AckResult{}; };
    hooks.warn = [&](const std::string& line) { warnings.add(line); };
    LeaderSender sender(options, buffer, hooks);
    sender.start();
    append_all(leader, 1, 5);
    REQUIRE(eventually([&] {
        return warnings.any(
            "refused the stream: stale epoch: Records of epoch 2, this follower "
            "follows epoch 1");
    }));
    REQUIRE(eventually([&] { return sender.status()[0].connects >= 2; }));
    CHECK(two.writer->durable_lsn() == 0);  // nothing of the other epoch was appended
    sender.stop();
    leader.close();
}

// A leader cut off by a partition while another was promoted: after the heal its redials find the
// follower serving the new leader. The follower turns it away at once with the epoch it follows,
// and the old leader learns it is deposed; left waiting in the listen backlog, it never did.
TEST_CASE("a follower serving one leader tells a second dialler the epoch it follows",
          "[repl][link][epoch]") {
    test::TempDir dir;
    Follower two(2, dir.path() / "f2", 2);  // promised epoch 2
    two.receiver->start();

    const auto leader_of = [&](Epoch epoch, const std::string& name) {
        LeaderSenderOptions options;
        options.epoch = epoch;
        options.followers = {{2, "127.0.0.1", two.receiver->port()}};
        options.wal_dir = dir.path() / name;
        options.redial_min = 10ms;
        options.redial_max = 100ms;
        return options;
    };
    ShipBuffer new_buffer(1u << 16);
    wal::UringStorage new_storage((dir.path() / "new").string());
    wal::WalWriter new_log(new_storage,
                           test::shipping_options(test::small_log_options(), new_buffer));
    Warnings new_lines;
    LeaderSenderHooks new_hooks;
    new_hooks.durable_lsn = [&] { return new_log.durable_lsn(); };
    new_hooks.shipped = [](wal::Lsn) {};
    new_hooks.ack = [](NodeId, Epoch, wal::Lsn) { return AckResult{}; };
    new_hooks.warn = [&](const std::string& line) { new_lines.add(line); };
    LeaderSender new_leader(leader_of(2, "new"), new_buffer, new_hooks);
    new_leader.start();
    REQUIRE(eventually([&] { return new_leader.status()[0].connected; }));

    // The old leader of epoch 1, and a second connection of epoch 2 (a leader's own redial).
    const auto dial = [&](Epoch epoch, const std::string& name) {
        struct Dialler {
            ShipBuffer buffer{1u << 16};
            std::unique_ptr<wal::UringStorage> storage;
            std::unique_ptr<wal::WalWriter> log;
            Warnings lines;
            std::mutex mutex;
            std::vector<std::pair<NodeId, Epoch>> acks;
            std::unique_ptr<LeaderSender> sender;
        };
        auto d = std::make_unique<Dialler>();
        d->storage = std::make_unique<wal::UringStorage>((dir.path() / name).string());
        d->log = std::make_unique<wal::WalWriter>(*d->storage, test::small_log_options());
        LeaderSenderHooks hooks;
        hooks.durable_lsn = [log = d->log.get()] { return log->durable_lsn(); };
        hooks.shipped = [](wal::Lsn) {};
        hooks.ack = [raw = d.get()](NodeId node, Epoch acked, wal::Lsn) {
            std::lock_guard lock(raw->mutex);
            raw->acks.emplace_back(node, acked);
            return AckResult{AckOutcome::NewerEpoch, false, "deposed"};
        };
        hooks.info = [raw = d.get()](const std::string& line) { raw->lines.add(line); };
        hooks.warn = [raw = d.get()](const std::string& line) { raw->lines.add(line); };
        d->sender = std::make_unique<LeaderSender>(leader_of(epoch, name), d->buffer, hooks);
        d->sender->start();
        return d;
    };
    const auto acks_of = [](auto& d) {
        std::lock_guard lock(d->mutex);
        return d->acks;
    };

    SECTION("a leader of an older epoch learns it is deposed") {
        auto old_leader = dial(1, "old");
        REQUIRE(eventually([&] { return !acks_of(old_leader).empty(); }));
        CHECK(acks_of(old_leader).front() == std::pair<NodeId, Epoch>{2, 2});
        CHECK(
            old_leader->lines.any("node 2 serves another leader connection; it follows epoch "
                                  "2, above this leader's 1"));
        old_leader->sender->stop();
        old_leader->log->close();
    }
    SECTION("a leader of the same epoch waits, said once, and gets in when the follower is free") {
        auto again = dial(2, "again");
        REQUIRE(eventually([&] { return again->sender->status()[0].connects >= 3; }));
        CHECK(acks_of(again).empty());
        CHECK(again->lines.count("serves another leader connection") == 1);
        CHECK(new_leader.status()[0].connected);  // the served connection was not disturbed
        new_leader.stop();
        REQUIRE(eventually([&] { return again->sender->status()[0].connected; }));
        again->sender->stop();
        again->log->close();
    }
    new_leader.stop();
    new_log.close();
    CHECK(two.writer->durable_lsn() == 0);
}

namespace {

void append_term_start(wal::WalWriter& writer, Epoch epoch, NodeId leader, wal::Lsn expected) {
    engine::TermStartRecordBytes bytes{};
    engine::encode_term_start({leader, epoch}, bytes);
    REQUIRE(writer.try_append(engine::kTermStartRecordType, bytes).lsn == expected);
}

// Records from..to; `salt` makes another leader's records at the same LSNs differ.
void append_own(wal::WalWriter& writer, wal::Lsn from, wal::Lsn to, std::uint64_t salt) {
    for (wal::Lsn lsn = from; lsn <= to; ++lsn) {
        const std::vector<std::byte> payload = payload_for(lsn + salt);
        wal::AppendResult result;
        while ((result = writer.try_append(1, payload)).status == wal::AppendStatus::Busy) {
            std::this_thread::yield();
        }
        REQUIRE(result.lsn == lsn);
    }
    REQUIRE(writer.wait_durable(to));
}

struct DivergedRun {
    bool identical = false;  // the follower's log ended byte for byte the leader's
    std::vector<Logged> leader_log;
    std::vector<Logged> follower_log;
};

// The follower's log: epoch 1's term start and records up to 120. The leader's: the same up to
// 100, then its own term (epoch 2) from 101 and records up to 150. The follower has promised
// epoch 2. Runs until the follower acknowledged 150 or the leader told it `max_cuts` times to cut.
DivergedRun run_diverged(const std::filesystem::path& root, int max_cuts) {
    {
        wal::UringStorage old_term((root / "f2").string());
        wal::WalWriter writer(old_term, test::small_log_options());
        append_term_start(writer, 1, 1, 1);
        append_own(writer, 2, 120, 0);
    }
    ShipBuffer buffer(1u << 20);
    wal::UringStorage leader_storage((root / "leader").string());
    const wal::WalOptions leader_options =
        test::shipping_options(test::small_log_options(), buffer);
    wal::WalWriter leader(leader_storage, leader_options);
    EpochHistory history;
    REQUIRE(begin_term(leader, leader_storage, history, 1, 1) == 1);
    append_own(leader, 2, 100, 0);
    REQUIRE(begin_term(leader, leader_storage, history, 2, 3) == 101);
    append_own(leader, 102, 150, 7777);

    Follower two(2, root / "f2", 2);
    two.receiver->start();
    Warnings warnings;
    LeaderSenderOptions options;
    options.epoch = 2;
    options.history = history;
    options.followers = {{2, "127.0.0.1", two.receiver->port()}};
    options.wal_dir = root / "leader";
    options.redial_min = 10ms;
    LeaderSenderHooks hooks;
    hooks.durable_lsn = [&] { return leader.durable_lsn(); };
    hooks.shipped = [](wal::Lsn) {};
    hooks.ack = [](NodeId, Epoch, wal::Lsn) { return AckResult{}; };
    hooks.warn = [&](const std::string& line) { warnings.add(line); };
    LeaderSender sender(options, buffer, hooks);
    sender.start();
    eventually([&] {
        return two.receiver->acked_lsn() == 150 || warnings.count("telling it to cut") >= max_cuts;
    });
    CHECK(
        warnings.any("log departs from this leader's after LSN 100: it holds LSN 101..120 "
                     "(its last in epoch 1), this leader LSN 101..150 from epoch 2"));
    sender.stop();
    two.receiver->stop();
    two.writer->close();
    leader.close();
    DivergedRun run;
    run.leader_log = read_log(root / "leader");
    run.follower_log = read_log(root / "f2");
    run.identical = run.follower_log == run.leader_log;
    return run;
}

}  // namespace

TEST_CASE("a follower whose log departed in an old epoch is cut back and catches up",
          "[repl][link][epoch]") {
    test::TempDir dir;
    const DivergedRun run = run_diverged(dir.path(), 1000);
    REQUIRE(run.leader_log.size() == 150);
    CHECK(run.identical);
    // And so is its epoch history, read back from the log.
    wal::UringStorage follower((dir.path() / "f2").string());
    const LogEpochs epochs = read_log_epochs(follower);
    CHECK(epochs.history.terms() == std::vector<TermStart>{{1, 1}, {2, 101}});
    CHECK(epochs.last_epoch == 2);
}

TEST_CASE("a follower whose log holds a term above the epoch it follows does not start",
          "[repl][link][epoch]") {
    test::TempDir dir;
    wal::UringStorage storage((dir.path() / "f2").string());
    wal::WalWriter writer(storage, test::small_log_options());
    FollowerReceiverOptions options;
    options.node = 2;
    options.epoch = 2;
    options.history.begin(3, 40);
    CHECK_THROWS_WITH(FollowerReceiver(options, writer, {}),
                      Catch::Contains("log holds epoch 3 (from LSN 40), above the epoch it "
                                      "follows, 2"));
}

TEST_CASE("a follower closes a stream whose term start record is malformed or goes back",
          "[repl][link][epoch]") {
    test::TempDir dir;
    Follower two(2, dir.path() / "f2", 2);
    two.receiver->start();
    Socket leader = connect_to("127.0.0.1", two.receiver->port());
    REQUIRE(leader.valid());
    std::array<std::byte, 256> hello{};
    REQUIRE(read_some(leader, hello) > 0);
    engine::TermStartRecordBytes term{};
    std::vector<std::byte> frame;
    RecordsFrameBuilder records(frame, 2, 1);
    engine::encode_term_start({1, 2}, term);
    records.add(1, engine::kTermStartRecordType, term);
    SECTION("a term start that goes back") {
        engine::encode_term_start({1, 1}, term);
        records.add(2, engine::kTermStartRecordType, term);
        records.finish();
        REQUIRE(write_all(leader, frame));
        REQUIRE(eventually([&] {
            return two.warnings.any(
                "term start record at LSN 2 is for epoch 1, not above this "
                "log's 2");
        }));
    }
    SECTION("a malformed term start") {
        records.add(2, engine::kTermStartRecordType, std::vector<std::byte>(16));
        records.finish();
        REQUIRE(write_all(leader, frame));
        REQUIRE(eventually([&] {
            return two.warnings.any("WAL record LSN 2: term start record has format version 0");
        }));
    }
    REQUIRE(eventually([&] { return two.receiver->received_lsn() == 1; }));
    CHECK(two.writer->next_lsn() == 2);  // the bad record was not appended
}

TEST_CASE("with the cut skipped (a planted fault) the logs never converge",
          "[repl][link][epoch][mutation]") {
    test::TempDir dir;
    test_fault::ScopedFault skip(test_fault::Fault::SkipDivergenceTruncate);
    const DivergedRun run = run_diverged(dir.path(), 3);
    CHECK_FALSE(run.identical);
    REQUIRE(run.follower_log.size() == 120);  // its departed tail is still there
}

namespace {

// What a follower that missed a promise round did with a newer leader's stream, in order.
struct AdoptionRun {
    std::vector<std::string> events;  // "persist E", "append LSN", "ack E LSN", "leader E N"
    bool caught_up = false;           // it acknowledged the leader's last record under epoch 3
    bool persisted_first = false;     // "persist 3" came before its first append and epoch-3 ack
    Epoch hello_epoch = 0;            // the epoch its next Hello says it follows
    bool stale_refused = false;       // a Records frame of epoch 2 afterwards was refused
    wal::Lsn next_lsn = 0;            // its log's next LSN at the end
    std::vector<std::string> warnings;
};

// The follower promised epoch 1 and holds epoch 1's records 1..50. The leader of epoch 3 (the
// round of epochs 2 and 3 ran without it) holds the same, then its term start at 51 and records
// up to 100. Then a leader of epoch 2 (deposed) connects and sends a record.
AdoptionRun run_adoption(const std::filesystem::path& root) {
    {
        wal::UringStorage old_term((root / "f2").string());
        wal::WalWriter writer(old_term, test::small_log_options());
        append_term_start(writer, 1, 1, 1);
        append_own(writer, 2, 50, 0);
    }
    std::mutex mutex;
    AdoptionRun run;
    const auto event = [&](std::string what) {
        std::lock_guard lock(mutex);
        run.events.push_back(std::move(what));
    };
    Follower two(2, root / "f2", 1, [&](FollowerReceiverHooks& hooks) {
        hooks.adopt_epoch = [&](Epoch epoch) {
            event("persist " + std::to_string(epoch));
            return true;
        };
        hooks.leader_named = [&](Epoch epoch, NodeId leader) {
            event("leader " + std::to_string(epoch) + " " + std::to_string(leader));
        };
        hooks.appended = [&](wal::Lsn lsn, std::uint16_t, std::span<const std::byte>) {
            event("append " + std::to_string(lsn));
        };
    });
    two.receiver->start();

    ShipBuffer buffer(1u << 20);
    wal::UringStorage leader_storage((root / "leader").string());
    const wal::WalOptions leader_options =
        test::shipping_options(test::small_log_options(), buffer);
    wal::WalWriter leader(leader_storage, leader_options);
    EpochHistory history;
    REQUIRE(begin_term(leader, leader_storage, history, 1, 1) == 1);
    append_own(leader, 2, 50, 0);
    REQUIRE(begin_term(leader, leader_storage, history, 3, 3) == 51);
    append_own(leader, 52, 100, 0);
    LeaderSenderOptions options;
    options.epoch = 3;
    options.history = history;
    options.followers = {{2, "127.0.0.1", two.receiver->port()}};
    options.wal_dir = root / "leader";
    options.redial_min = 10ms;
    LeaderSenderHooks hooks;
    hooks.durable_lsn = [&] { return leader.durable_lsn(); };
    hooks.shipped = [](wal::Lsn) {};
    hooks.ack = [&](NodeId, Epoch epoch, wal::Lsn lsn) {
        event("ack " + std::to_string(epoch) + " " + std::to_string(lsn));
        return AckResult{};
    };
    LeaderSender sender(options, buffer, hooks);
    sender.start();
    const auto acked_all = [&] {
        std::lock_guard lock(mutex);
        return std::find(run.events.begin(), run.events.end(), "ack 3 100") != run.events.end();
    };
    eventually([&] {
        return acked_all() || two.warnings.any("of epoch 3, this follower follows epoch 1");
    });
    run.caught_up = acked_all();
    sender.stop();
    leader.close();

    // The deposed leader of epoch 2 dials in: the Hello says epoch 3, its record is refused.
    // Until the receiver has seen the stopped sender's connection close it answers a second
    // dialler Refuse(busy) and hangs up: dial again then.
    Socket old_leader;
    std::array<std::byte, 4096> chunk{};
    for (int attempt = 0; run.hello_epoch == 0; ++attempt) {
        REQUIRE(attempt < 500);
        old_leader = connect_to("127.0.0.1", two.receiver->port());
        REQUIRE(old_leader.valid());
        FrameDecoder decoder;
        bool busy = false;
        while (run.hello_epoch == 0 && !busy) {
            const std::size_t n = read_some(old_leader, chunk);
            REQUIRE(n > 0);
            REQUIRE(decoder.feed(std::span(chunk).first(n), [&](const Frame& frame) {
                if (frame.header.kind == FrameKind::Hello) {
                    run.hello_epoch = frame.header.epoch;
                }
                busy = busy || frame.header.kind == FrameKind::Refuse;
            }));
        }
        if (busy) {
            std::this_thread::sleep_for(10ms);
        }
    }
    std::vector<std::byte> frame;
    RecordsFrameBuilder records(frame, 2, 101);
    records.add(101, 1, payload_for(101));
    records.finish();
    REQUIRE(write_all(old_leader, frame));
    eventually([&] { return two.warnings.any("Records of epoch 2, this follower follows"); });
    run.stale_refused = two.warnings.any("Records of epoch 2, this follower follows epoch 3");
    two.receiver->stop();
    run.next_lsn = two.writer->next_lsn();
    {
        std::lock_guard lock(two.warnings.mutex);
        run.warnings = two.warnings.lines;
    }
    const auto at = [&](const std::string& what) {
        return std::find(run.events.begin(), run.events.end(), what) - run.events.begin();
    };
    const auto first_ack_3 =
        std::find_if(run.events.begin(), run.events.end(),
                     [](const std::string& e) { return e.rfind("ack 3 ", 0) == 0; }) -
        run.events.begin();
    run.persisted_first = at("persist 3") < at("append 51") && at("persist 3") < first_ack_3;
    return run;
}

}  // namespace

TEST_CASE("a follower that missed a promise round adopts the newer leader's epoch, persisted first",
          "[repl][link][epoch][adopt]") {
    test::TempDir dir;
    const AdoptionRun run = run_adoption(dir.path());
    CHECK(run.persisted_first);
    CHECK(run.caught_up);
    // Adopted once, persisted once; its term start record names the leader.
    CHECK(std::count(run.events.begin(), run.events.end(), "persist 3") == 1);
    CHECK(std::find(run.events.begin(), run.events.end(), "leader 3 3") != run.events.end());
    CHECK(std::count_if(run.warnings.begin(), run.warnings.end(), [](const std::string& line) {
              return line ==
                     "replication: adopted epoch 3 from the leader's frames (this node had "
                     "promised 1; it missed that term's promise round)";
          }) == 1);
    CHECK(run.hello_epoch == 3);
    CHECK(run.stale_refused);
    CHECK(run.next_lsn == 101);  // nothing of epoch 2 was appended
    wal::UringStorage follower((dir.path() / "f2").string());
    CHECK(read_log_epochs(follower).history.terms() == std::vector<TermStart>{{1, 1}, {3, 51}});
    CHECK(read_log(dir.path() / "f2") == read_log(dir.path() / "leader"));
}

TEST_CASE("with the adoption refused (a planted fault) the follower never follows the new leader",
          "[repl][link][epoch][adopt][mutation]") {
    test::TempDir dir;
    test_fault::ScopedFault refuse(test_fault::Fault::RefuseNewerEpoch);
    const AdoptionRun run = run_adoption(dir.path());
    CHECK_FALSE(run.caught_up);
    CHECK(run.hello_epoch == 1);
    CHECK(std::any_of(run.warnings.begin(), run.warnings.end(), [](const std::string& line) {
        return line.find("of epoch 3, this follower follows epoch 1") != std::string::npos;
    }));
}

TEST_CASE("with the adoption not persisted (a planted fault) the order check fails",
          "[repl][link][epoch][adopt][mutation]") {
    test::TempDir dir;
    test_fault::ScopedFault unpersisted(test_fault::Fault::AdoptWithoutPersist);
    const AdoptionRun run = run_adoption(dir.path());
    CHECK(run.caught_up);  // it follows all the same, with a promise a crash would forget
    CHECK_FALSE(run.persisted_first);
}

namespace {

struct LeaderRun {
    wal::Lsn term_lsn = 0;  // the term start record this run wrote (0: its log had the term)
    EpochHistory history;
    std::vector<std::string> lines;  // everything the sender said
};

// One run of the leader on root/leader under `epoch`, as the daemon starts one: its history from
// its log and epochs file, its term start when the term is new, then records up to `to` streamed
// to `follower` until acknowledged; then its store "holds" everything below `release_below` and
// those segments are released.
LeaderRun run_leader(const std::filesystem::path& root, Follower& follower, Epoch epoch,
                     wal::Lsn to, wal::Lsn release_below) {
    ShipBuffer buffer(1u << 20);
    wal::UringStorage storage((root / "leader").string());
    const wal::WalOptions leader_options =
        test::shipping_options(test::small_log_options(), buffer);
    wal::WalWriter leader(storage, leader_options);
    LeaderRun run;
    run.history = read_log_epochs(storage).history;
    sync_epoch_file(storage, run.history);
    run.term_lsn = begin_term(leader, storage, run.history, epoch, 1);
    Warnings said;
    LeaderSenderOptions options;
    options.epoch = epoch;
    options.history = run.history;
    options.followers = {{2, "127.0.0.1", follower.receiver->port()}};
    options.wal_dir = root / "leader";
    options.redial_min = 10ms;
    LeaderSenderHooks hooks;
    hooks.durable_lsn = [&] { return leader.durable_lsn(); };
    hooks.shipped = [](wal::Lsn) {};
    hooks.ack = [](NodeId, Epoch, wal::Lsn) { return AckResult{}; };
    hooks.info = [&](const std::string& line) { said.add(line); };
    hooks.warn = [&](const std::string& line) { said.add(line); };
    LeaderSender sender(options, buffer, hooks);
    sender.start();
    append_own(leader, leader.next_lsn(), to, 0);
    CHECK(eventually([&] {
        return follower.receiver->acked_lsn() == to || said.any("refused") || said.any("cut");
    }));
    sender.stop();
    leader.release_below(release_below);
    leader.wait_background_idle();
    leader.close();
    run.lines = said.lines;
    return run;
}

void release_follower(Follower& follower, wal::Lsn below) {
    follower.writer->release_below(below);
    follower.writer->wait_background_idle();
}

wal::Lsn first_held_lsn(const std::filesystem::path& dir) {
    wal::UringStorage storage(dir.string());
    return wal::scan_log(storage, {}, [](const wal::RecordView&) {}).first_lsn;
}

}  // namespace

TEST_CASE("a leader and a follower that released their first segments agree after restarts",
          "[repl][link][epoch]") {
    test::TempDir dir;
    const std::filesystem::path root = dir.path();
    {
        Follower two(2, root / "f2", 1);
        two.receiver->start();
        CHECK(run_leader(root, two, 1, 1000, 1).term_lsn == 1);
        REQUIRE(two.receiver->acked_lsn() == 1000);
    }
    {
        Follower two(2, root / "f2", 2);
        two.receiver->start();
        CHECK(run_leader(root, two, 2, 3000, 2500).term_lsn == 1001);
        REQUIRE(two.receiver->acked_lsn() == 3000);
        release_follower(two, 1001);  // its store is behind the leader's
    }
    // Both term records are gone from the leader's log, epoch 1's from the follower's.
    REQUIRE(first_held_lsn(root / "leader") > 1001);
    REQUIRE(first_held_lsn(root / "f2") > 1);
    REQUIRE(first_held_lsn(root / "f2") <= 1001);

    Follower two(2, root / "f2", 2);
    two.receiver->start();
    const LeaderRun run = run_leader(root, two, 2, 3200, 1);
    for (const std::string& line : run.lines) {
        INFO(line);
        CHECK(line.find("refused") == std::string::npos);
        CHECK(line.find("departs") == std::string::npos);
    }
    CHECK(run.term_lsn == 0);  // the term was the log's already: no second term start
    CHECK(run.history.terms() == std::vector<TermStart>{{1, 1}, {2, 1001}});
    CHECK(two.receiver->acked_lsn() == 3200);
    CHECK(two.warnings.count("cut") == 0);
    two.receiver->stop();
    two.writer->close();
    CHECK(read_log(root / "f2").back().lsn == 3200);
    wal::UringStorage follower_storage((root / "f2").string());
    CHECK(read_log_epochs(follower_storage).history.terms() ==
          std::vector<TermStart>{{1, 1}, {2, 1001}});
}
