#include "repl/log_divergence.hpp"

#include <algorithm>

namespace exchanged::repl {

namespace {

struct Span {
    Epoch epoch;
    wal::Lsn from;
    wal::Lsn to;
};

// The LSN ranges of each term in a log ending at `last`; with `cut`, nothing is known before the
// first term.
std::vector<Span> spans_of(const std::vector<TermStart>& terms, wal::Lsn last, bool cut) {
    std::vector<Span> spans;
    const wal::Lsn first_term = terms.empty() ? last + 1 : terms.front().first_lsn;
    if (!cut && first_term > 1 && last > 0) {
        spans.push_back({0, 1, std::min(first_term - 1, last)});
    }
    for (std::size_t i = 0; i < terms.size(); ++i) {
        const wal::Lsn to = i + 1 < terms.size() ? terms[i + 1].first_lsn - 1 : last;
        if (terms[i].first_lsn <= std::min(to, last)) {
            spans.push_back({terms[i].epoch, terms[i].first_lsn, std::min(to, last)});
        }
    }
    return spans;
}

}  // namespace

Divergence find_divergence(const std::vector<TermStart>& a_terms, wal::Lsn a_last,
                           const std::vector<TermStart>& b_terms, wal::Lsn b_last, bool b_cut) {
    const std::vector<Span> a = spans_of(a_terms, a_last, false);
    const std::vector<Span> b = spans_of(b_terms, b_last, b_cut);
    Divergence divergence;
    for (const Span& x : a) {
        for (const Span& y : b) {
            if (x.epoch == y.epoch && std::max(x.from, y.from) <= std::min(x.to, y.to)) {
                divergence.common_lsn = std::max(divergence.common_lsn, std::min(x.to, y.to));
            }
        }
    }
    if (b_cut && !b_terms.empty() && divergence.common_lsn < b_terms.front().first_lsn &&
        divergence.common_lsn < b_last) {
        divergence.known = false;
    }
    return divergence;
}

}  // namespace exchanged::repl
