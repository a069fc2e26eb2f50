// The epochs file beside the log (repl/epoch_file.hpp): its format, a damaged or short file, the
// merge with the terms the log still holds once segments are released, and the cut.
#include <catch2/catch.hpp>

#include <vector>

#include "common/crc32c.hpp"
#include "repl/epoch_file.hpp"
#include "repl/log_epochs.hpp"
#include "small_log.hpp"
#include "wal/sim_storage.hpp"
#include "wal/wal_reader.hpp"
#include "wal/wal_writer.hpp"

using namespace exchanged;
using namespace exchanged::repl;

namespace {

using test::append_commands;
using test::write_three_terms;

EpochHistory history_of(std::vector<TermStart> terms) {
    EpochHistory history;
    for (const TermStart& term : terms) {
        history.begin(term.epoch, term.first_lsn);
    }
    return history;
}

std::vector<std::byte> file_bytes(wal::SimStorage& sim) {
    std::vector<std::byte> bytes(sim.file_bytes("epochs"));
    sim.read("epochs", 0, bytes);
    return bytes;
}

void put_file(wal::SimStorage& sim, const std::vector<std::byte>& bytes) {
    sim.create_zeroed("epochs", bytes.size());
    if (!bytes.empty()) {
        sim.write_durable("epochs", 0, bytes);
    }
}

}  // namespace

TEST_CASE("the epochs file round-trips and refuses damage naming the file", "[repl][epoch]") {
    const EpochHistory history = history_of({{1, 1}, {2, 42}, {5, 343}});
    const std::vector<std::byte> bytes = encode_epoch_file(history);
    CHECK(bytes.size() == 16 + 3 * 16);
    CHECK(decode_epoch_file(bytes, "x").terms() == history.terms());
    CHECK(decode_epoch_file(encode_epoch_file({}), "x").empty());

    wal::SimStorage sim(3);
    CHECK_FALSE(read_epoch_file(sim).has_value());
    write_epoch_file(sim, history);
    REQUIRE(read_epoch_file(sim).has_value());
    CHECK(read_epoch_file(sim)->terms() == history.terms());

    SECTION("a flipped bit") {
        std::vector<std::byte> damaged = bytes;
        damaged[30] ^= std::byte{0x04};
        put_file(sim, damaged);
        CHECK_THROWS_WITH(read_epoch_file(sim),
                          Catch::Contains("epochs") && Catch::Contains("CRC32C mismatch"));
    }
    SECTION("a short file") {
        std::vector<std::byte> damaged(bytes.begin(), bytes.end() - 5);
        put_file(sim, damaged);
        CHECK_THROWS_WITH(read_epoch_file(sim),
                          Catch::Contains("epochs") && Catch::Contains("terms need 64"));
        put_file(sim, {});
        CHECK_THROWS_WITH(read_epoch_file(sim), Catch::Contains("shorter than its header"));
    }
    SECTION("another file's bytes") {
        std::vector<std::byte> damaged = bytes;
        damaged[0] = std::byte{'X'};
        put_file(sim, damaged);
        CHECK_THROWS_WITH(read_epoch_file(sim), Catch::Contains("does not start with EXEPOCH1"));
    }
    SECTION("terms that go back, with a good checksum") {
        put_file(sim, encode_epoch_file(history_of({{1, 1}, {2, 42}})));
        std::vector<std::byte> swapped = file_bytes(sim);
        // Hand-made: the second term's epoch 0 (below the first's) and the CRC recomputed.
        for (int i = 0; i < 8; ++i) {
            swapped[32 + i] = std::byte{0};
        }
        const std::uint32_t crc = exchanged::crc32c(swapped.data() + 16, swapped.size() - 16);
        for (int i = 0; i < 4; ++i) {
            swapped[12 + i] = static_cast<std::byte>(crc >> (8 * i));
        }
        put_file(sim, swapped);
        CHECK_THROWS_WITH(read_epoch_file(sim), Catch::Contains("does not follow"));
    }
    SECTION("a damaged file stops the log's history") {
        put_file(sim, std::vector<std::byte>(bytes.begin(), bytes.begin() + 20));
        CHECK_THROWS_WITH(read_log_epochs(sim), Catch::Contains("epochs"));
    }
}

TEST_CASE("the history survives released segments through the epochs file", "[repl][epoch]") {
    wal::SimStorage sim(7);
    write_three_terms(sim, 300);
    const wal::ScanResult scan = wal::scan_log(sim, {}, [](const wal::RecordView&) {});
    REQUIRE(scan.first_lsn > 42);  // both older term records went with their segments

    SECTION("merged: the file's old terms, the log's newer ones") {
        const LogEpochs epochs = read_log_epochs(sim);
        CHECK(epochs.history.terms() == std::vector<TermStart>{{1, 1}, {2, 42}, {5, 343}});
        CHECK(epochs.last_epoch == 5);
        CHECK(epochs.history.epoch_of(scan.first_lsn) == 2);
    }
    SECTION("without the file (the bug it fixes) the history is short") {
        sim.remove("epochs");
        const LogEpochs epochs = read_log_epochs(sim);
        CHECK(epochs.history.terms() == std::vector<TermStart>{{5, 343}});
        CHECK(epochs.history.epoch_of(scan.first_lsn) == 0);
    }
    SECTION("the log wins inside its range; a file term above its end is dropped") {
        put_file(sim, encode_epoch_file(history_of({{1, 1}, {2, 42}, {4, 343}, {9, 400}})));
        const LogEpochs epochs = read_log_epochs(sim);
        CHECK(epochs.history.terms() == std::vector<TermStart>{{1, 1}, {2, 42}, {5, 343}});
    }
    SECTION("a file that lost a term the log still holds (a crash before its rewrite)") {
        put_file(sim, encode_epoch_file(history_of({{1, 1}, {2, 42}})));
        CHECK(read_log_epochs(sim).history.terms() ==
              std::vector<TermStart>{{1, 1}, {2, 42}, {5, 343}});
    }
    SECTION("a file that disagrees with the log's order is a start-up error") {
        put_file(sim, encode_epoch_file(history_of({{1, 1}, {7, 42}})));
        CHECK_THROWS_WITH(read_log_epochs(sim), Catch::Contains("disagree"));
    }
}

TEST_CASE("a cut drops the terms above the kept LSN from the file, then cuts the log",
          "[repl][epoch]") {
    wal::SimStorage sim(11);
    write_three_terms(sim, 300);
    SECTION("the cut") {
        const wal::TruncateReport report = cut_log_after(sim, 342);
        CHECK(report.last_lsn == 342);
        CHECK(read_epoch_file(sim)->terms() == std::vector<TermStart>{{1, 1}, {2, 42}});
        CHECK(read_log_epochs(sim).history.terms() == std::vector<TermStart>{{1, 1}, {2, 42}});
    }
    SECTION("a crash after the file's rewrite, before the log's cut: the log still has the term") {
        EpochHistory cut = *read_epoch_file(sim);
        cut.truncate_after(342);
        write_epoch_file(sim, cut);
        sim.lose_power(wal::SimStorage::PowerLoss::DropUnsynced);
        CHECK(read_log_epochs(sim).history.terms() ==
              std::vector<TermStart>{{1, 1}, {2, 42}, {5, 343}});
        cut_log_after(sim, 342);  // the leader asks again
        CHECK(read_log_epochs(sim).history.terms() == std::vector<TermStart>{{1, 1}, {2, 42}});
    }
}
