#include "tools/workloads/lobster_check.hpp"

#include <cinttypes>
#include <map>
#include <sstream>
#include <utility>

#include "book/matcher.hpp"

namespace exchanged::tools::lobster {
namespace {

class Checker {
  public:
    Checker(const std::vector<Message>& messages, const std::vector<TopOfBook>* tops,
            const Conversion& c)
        : messages_(messages), tops_(tops), c_(c), matcher_(c.instruments, c.limits) {
        events_.reserve(256);
        out_.tops_checked = tops != nullptr;
    }

    ReplayCheck run() {
        for (std::size_t i = 0; i < messages_.size(); ++i) {
            for (; out_.commands_applied < c_.commands.size() &&
                   c_.message_of_command[out_.commands_applied] == i;
                 ++out_.commands_applied) {
                apply(out_.commands_applied, messages_[i]);
            }
            if (tops_ != nullptr) {
                check_top(messages_[i], (*tops_)[i]);
            }
        }
        out_.trades = matcher_.next_trade_id() - 1;
        return std::move(out_);
    }

  private:
    void problem(std::uint64_t& counter, const std::string& what) {
        ++counter;
        if (out_.problems.size() < ReplayCheck::kProblemsKept) {
            out_.problems.push_back(what);
        }
    }

    void apply(std::size_t index, const Message& m) {
        events_.clear();
        matcher_.apply(c_.commands[index], events_);
        out_.max_resting = std::max(out_.max_resting, matcher_.resting_orders());
        trades_.clear();
        for (const book::Event& e : events_) {
            if (e.type == book::EventType::Trade) {
                trades_.push_back(e);
            } else if (e.type == book::EventType::Rejected) {
                problem(out_.rejected, "line " + std::to_string(m.line) +
                                           ": the book rejected the command (reason " +
                                           std::to_string(static_cast<int>(e.reject_reason)) + ")");
            }
        }
        const std::size_t first = next_execution_;
        while (next_execution_ < c_.executions.size() &&
               c_.executions[next_execution_].command == index) {
            ++next_execution_;
        }
        if (first == next_execution_) {
            if (!trades_.empty()) {
                // Type-1 orders never crossed the real book, so they cannot cross its subset.
                problem(out_.unexpected_trades, "line " + std::to_string(m.line) + ": a type " +
                                                    std::to_string(static_cast<int>(m.type)) +
                                                    " message traded");
            }
            return;
        }
        check_sweep(first, m);
    }

    // Each expected maker traded exactly once, for its quantity at its price, and nothing else
    // traded. A run's executions may name one order twice: compare totals.
    void check_sweep(std::size_t first, const Message& m) {
        std::map<OrderId, std::pair<Quantity, Price>> want;
        bool ok = true;
        for (std::size_t k = first; k < next_execution_; ++k) {
            const ExpectedExecution& x = c_.executions[k];
            want[x.maker_order_id].first += x.quantity;
            want[x.maker_order_id].second = x.price;
            ++out_.executions_checked;
            ok = ok && x.price == messages_[x.message].price;
        }
        ok = ok && trades_.size() == want.size();
        for (const book::Event& t : trades_) {
            const auto it = want.find(t.maker_order_id);
            ok = ok && it != want.end() && it->second.first == t.quantity &&
                 it->second.second == t.price;
        }
        out_.fills_expected += want.size();
        if (ok) {
            return;
        }
        out_.mismatched_executions += next_execution_ - first;
        std::ostringstream what;
        what << "line " << m.line << ": expected";
        for (std::size_t k = first; k < next_execution_; ++k) {
            const ExpectedExecution& x = c_.executions[k];
            what << " maker " << x.maker_order_id << " qty " << x.quantity << " at " << x.price
                 << " (line " << messages_[x.message].line << ", price "
                 << messages_[x.message].price << ");";
        }
        what << " got " << trades_.size() << " trades";
        for (const book::Event& t : trades_) {
            what << "; maker " << t.maker_order_id << " qty " << t.quantity << " at " << t.price;
        }
        problem(out_.execution_mismatches, what.str());
    }

    // A subset of the real book: never a better price, and at the real best never more size.
    void check_top(const Message& m, const TopOfBook& real) {
        const InstrumentId instrument = c_.instruments.front().id;
        const auto bids = matcher_.levels(instrument, Side::Buy, 1);
        const auto asks = matcher_.levels(instrument, Side::Sell, 1);
        const bool bid_ok =
            bids.empty() ||
            (real.bid && (bids[0].price < *real.bid ||
                          (bids[0].price == *real.bid && bids[0].total <= real.bid_size)));
        const bool ask_ok =
            asks.empty() ||
            (real.ask && (asks[0].price > *real.ask ||
                          (asks[0].price == *real.ask && asks[0].total <= real.ask_size)));
        if (bid_ok && ask_ok) {
            return;
        }
        std::ostringstream what;
        what << "line " << m.line << ": our top " << (bids.empty() ? 0 : bids[0].total) << "@"
             << (bids.empty() ? 0 : bids[0].price) << " / " << (asks.empty() ? 0 : asks[0].total)
             << "@" << (asks.empty() ? 0 : asks[0].price) << " is better than LOBSTER's "
             << real.bid_size << "@" << real.bid.value_or(0) << " / " << real.ask_size << "@"
             << real.ask.value_or(0);
        problem(out_.top_violations, what.str());
    }

    const std::vector<Message>& messages_;
    const std::vector<TopOfBook>* tops_;
    const Conversion& c_;
    book::Matcher matcher_;
    std::vector<book::Event> events_;
    std::vector<book::Event> trades_;
    std::size_t next_execution_ = 0;
    ReplayCheck out_;
};

}  // namespace

ReplayCheck check_replay(const std::vector<Message>& messages, const std::vector<TopOfBook>* tops,
                         const Conversion& conversion) {
    if (tops != nullptr && tops->size() != messages.size()) {
        throw LobsterError("the orderbook file has " + std::to_string(tops->size()) + " rows for " +
                           std::to_string(messages.size()) +
                           " messages; they must match one to one");
    }
    return Checker(messages, tops, conversion).run();
}

void print_check(std::FILE* out, const std::string& title, const std::vector<Message>& messages,
                 const Conversion& c, const ReplayCheck& r) {
    const ConversionCounts& n = c.counts;
    const book::InstrumentSpec& spec = c.instruments.front();
    std::fprintf(out,
                 "%s: %zu messages (type 1: %" PRIu64 ", 2: %" PRIu64 ", 3: %" PRIu64
                 ", 4: %" PRIu64 ", 5: %" PRIu64 ", 7: %" PRIu64 ")\n",
                 title.c_str(), messages.size(), n.messages_by_type[1], n.messages_by_type[2],
                 n.messages_by_type[3], n.messages_by_type[4], n.messages_by_type[5],
                 n.messages_by_type[7]);
    std::fprintf(
        out, "  instrument %s from the data: tick %" PRId64 ", prices %" PRId64 "..%" PRId64 "\n",
        spec.symbol.c_str(), spec.tick_size, spec.min_price, spec.max_price);
    std::fprintf(out,
                 "  commands %zu: new %" PRIu64 ", replace %" PRIu64 ", cancel %" PRIu64
                 ", reconciliation cancel %" PRIu64 ", aggressor %" PRIu64 " (for %" PRIu64
                 " executions, %" PRIu64
                 " of them in multi-order sweeps); book up to %zu "
                 "resting orders\n",
                 c.commands.size(), n.new_orders, n.replaces, n.cancels, n.reconcile_cancels,
                 n.aggressors, n.executions, n.grouped_executions, r.max_resting);
    std::fprintf(out,
                 "  skipped unknown orders: partial cancel %" PRIu64 ", delete %" PRIu64
                 ", execution %" PRIu64 "; skipped hidden %" PRIu64 ", halt %" PRIu64 "\n",
                 n.unknown_partial_cancels, n.unknown_deletes, n.unknown_executions,
                 n.hidden_skipped, n.halts_skipped);
    std::fprintf(out,
                 "  executions checked %" PRIu64 ", mismatched %" PRIu64 " (in %" PRIu64
                 " sweeps); trades %" PRIu64 " (expected %" PRIu64 "); unexpected trades %" PRIu64
                 "; rejected commands %" PRIu64 "; top-of-book violations %s\n",
                 r.executions_checked, r.mismatched_executions, r.execution_mismatches, r.trades,
                 r.fills_expected, r.unexpected_trades, r.rejected,
                 r.tops_checked ? std::to_string(r.top_violations).c_str()
                                : "not checked (no orderbook file)");
    for (const std::string& problem : r.problems) {
        std::fprintf(out, "  %s\n", problem.c_str());
    }
    if (r.failed() > r.problems.size()) {
        std::fprintf(out, "  ... and %" PRIu64 " more\n", r.failed() - r.problems.size());
    }
    std::fprintf(out, "%" PRIu64 " passed, %" PRIu64 " failed\n", r.passed(), r.failed());
}

}  // namespace exchanged::tools::lobster
