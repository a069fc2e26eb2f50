// Where two logs depart, from their epoch histories: the highest LSN up to which both hold the
// same records. Each (epoch, LSN) pair is written by one leader only, and a follower only ever
// extends a prefix it shares with its leader, so two logs whose records at LSN n were written in
// the same epoch agree on every LSN up to n (the log matching rule); the common prefix ends at the
// highest LSN whose epoch is the same in both.
//
// Records before a log's first term start record (a log written before terms were logged) count
// as epoch 0 on both sides.
#pragma once

#include <vector>

#include "repl/frame_format.hpp"
#include "wal/wal_types.hpp"

namespace exchanged::repl {

struct Divergence {
    wal::Lsn common_lsn = 0;  // both logs hold the same records 1..common_lsn
    // False when `b_cut` (b's history is only its newest terms) and the departure lies before the
    // oldest of them: common_lsn is then a lower bound, not the answer.
    bool known = true;
};

// `a_terms`, `b_terms`: each log's terms, ascending; `a_last`, `b_last`: each log's last LSN.
Divergence find_divergence(const std::vector<TermStart>& a_terms, wal::Lsn a_last,
                           const std::vector<TermStart>& b_terms, wal::Lsn b_last, bool b_cut);

}  // namespace exchanged::repl
