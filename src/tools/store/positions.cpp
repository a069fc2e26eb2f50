#include "tools/store/positions.hpp"

#include <algorithm>
#include <optional>

namespace exchanged::tools {
namespace {

std::string position_text(const Position& p) {
    return "bought " + std::to_string(p.bought) + " sold " + std::to_string(p.sold) + " cash " +
           cash_text(p.cash);
}

}  // namespace

std::string cash_text(Cash cash) {
    if (cash == 0) {
        return "0";
    }
    const bool negative = cash < 0;
    // Digits from the magnitude's low end; one digit at a time keeps the minimum representable.
    std::string digits;
    for (Cash rest = cash; rest != 0; rest /= 10) {
        const auto digit = static_cast<int>(rest % 10);
        digits.push_back(static_cast<char>('0' + (digit < 0 ? -digit : digit)));
    }
    if (negative) {
        digits.push_back('-');
    }
    std::reverse(digits.begin(), digits.end());
    return digits;
}

void add_execution(Positions& positions, AccountId account, InstrumentId instrument, Side side,
                   Price price, Quantity quantity) {
    Position& p = positions[{account, instrument}];
    const Cash value = static_cast<Cash>(price) * quantity;
    if (side == Side::Buy) {
        p.bought += quantity;
        p.cash -= value;
    } else {
        p.sold += quantity;
        p.cash += value;
    }
}

Positions positions_of(const StoreRows& rows) {
    Positions positions;
    for (const store::StoredTrade& t : rows.trades) {
        add_execution(positions, t.taker_account, t.instrument, t.taker_side, t.price, t.quantity);
        add_execution(positions, t.maker_account, t.instrument, t.maker_side, t.price, t.quantity);
    }
    return positions;
}

JournalPositions journal_positions(const JournalContents& journal, const StoreRows& rows,
                                   const engine::ShardLayout& layout, const ProfileNames& names) {
    JournalPositions out;
    for (const JournalFill& fill : journal.fills) {
        const std::optional<AccountId> account = names.account_id(fill.account);
        if (!account) {
            ++out.unknown_accounts;
            continue;
        }
        ++out.fills;
        add_execution(out.journal, *account, fill.instrument, fill.side, fill.price, fill.quantity);
        const store::StoredTrade* trade =
            rows.find_trade(layout.shard_of(fill.instrument), fill.trade_id);
        if (trade == nullptr) {
            continue;  // the store side lacks it, which the comparison shows
        }
        if (fill.liquidity == net::Liquidity::Taker) {
            add_execution(out.store, trade->taker_account, trade->instrument, trade->taker_side,
                          trade->price, trade->quantity);
        } else {
            add_execution(out.store, trade->maker_account, trade->instrument, trade->maker_side,
                          trade->price, trade->quantity);
        }
    }
    return out;
}

void compare_positions(const Positions& a, const std::string& a_name, const Positions& b,
                       const std::string& b_name, const ProfileNames& names, CheckResult& out) {
    Positions keys = a;
    keys.insert(b.begin(), b.end());
    for (const auto& [key, ignored] : keys) {
        const auto in_a = a.find(key);
        const auto in_b = b.find(key);
        const Position pa = in_a == a.end() ? Position{} : in_a->second;
        const Position pb = in_b == b.end() ? Position{} : in_b->second;
        if (pa == pb) {
            out.pass();
            continue;
        }
        out.fail(names.account(key.first) + " " + names.instrument(key.second) + ": " + a_name +
                 " " + position_text(pa) + ", " + b_name + " " + position_text(pb));
    }
}

}  // namespace exchanged::tools
