#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/crc32c.hpp"
#include "common/little_endian.hpp"
#include "frame_test_util.hpp"
#include "repl/frame_decoder.hpp"
#include "repl/snapshot_frames.hpp"
#include "repl/snapshot_staging.hpp"

using namespace exchanged;
using namespace exchanged::repl;
using exchanged::repl::test::OwnedFrame;
namespace fs = std::filesystem;

namespace {

std::vector<std::byte> bytes_of_text(const std::string& text) {
    const auto* at = reinterpret_cast<const std::byte*>(text.data());
    return {at, at + text.size()};
}

SnapshotManifest sample_manifest() {
    return {100, 140, {{"store.sqlite", 5, 11}, {"wal/wal-0000000000000001.log", 70000, 22}}};
}

std::vector<OwnedFrame> decode_all(std::span<const std::byte> bytes) {
    FrameDecoder decoder;
    std::vector<OwnedFrame> frames;
    REQUIRE(test::decode_split(decoder, bytes, {}, frames));
    return frames;
}

std::string refusal_of(std::span<const std::byte> bytes, FrameError expected) {
    FrameDecoder decoder;
    std::vector<OwnedFrame> frames;
    CHECK_FALSE(test::decode_split(decoder, bytes, {}, frames));
    CHECK(decoder.error() == expected);
    return decoder.message();
}

Frame view(const OwnedFrame& owned) {
    return {owned.header, owned.payload};
}

struct TempDir {
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "snapshot-test.XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    fs::path path;
};

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

SnapshotFile file_of(const std::string& name, const std::string& text) {
    return {name, text.size(), crc32c(text.data(), text.size())};
}

}  // namespace

TEST_CASE("snapshot frames round-trip", "[repl][snapshot]") {
    std::vector<std::byte> out;
    encode_snapshot_begin(9, sample_manifest(), out);
    const std::vector<std::byte> data = bytes_of_text("hello");
    encode_snapshot_chunk(9, {1, 65536, data}, out);
    encode_snapshot_end(9, 2, out);
    const std::vector<OwnedFrame> frames = decode_all(out);
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].header.kind == FrameKind::SnapshotBegin);
    CHECK(frames[0].header.epoch == 9);
    CHECK(snapshot_begin_of(view(frames[0])) == sample_manifest());
    const SnapshotChunk chunk = snapshot_chunk_of(view(frames[1]));
    CHECK(chunk.file == 1);
    CHECK(chunk.offset == 65536);
    CHECK(std::vector<std::byte>(chunk.bytes.begin(), chunk.bytes.end()) == data);
    CHECK(snapshot_end_of(view(frames[2])) == 2);
}

TEST_CASE("the encoders refuse what the decoder would", "[repl][snapshot]") {
    std::vector<std::byte> out;
    CHECK_THROWS_WITH(encode_snapshot_begin(1, {1, 1, {}}, out), Catch::Contains("0 files"));
    CHECK_THROWS_WITH(encode_snapshot_begin(1, {1, 1, {{"../etc/passwd", 1, 0}}}, out),
                      Catch::Contains("not a file inside the snapshot"));
    const std::vector<std::byte> big(kMaxSnapshotChunkBytes + 1);
    CHECK_THROWS_WITH(encode_snapshot_chunk(1, {0, 0, big}, out), Catch::Contains("outside"));
    CHECK_THROWS(encode_snapshot_chunk(1, {0, 0, {}}, out));
}

TEST_CASE("snapshot file names stay inside the staging directory", "[repl][snapshot]") {
    CHECK(snapshot_name_error("store.sqlite").empty());
    CHECK(snapshot_name_error("wal/wal-0000000000000001.log").empty());
    for (const char* bad : {"", "/etc/passwd", "../x", "wal/..", "a/b/c", "wal/", ".", "..", "a b",
                            "wal\\x", "./x"}) {
        INFO(bad);
        CHECK_FALSE(snapshot_name_error(bad).empty());
    }
    CHECK_FALSE(snapshot_name_error(std::string(256, 'a')).empty());
}

TEST_CASE("the decoder refuses malformed snapshot frames, naming the field", "[repl][snapshot]") {
    std::vector<std::byte> good;
    encode_snapshot_begin(1, sample_manifest(), good);
    const std::vector<std::byte> begin(good.begin() + kFrameHeaderBytes, good.end());
    const auto kind_of = [](FrameKind kind) { return static_cast<std::uint16_t>(kind); };

    SECTION("a manifest's last_lsn below its store_lsn") {
        std::vector<std::byte> payload = begin;
        store_le(payload.data() + 8, std::uint64_t{99});
        CHECK_THAT(refusal_of(test::raw_frame(kind_of(FrameKind::SnapshotBegin), 1, 0, 0, payload),
                              FrameError::BadPayload),
                   Catch::Contains("last_lsn 99 is below store_lsn 100"));
    }
    SECTION("a file_count of 0 or over the bound") {
        std::vector<std::byte> payload = begin;
        store_le(payload.data() + 16, std::uint32_t{0});
        CHECK_THAT(refusal_of(test::raw_frame(kind_of(FrameKind::SnapshotBegin), 1, 0, 0, payload),
                              FrameError::BadPayload),
                   Catch::Contains("file_count 0"));
        store_le(payload.data() + 16, std::uint32_t{5000});
        CHECK_THAT(refusal_of(test::raw_frame(kind_of(FrameKind::SnapshotBegin), 1, 0, 0, payload),
                              FrameError::BadPayload),
                   Catch::Contains("file_count 5000"));
    }
    SECTION("a file_count the payload does not hold") {
        std::vector<std::byte> payload = begin;
        store_le(payload.data() + 16, std::uint32_t{3});
        CHECK_THAT(refusal_of(test::raw_frame(kind_of(FrameKind::SnapshotBegin), 1, 0, 0, payload),
                              FrameError::BadPayload),
                   Catch::Contains("file 2: the payload ends"));
    }
    SECTION("bytes after the last file") {
        std::vector<std::byte> payload = begin;
        payload.push_back(std::byte{0});
        CHECK_THAT(refusal_of(test::raw_frame(kind_of(FrameKind::SnapshotBegin), 1, 0, 0, payload),
                              FrameError::BadPayload),
                   Catch::Contains("1 payload bytes follow file_count 2"));
    }
    SECTION("a name escaping the staging directory") {
        std::vector<std::byte> payload = begin;
        // The first name "store.sqlite" becomes "../re.sqlite".
        payload[22] = std::byte{'.'};
        payload[23] = std::byte{'.'};
        payload[24] = std::byte{'/'};
        CHECK_THAT(refusal_of(test::raw_frame(kind_of(FrameKind::SnapshotBegin), 1, 0, 0, payload),
                              FrameError::BadPayload),
                   Catch::Contains("file 0: name \"../re.sqlite\""));
    }
    SECTION("a file listed twice") {
        SnapshotManifest twice = sample_manifest();
        twice.files[1].name = "store.sqlite";
        // The encoder checks names, not repeats.
        std::vector<std::byte> frame;
        encode_snapshot_begin(1, twice, frame);
        CHECK_THAT(refusal_of(frame, FrameError::BadPayload), Catch::Contains("listed twice"));
    }
    SECTION("a chunk without bytes, or over 1 MiB") {
        const std::vector<std::byte> head(kSnapshotChunkHeadBytes);
        CHECK_THAT(refusal_of(test::raw_frame(kind_of(FrameKind::SnapshotChunk), 1, 0, 0, head),
                              FrameError::BadLength),
                   Catch::Contains("SnapshotChunk frame: payload_bytes 12 is outside"));
        const std::vector<std::byte> big(kSnapshotChunkHeadBytes + kMaxSnapshotChunkBytes + 1);
        CHECK_THAT(refusal_of(test::raw_frame(kind_of(FrameKind::SnapshotChunk), 1, 0, 0, big),
                              FrameError::BadLength),
                   Catch::Contains("is outside"));
    }
    SECTION("a chunk offset past any file's end") {
        std::vector<std::byte> payload(kSnapshotChunkHeadBytes + 1);
        store_le(payload.data() + 4, kMaxSnapshotFileBytes);
        CHECK_THAT(refusal_of(test::raw_frame(kind_of(FrameKind::SnapshotChunk), 1, 0, 0, payload),
                              FrameError::BadPayload),
                   Catch::Contains("offset"));
    }
    SECTION("an end of the wrong length, and LSN fields a snapshot frame leaves 0") {
        const std::vector<std::byte> three(3);
        CHECK_THAT(refusal_of(test::raw_frame(kind_of(FrameKind::SnapshotEnd), 1, 0, 0, three),
                              FrameError::BadLength),
                   Catch::Contains("SnapshotEnd frame: payload_bytes 3 is not 4"));
        const std::vector<std::byte> four(4);
        CHECK_THAT(refusal_of(test::raw_frame(kind_of(FrameKind::SnapshotEnd), 1, 5, 0, four),
                              FrameError::BadField),
                   Catch::Contains("first_lsn 5"));
    }
    SECTION("a kind past the last") {
        CHECK_THAT(refusal_of(test::raw_frame(10, 1, 0, 0, {}), FrameError::BadKind),
                   Catch::Contains("kind 10 is not a frame kind (1..9)"));
    }
}

TEST_CASE("a staged snapshot is checked against its manifest, then swapped in",
          "[repl][snapshot]") {
    TempDir temp;
    const std::string store = "the store's bytes";
    const std::string segment(3000, 'w');
    const SnapshotManifest manifest{
        10, 20, {file_of("store.sqlite", store), file_of("wal/wal-0000000000000001.log", segment)}};
    const fs::path staging_dir = temp.path / "staging";
    const SnapshotTargets targets{temp.path / "wal", temp.path / "store.sqlite"};
    write_text(targets.wal_dir / "wal-old.log", "old log");
    write_text(targets.store_file, "old store");
    write_text(temp.path / "store.sqlite-wal", "stale sqlite wal");
    const auto chunk = [](std::uint32_t file, std::uint64_t offset, const std::string& text) {
        return SnapshotChunk{
            file, offset, std::span(reinterpret_cast<const std::byte*>(text.data()), text.size())};
    };

    SnapshotStaging staging(staging_dir);
    SECTION("whole and matching: READY, then installed") {
        REQUIRE(staging.begin(manifest).empty());
        REQUIRE(staging.chunk(chunk(0, 0, store)).empty());
        REQUIRE(staging.chunk(chunk(1, 0, segment.substr(0, 1000))).empty());
        REQUIRE(staging.chunk(chunk(1, 1000, segment.substr(1000))).empty());
        REQUIRE(staging.end(2).empty());
        CHECK(staging.bytes_received() == store.size() + segment.size());
        CHECK(fs::exists(staging_dir / kSnapshotReadyName));
        install_snapshot(staging_dir, targets, {});
        CHECK(read_text(targets.store_file) == store);
        CHECK(read_text(targets.wal_dir / "wal-0000000000000001.log") == segment);
        CHECK_FALSE(fs::exists(targets.wal_dir / "wal-old.log"));
        CHECK_FALSE(fs::exists(temp.path / "store.sqlite-wal"));
        CHECK_FALSE(fs::exists(staging_dir));
    }
    SECTION("a damaged chunk fails the CRC check and nothing is READY") {
        REQUIRE(staging.begin(manifest).empty());
        std::string damaged = store;
        damaged[3] ^= 1;
        REQUIRE(staging.chunk(chunk(0, 0, damaged)).empty());
        REQUIRE(staging.chunk(chunk(1, 0, segment)).empty());
        CHECK_THAT(staging.end(2), Catch::Contains("store.sqlite: CRC32C") &&
                                       Catch::Contains("does not match the manifest"));
        CHECK_FALSE(fs::exists(staging_dir / kSnapshotReadyName));
        CHECK_THROWS_WITH(install_snapshot(staging_dir, targets, {}),
                          Catch::Contains("never completed"));
        CHECK(read_text(targets.store_file) == "old store");
        // At the next start the incomplete transfer is removed, the old files kept.
        CHECK_FALSE(finish_interrupted_snapshot(staging_dir, targets, {}));
        CHECK_FALSE(fs::exists(staging_dir));
        CHECK(read_text(targets.wal_dir / "wal-old.log") == "old log");
    }
    SECTION("chunks out of order, past a file's end, or missing") {
        REQUIRE(staging.begin(manifest).empty());
        CHECK_THAT(staging.chunk(chunk(0, 1, "x")), Catch::Contains("at offset 1, expected 0"));
        CHECK_THAT(staging.chunk(chunk(1, 0, "x")),
                   Catch::Contains("for file 1 while file 0 is being received"));
        CHECK_THAT(staging.chunk(chunk(0, 0, store + "!")), Catch::Contains("runs past its size"));
        REQUIRE(staging.chunk(chunk(0, 0, store)).empty());
        CHECK_THAT(staging.end(2), Catch::Contains("wal/wal-0000000000000001.log: 0 bytes"));
        CHECK_THAT(staging.end(3), Catch::Contains("SnapshotEnd says 3 files, the manifest 2"));
    }
    SECTION("a swap a crash interrupted is finished at the next start") {
        REQUIRE(staging.begin(manifest).empty());
        REQUIRE(staging.chunk(chunk(0, 0, store)).empty());
        REQUIRE(staging.chunk(chunk(1, 0, segment)).empty());
        REQUIRE(staging.end(2).empty());
        // The crash: the old WAL moved aside, the new one not yet in place.
        fs::rename(targets.wal_dir, targets.wal_dir.string() + ".pre-snapshot");
        CHECK(finish_interrupted_snapshot(staging_dir, targets, {}));
        CHECK(read_text(targets.wal_dir / "wal-0000000000000001.log") == segment);
        CHECK(read_text(targets.store_file) == store);
        CHECK_FALSE(fs::exists(targets.wal_dir.string() + ".pre-snapshot"));
        CHECK_FALSE(fs::exists(staging_dir));
    }
}

TEST_CASE("a snapshot's store of another kind than the follower's is refused, naming both",
          "[repl][snapshot]") {
    const SnapshotManifest sqlite{10, 20, {{"store.sqlite", 5, 1}, {"wal/wal-1.log", 9, 2}}};
    const SnapshotManifest pg{10, 20, {{"store.pgdump", 5, 1}, {"wal/wal-1.log", 9, 2}}};
    CHECK(snapshot_store_mismatch(sqlite, kSnapshotSqliteStore).empty());
    CHECK(snapshot_store_mismatch(pg, kSnapshotPostgresStore).empty());
    CHECK_THAT(snapshot_store_mismatch(sqlite, kSnapshotPostgresStore),
               Catch::Contains("holds a SQLite store (store.sqlite)") &&
                   Catch::Contains("this follower's store is PostgreSQL"));
    CHECK_THAT(snapshot_store_mismatch(pg, kSnapshotSqliteStore),
               Catch::Contains("holds a PostgreSQL store (store.pgdump)") &&
                   Catch::Contains("this follower's store is SQLite"));

    // At install (a follower reconfigured between the transfer and a restart): nothing moves.
    TempDir temp;
    const fs::path staging = temp.path / "staging";
    write_text(staging / "store.sqlite", "an SQLite store");
    write_text(staging / "wal" / "wal-0000000000000001.log", "new log");
    write_text(staging / kSnapshotReadyName, "");
    write_text(temp.path / "wal" / "wal-old.log", "old log");
    SnapshotTargets targets{temp.path / "wal", {}};
    targets.store_name = kSnapshotPostgresStore;
    int installs = 0;
    targets.install_store = [&](const fs::path&) {
        ++installs;
        return std::string("installed");
    };
    CHECK_THROWS_WITH(install_snapshot(staging, targets, {}),
                      Catch::Contains("snapshot install: the snapshot holds a SQLite store") &&
                          Catch::Contains("PostgreSQL"));
    CHECK(installs == 0);
    CHECK(read_text(temp.path / "wal" / "wal-old.log") == "old log");
    CHECK(fs::exists(staging / kSnapshotReadyName));
}

TEST_CASE("a snapshot's store install a crash interrupted runs again, ending in the same store",
          "[repl][snapshot]") {
    TempDir temp;
    const fs::path staging = temp.path / "staging";
    const std::string dump = "the leader's dump at LSN 3000";
    write_text(staging / "store.pgdump", dump);
    write_text(staging / "wal" / "wal-0000000000000001.log", "new log");
    write_text(staging / kSnapshotReadyName, "");
    write_text(temp.path / "wal" / "wal-old.log", "old log");
    // The "database": the hook replaces its contents whole, as one pg_restore transaction does.
    const fs::path database = temp.path / "database";
    write_text(database, "the follower's old store");
    SnapshotTargets targets{temp.path / "wal", {}};
    targets.store_name = kSnapshotPostgresStore;
    int runs = 0;
    bool crash = true;
    targets.install_store = [&](const fs::path& staged) {
        ++runs;
        if (crash) {
            // The server went away: nothing of this run committed.
            throw std::runtime_error("pg_restore failed (exit status 1): connection refused");
        }
        write_text(database, read_text(staged));
        return "restored " + staged.filename().string();
    };
    std::vector<std::string> said;
    const auto say = [&](const std::string& line) { said.push_back(line); };
    // The WAL is in before the store fails: the store is behind the WAL, never ahead.
    CHECK_THROWS_WITH(install_snapshot(staging, targets, say),
                      Catch::Contains("connection refused"));
    CHECK(read_text(targets.wal_dir / "wal-0000000000000001.log") == "new log");
    CHECK(read_text(database) == "the follower's old store");
    CHECK(fs::exists(staging / kSnapshotReadyName));
    CHECK(fs::exists(staging / "store.pgdump"));

    // The next start finishes it; a second install after that (a crash before READY went) too.
    crash = false;
    CHECK(finish_interrupted_snapshot(staging, targets, say));
    CHECK(read_text(database) == dump);
    CHECK_FALSE(fs::exists(staging));
    CHECK(read_text(targets.wal_dir / "wal-0000000000000001.log") == "new log");
    write_text(staging / "store.pgdump", dump);
    write_text(staging / kSnapshotReadyName, "");
    CHECK(finish_interrupted_snapshot(staging, targets, say));
    CHECK(read_text(database) == dump);
    CHECK(runs == 3);
    CHECK(std::count(said.begin(), said.end(), "replication: snapshot: restored store.pgdump") ==
          2);
}
