#include "repl/log_epochs.hpp"

#include <stdexcept>
#include <string>
#include <thread>

#include "repl/epoch_file.hpp"
#include "wal/wal_reader.hpp"

namespace exchanged::repl {

std::optional<TermStart> term_start_of(wal::Lsn lsn, std::uint16_t type,
                                       std::span<const std::byte> payload) {
    if (type != engine::kTermStartRecordType) {
        return std::nullopt;
    }
    const engine::TermStartRecord term = engine::decode_term_start(lsn, payload);
    return TermStart{term.epoch, lsn};
}

void LogEpochCollector::observe(const wal::RecordView& record) {
    try {
        if (const auto term = term_start_of(record.lsn, record.type, record.payload)) {
            logged_.push_back(*term);
        }
    } catch (const std::exception& e) {
        throw std::runtime_error("reading the log's epoch history: " + std::string(e.what()));
    }
}

LogEpochs LogEpochCollector::finish(wal::Storage& storage, wal::Lsn first_lsn,
                                    wal::Lsn last_lsn) const {
    const std::optional<EpochHistory> saved = read_epoch_file(storage);
    // The file keeps the terms whose records were released with their segments; where the log
    // still holds records it is the authority, and a term above its end is not this log's.
    LogEpochs epochs;
    try {
        if (saved) {
            for (const TermStart& term : saved->terms()) {
                if (term.first_lsn < first_lsn) {
                    epochs.history.begin(term.epoch, term.first_lsn);
                }
            }
        }
        for (const TermStart& term : logged_) {
            epochs.history.begin(term.epoch, term.first_lsn);
        }
    } catch (const std::exception& e) {
        throw std::runtime_error(
            "reading the log's epoch history (the epochs file and the log "
            "disagree): " +
            std::string(e.what()));
    }
    epochs.last_lsn = last_lsn;
    epochs.last_epoch = epochs.history.epoch_of(last_lsn);
    return epochs;
}

LogEpochs read_log_epochs(wal::Storage& storage, bool map_files) {
    LogEpochCollector collector;
    wal::ScanOptions options;
    options.map_files = map_files;
    const wal::ScanResult scan =
        wal::scan_log(storage, options,
                      [&collector](const wal::RecordView& record) { collector.observe(record); });
    if (scan.end == wal::LogEnd::Corrupt) {
        throw std::runtime_error("reading the log's epoch history: " + scan.error);
    }
    return collector.finish(storage, scan.records != 0 ? scan.first_lsn : scan.next_lsn,
                            scan.last_lsn);
}

wal::Lsn begin_term(wal::WalWriter& writer, wal::Storage& dir, EpochHistory& history, Epoch epoch,
                    NodeId leader) {
    if (history.last_epoch() == epoch) {
        return 0;
    }
    if (history.last_epoch() > epoch) {
        throw std::runtime_error(
            "this leader's epoch " + std::to_string(epoch) + " is below its log's newest term " +
            std::to_string(history.last_epoch()) + ": a newer leader wrote this log");
    }
    engine::TermStartRecordBytes bytes{};
    engine::encode_term_start({leader, epoch}, bytes);
    wal::AppendResult appended;
    // Only a full queue is Busy, and nothing else appends yet: it drains within a group commit.
    while ((appended = writer.try_append(engine::kTermStartRecordType, bytes)).status ==
           wal::AppendStatus::Busy) {
        std::this_thread::yield();
    }
    if (appended.status != wal::AppendStatus::Ok) {
        throw std::runtime_error("appending the term start record of epoch " +
                                 std::to_string(epoch) + ": " + wal::to_string(appended.status));
    }
    if (!writer.wait_durable(appended.lsn)) {
        throw std::runtime_error("the term start record of epoch " + std::to_string(epoch) +
                                 " (LSN " + std::to_string(appended.lsn) +
                                 ") did not become durable: " + writer.failure());
    }
    history.begin(epoch, appended.lsn);
    // After the record is durable: the file never names a term the log lacks.
    write_epoch_file(dir, history);
    return appended.lsn;
}

}  // namespace exchanged::repl
