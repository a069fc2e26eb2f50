// Cutting a log back: a replication follower whose log departs from its new leader's drops the
// records after the divergence point (docs/replication.md, "Divergence repair"). Nothing may have
// the log open for writing meanwhile; a WalWriter opened afterwards continues at keep_lsn + 1.
//
// Crash safety. The cut is made of steps that each leave a log the scanner reads as ending
// cleanly, never garbage in between:
//   1. the segments after the one holding keep_lsn + 1 are renamed away (wal-cut-<n>.tmp, which
//      no scan reads), the last first, each rename made durable by a directory fsync before the
//      next: a crash leaves the log ending at one of their boundaries, a prefix of the old log;
//   2. a copy of the holding segment up to the record keep_lsn + 1 (header included, zeros after)
//      is written as wal-truncating.tmp and fdatasynced;
//   3. the copy is renamed over the holding segment and the directory fsynced: one atomic
//      replace, so the segment is either the old one (the log ends at its old end) or the cut one
//      (the log ends at keep_lsn).
// A crash therefore leaves the log ending at keep_lsn, at its old end, or (when the cut spans
// segments) at a segment boundary between them: a prefix of the old log either way, which the
// follower's next Hello reports and the leader cuts again. The .tmp files are removed at the end
// or by the next cut.
#pragma once

#include <cstdint>
#include <functional>

#include "wal/storage.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::wal {

struct TruncateReport {
    Lsn old_last_lsn = 0;
    Lsn last_lsn = 0;                    // after the cut
    std::uint64_t segments_removed = 0;  // whole segments after the one cut
    bool cut = false;                    // false: the log already ended at or before keep_lsn
};

// Steps, for tests that crash between them.
enum class TruncateStep : std::uint8_t { SegmentRenamedAway, CopyWritten, CopyRenamed };

// Throws WalError naming the problem: a corrupt log, keep_lsn below the log's first record but
// one (the records before it are gone: re-sync by snapshot), a storage failure.
TruncateReport truncate_log_after(Storage& storage, Lsn keep_lsn,
                                  const std::function<void(TruncateStep)>& after_step = {});

}  // namespace exchanged::wal
