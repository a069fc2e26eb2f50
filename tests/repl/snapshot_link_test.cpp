// A snapshot re-sync in one process over loopback TCP: a leader whose WAL no longer starts at LSN
// 1 sends an empty follower a snapshot (its "store" and the WAL segments above it); the first
// transfer has a damaged chunk and is refused, the second is installed, and the follower then
// streams on and ends with the leader's log.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "../engine/temp_file.hpp"
#include "common/crc32c.hpp"
#include "logged_records.hpp"
#include "repl/epoch_file.hpp"
#include "repl/follower_receiver.hpp"
#include "repl/follower_retention.hpp"
#include "repl/leader_sender.hpp"
#include "repl/log_epochs.hpp"
#include "repl/quorum_tracker.hpp"
#include "repl/ship_buffer.hpp"
#include "repl/snapshot_epochs.hpp"
#include "repl/snapshot_staging.hpp"
#include "snapshot_log.hpp"
#include "tracked_quorum.hpp"
#include "wal/segment_format.hpp"
#include "wal/uring_storage.hpp"
#include "wal/wal_writer.hpp"

using namespace exchanged;
using namespace exchanged::repl;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr Epoch kEpoch = 1;

using test::eventually;

SnapshotFile copy_with_sum(const fs::path& from, const fs::path& dir, const std::string& name) {
    fs::create_directories((dir / name).parent_path());
    fs::copy_file(from, dir / name);
    std::ifstream in(dir / name, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return {name, bytes.size(), crc32c(bytes.data(), bytes.size())};
}

// A follower whose WAL a snapshot can replace.
struct Follower {
    Follower(NodeId node, const fs::path& root, Epoch epoch = kEpoch,
             const std::string& store = kSnapshotSqliteStore)
        : wal_dir(root / "wal") {
        fs::create_directories(root);
        open();
        FollowerReceiverOptions options{node, epoch};
        options.snapshot_dir = root / "staging";
        options.snapshot_store = store;
        options.history = read_log_epochs(*storage).history;
        FollowerReceiverHooks hooks;
        hooks.save_history = [this](const EpochHistory& history) {
            write_epoch_file(*storage, history);
        };
        hooks.installed_history = [this] { return read_log_epochs(*storage).history; };
        hooks.install_snapshot = [this, root](const SnapshotManifest&) {
            writer->close();
            writer.reset();
            storage.reset();
            install_snapshot(root / "staging", {wal_dir, root / "store.sqlite"}, {});
            ++installs;
            open();
            return writer.get();
        };
        hooks.warn = [this](const std::string& line) {
            std::lock_guard lock(mutex);
            warnings.push_back(line);
        };
        receiver = std::make_unique<FollowerReceiver>(options, *writer, hooks);
    }
    void open() {
        storage = std::make_unique<wal::UringStorage>(wal_dir.string());
        wal::WalOptions options = test::snapshot_log_options();
        options.on_durable = [this](wal::Lsn lsn) {
            if (receiver) {
                receiver->durable(lsn);
            }
        };
        writer = std::make_unique<wal::WalWriter>(*storage, options);
    }
    ~Follower() {
        receiver->stop();
        writer->close();
    }
    fs::path wal_dir;
    std::unique_ptr<wal::UringStorage> storage;
    std::unique_ptr<wal::WalWriter> writer;
    std::unique_ptr<FollowerReceiver> receiver;
    std::atomic<int> installs{0};
    std::mutex mutex;
    std::vector<std::string> warnings;
};

}  // namespace

TEST_CASE("a follower the leader's WAL no longer covers re-syncs by snapshot, twice refused",
          "[repl][link][snapshot]") {
    test::TempDir dir;
    constexpr wal::Lsn kStored = 3000;
    const fs::path leader_dir = dir.path() / "leader";
    test::FillerLeader filler(leader_dir, 6000);
    wal::WalWriter& leader = filler.log;
    test::TrackedQuorum& quorum = filler.quorum;
    ShipBuffer& buffer = filler.buffer;
    // The store holds up to 3000: the segments below it go.
    filler.release_below(kStored + 1);
    const wal::Lsn oldest = leader.held_segments().front().first_lsn;
    REQUIRE(oldest > 1);

    Follower three(3, dir.path() / "f3");
    three.receiver->start();
    LeaderSenderOptions options;
    options.epoch = kEpoch;
    options.followers = {{3, "127.0.0.1", three.receiver->port()}};
    options.wal_dir = leader_dir;
    options.copy_bytes = 16 * 1024;
    // Two damaged transfers: the second and third snapshots wait 200 and 400 ms after the one
    // before (a follower failing in a loop must not make the leader snapshot in a loop).
    options.damage_snapshot_chunks = 2;
    options.snapshot_retry_min = std::chrono::milliseconds(200);
    std::atomic<int> made{0};
    std::array<std::chrono::steady_clock::time_point, 8> made_at{};
    std::atomic<NodeId> asked_for{0};
    std::atomic<int> dropped{0};
    LeaderSenderHooks hooks = quorum.sender_hooks(leader);
    hooks.oldest_lsn = [&] { return leader.held_segments().front().first_lsn; };
    hooks.make_snapshot = [&](NodeId node) {
        asked_for = node;
        made_at.at(static_cast<std::size_t>(made.load())) = std::chrono::steady_clock::now();
        const fs::path snapshot = dir.path() / ("snapshot-" + std::to_string(made++));
        SnapshotSource source;
        source.dir = snapshot;
        source.manifest.store_lsn = kStored;
        source.manifest.last_lsn = leader.durable_lsn();
        std::ofstream(dir.path() / "store-file") << "the store at LSN 3000";
        source.manifest.files.push_back(
            copy_with_sum(dir.path() / "store-file", snapshot, "store.sqlite"));
        for (const auto& entry : fs::directory_iterator(leader_dir)) {
            const std::string name = entry.path().filename().string();
            if (wal::parse_segment_file_name(name)) {
                source.manifest.files.push_back(
                    copy_with_sum(entry.path(), snapshot, "wal/" + name));
            }
        }
        return source;
    };
    hooks.drop_snapshot = [&](const SnapshotSource& snapshot) {
        fs::remove_all(snapshot.dir);
        ++dropped;
    };
    LeaderSender sender(options, buffer, hooks);
    sender.start();

    REQUIRE(eventually([&] { return three.installs.load() == 1; }));
    REQUIRE(made.load() == 3);  // the damaged ones, then the good one
    CHECK(made_at[1] - made_at[0] >= std::chrono::milliseconds(200));
    CHECK(made_at[2] - made_at[1] >= std::chrono::milliseconds(400));
    CHECK(asked_for.load() == 3);
    CHECK(eventually([&] { return dropped.load() == 3; }));
    {
        std::lock_guard lock(three.mutex);
        REQUIRE_FALSE(three.warnings.empty());
        CHECK_THAT(three.warnings.front(),
                   Catch::Contains("snapshot refused") && Catch::Contains("CRC32C"));
    }
    // It streams on from the snapshot's end, live records included.
    test::append_filler(leader, 6001, 7000);
    REQUIRE(leader.wait_durable(7000));
    REQUIRE(eventually([&] {
        for (const FollowerStatus& status : sender.status()) {
            if (status.acked_lsn != 7000) {
                return false;
            }
        }
        return true;
    }));
    CHECK(sender.status().front().snapshots == 1);
    {
        std::lock_guard lock(quorum.mutex);
        CHECK_FALSE(quorum.tracker.set_aside(3));
        CHECK(quorum.tracker.frontier() == 7000);  // the leader and follower 3
    }
    sender.stop();
    leader.close();
    three.receiver->stop();
    three.writer->close();
    wal::UringStorage leader_read(leader_dir.string());
    wal::UringStorage follower_read(three.wal_dir.string());
    const std::vector<test::Logged> logged = test::read_log(leader_read);
    REQUIRE(logged.size() == 7000 - oldest + 1);
    CHECK(test::read_log(follower_read) == logged);
    std::ifstream store(dir.path() / "f3" / "store.sqlite");
    CHECK(std::string(std::istreambuf_iterator<char>(store), {}) == "the store at LSN 3000");
}

TEST_CASE("a follower within the retention bound is caught up from the WAL, not a snapshot",
          "[repl][link][retention]") {
    test::TempDir dir;
    const fs::path leader_dir = dir.path() / "leader";
    test::FillerLeader filler(leader_dir, 6000);
    wal::WalWriter& leader = filler.log;
    test::TrackedQuorum& quorum = filler.quorum;
    ShipBuffer& buffer = filler.buffer;

    // Follower 3 acknowledged LSN 1000 before it went away; the store holds up to 5000.
    FollowerRetention generous({3}, 1u << 30);
    generous.acked(3, 1000);
    const wal::Lsn floor = generous.release_floor(5001, leader.held_segments());
    CHECK(floor == 1001);
    CHECK_FALSE(generous.out_of_date(3));
    CHECK(generous.held_bytes() > 0);
    filler.release_below(floor);
    REQUIRE(leader.held_segments().front().first_lsn <= 1001);
    // With a bound of one segment the same follower would have been given up on.
    FollowerRetention tight({3}, wal::kMinSegmentBytes);
    tight.acked(3, 1000);
    CHECK(tight.release_floor(5001, leader.held_segments()) == 5001);
    CHECK(tight.out_of_date(3));

    // Its log up to 1000, as it had acknowledged it.
    const fs::path root = dir.path() / "f3";
    {
        fs::create_directories(root);
        wal::UringStorage storage((root / "wal").string());
        wal::WalWriter writer(storage, test::snapshot_log_options());
        for (wal::Lsn lsn = 1; lsn <= 1000; ++lsn) {
            std::vector<std::byte> payload(lsn % 40, static_cast<std::byte>(lsn));
            REQUIRE(writer.append_replicated(lsn, static_cast<std::uint16_t>(10 + lsn % 7), payload)
                        .status == wal::AppendStatus::Ok);
        }
        REQUIRE(writer.wait_durable(1000));
        writer.close();
    }
    Follower three(3, root);
    three.receiver->start();
    LeaderSenderOptions options;
    options.epoch = kEpoch;
    options.followers = {{3, "127.0.0.1", three.receiver->port()}};
    options.wal_dir = leader_dir;
    options.copy_bytes = 16 * 1024;
    std::atomic<int> made{0};
    LeaderSenderHooks hooks = quorum.sender_hooks(leader);
    hooks.oldest_lsn = [&] { return leader.held_segments().front().first_lsn; };
    hooks.make_snapshot = [&](NodeId) -> SnapshotSource {
        ++made;
        throw std::runtime_error("no snapshot expected");
    };
    LeaderSender sender(options, buffer, hooks);
    sender.start();
    REQUIRE(eventually([&] { return sender.status().front().acked_lsn == 6000; }));
    CHECK(made.load() == 0);
    CHECK(three.installs.load() == 0);
    CHECK(sender.status().front().catch_ups >= 1);
    sender.stop();
    leader.close();
}

TEST_CASE("a snapshot gives the follower the leader's epoch history",
          "[repl][link][snapshot][epoch]") {
    test::TempDir dir;
    ShipBuffer buffer(16 * 1024);
    const fs::path leader_dir = dir.path() / "leader";
    wal::UringStorage leader_storage(leader_dir.string());
    const wal::WalOptions leader_options =
        test::shipping_options(test::snapshot_log_options(), buffer);
    wal::WalWriter leader(leader_storage, leader_options);
    EpochHistory history;
    REQUIRE(begin_term(leader, leader_storage, history, 1, 1) == 1);
    test::append_filler(leader, 2, 2000);
    REQUIRE(begin_term(leader, leader_storage, history, 2, 1) == 2001);
    test::append_filler(leader, 2002, 6000);
    REQUIRE(leader.wait_durable(6000));
    leader.release_below(3001);  // both term records go
    leader.wait_background_idle();
    REQUIRE(leader.held_segments().front().first_lsn > 2001);

    const bool ship_history = GENERATE(true, false);
    INFO("the snapshot carries the history: " << ship_history);
    Follower three(3, dir.path() / "f3", 2);
    three.receiver->start();
    LeaderSenderOptions options;
    options.epoch = 2;
    options.history = history;
    options.followers = {{3, "127.0.0.1", three.receiver->port()}};
    options.wal_dir = leader_dir;
    options.redial_min = 10ms;
    std::mutex said_mutex;
    std::vector<std::string> said;
    const auto say = [&](const std::string& line) {
        std::lock_guard lock(said_mutex);
        said.push_back(line);
    };
    const auto refused_diverged = [&] {
        std::lock_guard lock(said_mutex);
        return std::any_of(said.begin(), said.end(), [](const std::string& line) {
            return line.find("diverged log") != std::string::npos;
        });
    };
    LeaderSenderHooks hooks;
    hooks.durable_lsn = [&] { return leader.durable_lsn(); };
    hooks.oldest_lsn = [&] { return leader.held_segments().front().first_lsn; };
    hooks.shipped = [](wal::Lsn) {};
    hooks.ack = [](NodeId, Epoch, wal::Lsn) { return AckResult{}; };
    hooks.info = say;
    hooks.warn = say;
    int made = 0;
    hooks.make_snapshot = [&](NodeId) {
        const fs::path snapshot = dir.path() / ("snapshot-" + std::to_string(made++));
        SnapshotSource source;
        source.dir = snapshot;
        source.manifest.store_lsn = 3000;
        source.manifest.last_lsn = leader.durable_lsn();
        std::ofstream(dir.path() / "store-file") << "the store at LSN 3000";
        source.manifest.files.push_back(
            copy_with_sum(dir.path() / "store-file", snapshot, "store.sqlite"));
        for (const auto& entry : fs::directory_iterator(leader_dir)) {
            const std::string name = entry.path().filename().string();
            if (wal::parse_segment_file_name(name)) {
                source.manifest.files.push_back(
                    copy_with_sum(entry.path(), snapshot, "wal/" + name));
            }
        }
        if (ship_history) {
            const auto epochs = add_snapshot_epochs(leader_dir, snapshot, source.manifest.last_lsn);
            REQUIRE(epochs.has_value());
            source.manifest.files.push_back(*epochs);
        }
        return source;
    };
    hooks.drop_snapshot = [](const SnapshotSource& snapshot) { fs::remove_all(snapshot.dir); };
    LeaderSender sender(options, buffer, hooks);
    sender.start();
    REQUIRE(eventually([&] { return three.installs.load() == 1; }));
    test::append_filler(leader, 6001, 6500);
    REQUIRE(leader.wait_durable(6500));
    if (ship_history) {
        CHECK(eventually([&] { return three.receiver->acked_lsn() == 6500; }));
        CHECK_FALSE(refused_diverged());
    } else {
        // The planted fault: the installed log has no terms, so its records count as epoch 0.
        CHECK(eventually(refused_diverged));
        CHECK(three.receiver->acked_lsn() == 6000);
    }
    sender.stop();
    leader.close();
    three.receiver->stop();
    three.writer->close();
    if (ship_history) {
        wal::UringStorage follower_read(three.wal_dir.string());
        CHECK(read_log_epochs(follower_read).history.terms() ==
              std::vector<TermStart>{{1, 1}, {2, 2001}});
    }
}

TEST_CASE("a follower refuses a snapshot of the other store kind at its SnapshotBegin",
          "[repl][link][snapshot]") {
    test::TempDir dir;
    const fs::path leader_dir = dir.path() / "leader";
    test::FillerLeader filler(leader_dir, 6000);
    wal::WalWriter& leader = filler.log;
    test::TrackedQuorum& quorum = filler.quorum;
    ShipBuffer& buffer = filler.buffer;
    filler.release_below(3001);

    // An SQLite leader, a follower configured for PostgreSQL by mistake.
    Follower three(3, dir.path() / "f3", kEpoch, kSnapshotPostgresStore);
    three.receiver->start();
    LeaderSenderOptions options;
    options.epoch = kEpoch;
    options.followers = {{3, "127.0.0.1", three.receiver->port()}};
    options.wal_dir = leader_dir;
    options.snapshot_retry_min = std::chrono::milliseconds(10);
    std::atomic<int> made{0};
    LeaderSenderHooks hooks = quorum.sender_hooks(leader);
    hooks.oldest_lsn = [&] { return leader.held_segments().front().first_lsn; };
    hooks.make_snapshot = [&](NodeId) {
        const fs::path snapshot = dir.path() / ("snapshot-" + std::to_string(made++));
        SnapshotSource source;
        source.dir = snapshot;
        source.manifest.store_lsn = 3000;
        source.manifest.last_lsn = leader.durable_lsn();
        std::ofstream(dir.path() / "store-file") << "an SQLite store";
        source.manifest.files.push_back(
            copy_with_sum(dir.path() / "store-file", snapshot, "store.sqlite"));
        return source;
    };
    hooks.drop_snapshot = [](const SnapshotSource& snapshot) { fs::remove_all(snapshot.dir); };
    LeaderSender sender(options, buffer, hooks);
    sender.start();
    const auto refused = [&] {
        std::lock_guard lock(three.mutex);
        return std::any_of(three.warnings.begin(), three.warnings.end(), [](const auto& line) {
            return line.find("snapshot refused") != std::string::npos &&
                   line.find("holds a SQLite store (store.sqlite)") != std::string::npos &&
                   line.find("this follower's store is PostgreSQL") != std::string::npos;
        });
    };
    CHECK(eventually(refused));
    CHECK(eventually([&] { return made.load() >= 2; }));  // retried, refused again
    sender.stop();
    CHECK(three.installs.load() == 0);
    CHECK_FALSE(fs::exists(dir.path() / "f3" / "staging" / "store.sqlite"));
    leader.close();
}
