#include <catch2/catch.hpp>

#include <vector>

#include "repl/log_epochs.hpp"
#include "small_log.hpp"
#include "wal/sim_storage.hpp"
#include "wal/wal_writer.hpp"

using namespace exchanged;
using namespace exchanged::repl;

namespace {

using test::append_commands;

wal::WalOptions small_options() {
    return test::small_log_options();
}

}  // namespace

TEST_CASE("a log's epoch history is rebuilt from its term start records", "[repl][epoch]") {
    wal::SimStorage sim(5);
    SECTION("an empty log") {
        const LogEpochs epochs = read_log_epochs(sim);
        CHECK(epochs.history.empty());
        CHECK(epochs.last_lsn == 0);
        CHECK(epochs.last_epoch == 0);
    }
    SECTION("three terms, each leader writing its term start first") {
        {
            wal::WalWriter writer(sim, small_options());
            EpochHistory history;
            CHECK(begin_term(writer, sim, history, 1, 1) == 1);
            append_commands(writer, 40);
            CHECK(begin_term(writer, sim, history, 1, 1) == 0);  // the same term: nothing written
            CHECK(begin_term(writer, sim, history, 2, 2) == 42);
            append_commands(writer, 300);  // across segments
            CHECK(begin_term(writer, sim, history, 5, 3) == 343);
            append_commands(writer, 7);
            CHECK(history.terms() == std::vector<TermStart>{{1, 1}, {2, 42}, {5, 343}});
            CHECK_THROWS_WITH(begin_term(writer, sim, history, 4, 1),
                              Catch::Contains("epoch 4 is below its log's newest term 5"));
        }
        const LogEpochs epochs = read_log_epochs(sim);
        CHECK(epochs.history.terms() == std::vector<TermStart>{{1, 1}, {2, 42}, {5, 343}});
        CHECK(epochs.last_lsn == 350);
        CHECK(epochs.last_epoch == 5);
        CHECK(epochs.history.epoch_of(41) == 1);
        CHECK(epochs.history.epoch_of(342) == 2);
    }
    SECTION("records logged before the first term are epoch 0") {
        {
            wal::WalWriter writer(sim, small_options());
            append_commands(writer, 10);
            EpochHistory history;
            CHECK(begin_term(writer, sim, history, 3, 1) == 11);
        }
        const LogEpochs epochs = read_log_epochs(sim);
        CHECK(epochs.history.terms() == std::vector<TermStart>{{3, 11}});
        CHECK(epochs.history.epoch_of(10) == 0);
    }
    SECTION("a term start that goes back is refused naming its LSN") {
        {
            wal::WalWriter writer(sim, small_options());
            engine::TermStartRecordBytes bytes{};
            engine::encode_term_start({1, 4}, bytes);
            REQUIRE(writer.try_append(engine::kTermStartRecordType, bytes).lsn == 1);
            engine::encode_term_start({1, 2}, bytes);
            REQUIRE(writer.try_append(engine::kTermStartRecordType, bytes).lsn == 2);
        }
        CHECK_THROWS_WITH(read_log_epochs(sim), Catch::Contains("term 2 at LSN 2 does not follow"));
    }
}

TEST_CASE("the epoch history forgets the terms a cut log no longer holds", "[repl][epoch]") {
    EpochHistory h;
    h.begin(1, 1);
    h.begin(2, 101);
    h.begin(3, 151);
    h.truncate_after(150);
    CHECK(h.terms() == std::vector<TermStart>{{1, 1}, {2, 101}});
    h.truncate_after(101);
    CHECK(h.last_epoch() == 2);
    h.truncate_after(100);
    CHECK(h.last_epoch() == 1);
    h.truncate_after(0);
    CHECK(h.empty());
}

// A leader's start takes its terms from the WAL writer's own opening scan instead of scanning the
// log a second time: both must give the same history, the epochs file's released terms included.
TEST_CASE("the WAL writer's opening scan gives the history a scan of the log gives",
          "[repl][epoch]") {
    wal::SimStorage sim(6);
    // The first terms' start records go with their segments; the epochs file keeps them.
    test::write_three_terms(sim, 300);
    const LogEpochs scanned = read_log_epochs(sim);
    LogEpochCollector collector;
    wal::WalOptions options = small_options();
    options.on_recovered = [&collector](const wal::RecordView& record) {
        collector.observe(record);
    };
    wal::WalWriter writer(sim, options);
    const wal::RecoveryReport& opened = writer.recovery();
    REQUIRE(opened.first_lsn > 42);
    const LogEpochs collected = collector.finish(sim, opened.first_lsn, opened.last_lsn);
    CHECK(collected.history.terms() == std::vector<TermStart>{{1, 1}, {2, 42}, {5, 343}});
    CHECK(collected.history.terms() == scanned.history.terms());
    CHECK(collected.last_lsn == 350);
    CHECK(collected.last_lsn == scanned.last_lsn);
    CHECK(collected.last_epoch == 5);
}
