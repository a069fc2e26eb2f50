// Appends acknowledgement journal lines (tools/ack_journal.hpp) from several load threads to one
// file. Each thread batches its lines and hands over a block at a time, so the lock is taken per
// block rather than per message and lines of one session stay in order.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

namespace exchanged::tools {

class JournalWriter {
  public:
    // Opens `path` for appending: a journal grows across runs, which is what lets verify see a
    // trade id reused after a restart. Throws std::runtime_error when it cannot.
    explicit JournalWriter(const std::string& path);
    ~JournalWriter();
    JournalWriter(const JournalWriter&) = delete;
    JournalWriter& operator=(const JournalWriter&) = delete;

    // Appends whole lines and empties `block`.
    void append(std::string& block);
    // Pushes everything appended so far to the file (fflush).
    void flush();

  private:
    std::mutex mutex_;
    std::FILE* file_ = nullptr;
    std::string path_;
};

}  // namespace exchanged::tools
