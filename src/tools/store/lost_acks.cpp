#include "tools/store/lost_acks.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "book/command.hpp"
#include "tools/client/ack_journal.hpp"

namespace exchanged::tools {
namespace {

enum class Found : std::uint8_t { Present, Missing, Contradicts };

struct Finding {
    Found found = Found::Present;
    std::string why;  // Contradicts only
};

Finding contradicts(std::string why) {
    return {Found::Contradicts, std::move(why)};
}

bool same_account(const ProfileNames& names, const std::string& name, AccountId stored) {
    const std::optional<AccountId> id = names.account_id(name);
    return id && *id == stored;
}

Finding find_accepted(const JournalRecord& line, const store::StoredOrder* row,
                      const ProfileNames& names) {
    if (row == nullptr) {
        return {Found::Missing, {}};
    }
    // Not the price: a later replace moves the row's (store verify checks it against the last one).
    if (!same_account(names, line.account, row->account) || row->instrument != line.instrument ||
        row->client_order_id != line.client_order_id || row->side != line.side ||
        row->quantity != line.quantity) {
        return contradicts("the store's order " + std::to_string(row->order_id) +
                           " has other fields (client_order_id " +
                           std::to_string(row->client_order_id) + ", price " +
                           std::to_string(row->price) + ", quantity " +
                           std::to_string(row->quantity) + ")");
    }
    return {};
}

Finding find_fill(const JournalRecord& line, const store::StoredTrade* row,
                  const ProfileNames& names) {
    if (row == nullptr) {
        return {Found::Missing, {}};
    }
    const bool taker = line.liquidity == net::Liquidity::Taker;
    const OrderId order_id = taker ? row->taker_order_id : row->maker_order_id;
    const AccountId account = taker ? row->taker_account : row->maker_account;
    if (row->instrument != line.instrument || row->price != line.price ||
        row->quantity != line.quantity || order_id != line.order_id ||
        !same_account(names, line.account, account)) {
        return contradicts("the store's trade " + std::to_string(row->trade_id) +
                           " has other fields (price " + std::to_string(row->price) + ", qty " +
                           std::to_string(row->quantity) + ", order " + std::to_string(order_id) +
                           ")");
    }
    return {};
}

Finding find_cancelled(const store::StoredOrder* row) {
    if (row == nullptr || row->state == store::StoredOrderState::Open) {
        return {Found::Missing, {}};
    }
    if (row->state != store::StoredOrderState::Cancelled) {
        return contradicts("the store has the order " + std::string(state_name(row->state)));
    }
    return {};
}

class Classifier {
  public:
    Classifier(const StoreRows& rows, const engine::ShardLayout& layout, const ProfileNames& names,
               const LossRules& rules)
        : rows_(rows), layout_(layout), names_(names), rules_(rules) {}

    // Returns whether the line is kept.
    bool add(std::uint64_t number, std::string_view text, const JournalRecord& line) {
        if (line.kind == JournalKind::Rejected || line.kind == JournalKind::ReplaceSent) {
            return true;  // decided before the log, or a request: nothing of it can be lost
        }
        if (line.kind == JournalKind::MassCancelled) {
            return mass_cancel_kept(line);
        }
        if (line.kind == JournalKind::Accepted && line.at_us != 0) {
            result_.accepted_span.add(line.at_us);
            ++result_.accepted_timed;
        }
        const store::ShardId shard = layout_.shard_of(line.instrument);
        const Finding finding = find(number, shard, line);
        if (finding.found == Found::Contradicts) {
            fail(number, text, finding.why);
            return false;
        }
        std::optional<std::uint64_t>& first_missing = first_missing_[{line.account, shard}];
        // After a loss, a Replaced line that only its row vouches for is taken as lost: a lost
        // replace to the order's own price looks the same. Dropping it is safe, since its
        // replace_sent then counts as unanswered; one a later line vouches for, that line checks.
        if (finding.found == Found::Present && first_missing &&
            line.kind == JournalKind::Replaced) {
            count_lost(line.kind);
            return false;
        }
        if (finding.found == Found::Present) {
            if (first_missing) {
                fail(number, text,
                     "in the store, but line " + std::to_string(*first_missing) +
                         " before it (same account and shard) is not: a record was lost from "
                         "the middle, not the tail");
            }
            return true;
        }
        if (!first_missing) {
            first_missing = number;
        }
        if (const char* promise = broken_promise(line)) {
            fail(number, text, std::string("not in the store, but ") + promise);
        }
        count_lost(line.kind);
        // The window bounds new orders (the daemon refuses them past it); cancels, and the replaces
        // and fills they lead to, pass on purpose, since they only shrink what a crash can take.
        // So the loss in time is measured over the lost accepted orders.
        if (line.kind != JournalKind::Accepted) {
            return false;
        }
        if (line.ack_us != 0) {
            ack_span_.add(line.ack_us);
        } else {
            ++no_ack_;
        }
        if (line.at_us != 0) {
            at_span_.add(line.at_us);
        } else {
            ++no_at_;
        }
        return false;
    }

    void fail(std::uint64_t number, std::string_view text, const std::string& why) {
        result_.failures.push_back("FAIL line " + std::to_string(number) + ": " +
                                   std::string(text) + ": " + why);
    }

    LostAcks& result() { return result_; }

    // The daemon's stamps are the window's own clock; the receive times add the delivery's jitter.
    void settle_lost_span() {
        result_.lost_span_by_ack = no_ack_ == 0 && !ack_span_.empty();
        result_.lost_span = result_.lost_span_by_ack ? ack_span_ : at_span_;
        result_.lost_untimed = result_.lost_span_by_ack ? 0 : no_at_;
    }

    // A Replaced line has no row of its own, and its order's row keeps only the last replace. So
    // it is present when a later line of its account and shard is (a loss is a tail), and
    // otherwise when its order's row has finished or rests at its price with no more open. Reads
    // the journal backwards, once, before the lines are added.
    void decide_replaces(const std::vector<std::optional<JournalRecord>>& lines) {
        std::set<std::pair<std::string, store::ShardId>> later_present;
        for (std::size_t i = lines.size(); i-- > 0;) {
            const std::optional<JournalRecord>& line = lines[i];
            if (!line || line->kind == JournalKind::Rejected ||
                line->kind == JournalKind::ReplaceSent ||
                line->kind == JournalKind::MassCancelled) {
                continue;
            }
            const store::ShardId shard = layout_.shard_of(line->instrument);
            const auto key = std::make_pair(line->account, shard);
            bool present = false;
            if (line->kind == JournalKind::Replaced) {
                const store::StoredOrder* row = rows_.find_order(shard, line->order_id);
                present =
                    row != nullptr &&
                    (later_present.count(key) != 0 || row->state != store::StoredOrderState::Open ||
                     (row->price == line->price && row->leaves <= line->leaves));
                if (present) {
                    replaced_present_.insert(i + 1);
                }
            } else {
                present = find(i + 1, shard, *line).found == Found::Present;
            }
            // Only a line with a row of its own vouches for the lines before it.
            if (present && line->kind != JournalKind::Replaced) {
                later_present.insert(key);
            }
        }
    }

  private:
    Finding find(std::uint64_t number, store::ShardId shard, const JournalRecord& line) const {
        switch (line.kind) {
            case JournalKind::Accepted:
                return find_accepted(line, rows_.find_order(shard, line.order_id), names_);
            case JournalKind::Fill:
                return find_fill(line, rows_.find_trade(shard, line.trade_id), names_);
            case JournalKind::Cancelled:
                return find_cancelled(rows_.find_order(shard, line.order_id));
            case JournalKind::Replaced:
                return replaced_present_.count(number) != 0 ? Finding{}
                                                            : Finding{Found::Missing, {}};
            case JournalKind::MassCancelled:
            case JournalKind::Rejected:
            case JournalKind::ReplaceSent:
                break;
        }
        return {};
    }

    // A MassCancelled has no row of its own. It follows its cancels in its shard's order, so it
    // is kept when nothing before it on its shard (every shard, for all instruments) was lost:
    // the kept journal's mass cancel counts then still match its kept cancels.
    bool mass_cancel_kept(const JournalRecord& line) const {
        for (const auto& [key, first_missing] : first_missing_) {
            const bool its_shard = line.instrument == book::kAllInstruments ||
                                   key.second == layout_.shard_of(line.instrument);
            if (key.first == line.account && its_shard && first_missing) {
                return false;
            }
        }
        return true;
    }

    const char* broken_promise(const JournalRecord& line) const {
        if (line.kind == JournalKind::Accepted && rules_.critical_orders_durable &&
            line.quantity > rules_.critical_order_threshold) {
            return "a critical order is acknowledged only after the store committed it";
        }
        if (line.kind == JournalKind::Fill && rules_.trades_durable) {
            return "with sync_all_trades a fill is acknowledged only after the store committed it";
        }
        return nullptr;
    }

    void count_lost(JournalKind kind) {
        switch (kind) {
            case JournalKind::Accepted:
                ++result_.lost_accepted;
                break;
            case JournalKind::Fill:
                ++result_.lost_fills;
                break;
            case JournalKind::Cancelled:
                ++result_.lost_cancelled;
                break;
            case JournalKind::Replaced:
                ++result_.lost_replaced;
                break;
            case JournalKind::MassCancelled:
            case JournalKind::Rejected:
            case JournalKind::ReplaceSent:
                break;
        }
    }

    const StoreRows& rows_;
    const engine::ShardLayout& layout_;
    const ProfileNames& names_;
    const LossRules& rules_;
    std::map<std::pair<std::string, store::ShardId>, std::optional<std::uint64_t>> first_missing_;
    std::set<std::uint64_t> replaced_present_;  // line numbers
    LostAcks result_;
    TimeSpan ack_span_;
    TimeSpan at_span_;
    std::uint64_t no_ack_ = 0;
    std::uint64_t no_at_ = 0;
};

}  // namespace

void TimeSpan::add(std::int64_t at_us) {
    if (empty() || at_us < first_us) {
        first_us = at_us;
    }
    last_us = std::max(last_us, at_us);
}

LostAcks find_lost_acks(std::istream& journal, const StoreRows& rows,
                        const engine::ShardLayout& layout, const ProfileNames& names,
                        const LossRules& rules, std::ostream& kept) {
    Classifier classifier(rows, layout, names, rules);
    // Held whole: a Replaced line's verdict depends on the lines after it.
    std::vector<std::string> texts;
    std::vector<std::optional<JournalRecord>> lines;
    std::vector<std::string> errors;
    for (std::string text; std::getline(journal, text);) {
        std::string error;
        lines.push_back(parse_journal_line(text, error));
        texts.push_back(std::move(text));
        errors.push_back(std::move(error));
    }
    classifier.decide_replaces(lines);
    std::uint64_t number = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        number = i + 1;
        const std::string& text = texts[i];
        const std::optional<JournalRecord>& line = lines[i];
        if (!line) {
            classifier.fail(number, text, "not a journal line: " + errors[i]);
            continue;
        }
        if (classifier.add(number, text, *line)) {
            kept << text << '\n';
            ++classifier.result().kept;
        }
    }
    classifier.settle_lost_span();
    LostAcks result = std::move(classifier.result());
    result.lines = number;
    return result;
}

}  // namespace exchanged::tools
