#include "tools/store/store_journal_check.hpp"

#include <algorithm>
#include <tuple>

#include "tools/client/client_profile.hpp"
#include "tools/store/store_rows.hpp"

namespace exchanged::tools {
namespace {

// Collects what differs between the journal and a row into one message.
class Differences {
  public:
    void add(std::string what) { text_ += (text_.empty() ? "" : "; ") + what; }
    template <typename T>
    void compare(const char* field, T journaled, T stored) {
        if (journaled != stored) {
            add(std::string(field) + " " + text(journaled) + " in the journal, " + text(stored) +
                " in the store");
        }
    }
    void compare_account(const ProfileNames& names, const std::string& name, AccountId stored) {
        const std::optional<AccountId> id = names.account_id(name);
        if (!id) {
            add("account '" + name + "' is not in the profile");
        } else if (*id != stored) {
            add("account " + names.account(*id) + " in the journal, " + names.account(stored) +
                " in the store");
        }
    }
    bool empty() const { return text_.empty(); }
    const std::string& str() const { return text_; }

  private:
    static std::string text(Side side) { return std::string(side_name(side)); }
    template <typename T>
    static std::string text(T value) {
        return std::to_string(value);
    }
    std::string text_;
};

class Verifier {
  public:
    Verifier(JournalContents& journal, const engine::ShardLayout& layout, const ProfileNames& names)
        : journal_(journal), layout_(layout), names_(names) {}

    void orders(store::Store& store) {
        const std::vector<JournaledOrder>& orders = journal_.check.orders();
        std::vector<std::pair<RowKey, std::size_t>> keyed;
        keyed.reserve(orders.size());
        for (std::size_t i = 0; i < orders.size(); ++i) {
            keyed.emplace_back(RowKey{layout_.shard_of(orders[i].instrument), orders[i].order_id},
                               i);
        }
        std::sort(keyed.begin(), keyed.end());
        std::size_t next = 0;
        store.read_orders([&](const store::StoredOrder& row) {
            ++result_.store_orders;
            const RowKey key = row_key(row);
            for (; next < keyed.size() && keyed[next].first <= key; ++next) {
                check_order(orders[keyed[next].second], keyed[next].first == key ? &row : nullptr);
            }
        });
        for (; next < keyed.size(); ++next) {
            check_order(orders[keyed[next].second], nullptr);
        }
    }

    void fills(store::Store& store) {
        const std::vector<JournalFill>& fills = journal_.fills;
        // (shard, trade id, liquidity, line): one check per side of a trade, the first line first.
        std::vector<std::tuple<store::ShardId, TradeId, net::Liquidity, std::size_t>> keyed;
        keyed.reserve(fills.size());
        for (std::size_t i = 0; i < fills.size(); ++i) {
            keyed.emplace_back(layout_.shard_of(fills[i].instrument), fills[i].trade_id,
                               fills[i].liquidity, i);
        }
        std::sort(keyed.begin(), keyed.end());
        std::vector<std::pair<RowKey, std::size_t>> distinct;
        for (std::size_t k = 0; k < keyed.size(); ++k) {
            const auto& [shard, trade_id, liquidity, index] = keyed[k];
            const bool repeated = k > 0 && std::get<0>(keyed[k - 1]) == shard &&
                                  std::get<1>(keyed[k - 1]) == trade_id &&
                                  std::get<2>(keyed[k - 1]) == liquidity;
            if (!repeated) {
                distinct.emplace_back(RowKey{shard, trade_id}, index);
                continue;
            }
            const JournalFill& first = fills[distinct.back().second];
            // On the same instrument JournalCheck already reported the repeat. Across instruments
            // it cannot see it: trade ids are per shard, not per instrument.
            if (fills[index].instrument != first.instrument) {
                fail_fill(fills[index],
                          "trade id already journaled on line " + std::to_string(first.line) +
                              " for instrument " + std::to_string(first.instrument) +
                              " of the same shard (an acknowledged trade was lost and its id "
                              "reused)");
            }
        }
        std::size_t next = 0;
        store.read_trades([&](const store::StoredTrade& row) {
            ++result_.store_trades;
            const RowKey key = row_key(row);
            for (; next < distinct.size() && distinct[next].first <= key; ++next) {
                check_fill(fills[distinct[next].second],
                           distinct[next].first == key ? &row : nullptr);
            }
        });
        for (; next < distinct.size(); ++next) {
            check_fill(fills[distinct[next].second], nullptr);
        }
    }

    StoreVerifyResult finish() {
        std::vector<std::string> failures = journal_.check.failures();
        failures.insert(failures.end(), fill_failures_.begin(), fill_failures_.end());
        result_.failures = std::move(failures);
        result_.passed += journal_.check.passed();  // the journal's own checks (mass cancels)
        return std::move(result_);
    }

  private:
    void check_order(const JournaledOrder& order, const store::StoredOrder* row) {
        if (row == nullptr) {
            journal_.check.fail_order(order,
                                      "not in the store (shard " +
                                          std::to_string(layout_.shard_of(order.instrument)) +
                                          "): an acknowledged order was lost");
            return;
        }
        Differences d;
        d.compare_account(names_, order.account, row->account);
        d.compare("instrument", order.instrument, row->instrument);
        d.compare("client_order_id", order.client_order_id, row->client_order_id);
        d.compare("side", order.side, row->side);
        // A replace moves the row's price (its quantity stays the one accepted), and one sent
        // without an answer may have.
        if (!order.may_rest_at(row->price)) {
            d.compare(order.replaced ? "price (replaced)" : "price", order.resting_price(),
                      row->price);
        }
        d.compare("quantity", order.quantity, row->quantity);
        const std::string state(state_name(row->state));
        if (order.never_replaced() && order.filled > order.quantity) {
            d.add("the journal has fills for " + std::to_string(order.filled) +
                  " of a quantity of " + std::to_string(order.quantity));
        } else if (row->leaves > order.open_at_most()) {
            d.add("leaves " + std::to_string(row->leaves) + " in the store, more than " +
                  (order.replaced ? "its last replace left open ("
                                  : "quantity minus journaled fills (") +
                  std::to_string(order.open_at_most()) + "): a fill or replace was lost");
        }
        if (row->executed < order.filled) {
            d.add("executed " + std::to_string(row->executed) +
                  " in the store, less than the journaled fills (" + std::to_string(order.filled) +
                  "): a fill was lost");
        }
        if (order.cancelled && row->state != store::StoredOrderState::Cancelled) {
            d.add("cancelled in the journal, " + state + " in the store");
        }
        const bool fully_filled =
            order.fully_filled || (order.never_replaced() && order.filled == order.quantity);
        if (fully_filled && row->state != store::StoredOrderState::Filled) {
            d.add("fully filled in the journal, " + state + " in the store");
        }
        if (d.empty()) {
            ++result_.passed;
        } else {
            journal_.check.fail_order(order, d.str());
        }
    }

    void check_fill(const JournalFill& fill, const store::StoredTrade* row) {
        if (row == nullptr) {
            fail_fill(fill, "not in the store (shard " +
                                std::to_string(layout_.shard_of(fill.instrument)) +
                                "): an acknowledged trade was lost");
            return;
        }
        const bool taker = fill.liquidity == net::Liquidity::Taker;
        Differences d;
        d.compare("instrument", fill.instrument, row->instrument);
        d.compare("price", fill.price, row->price);
        d.compare("qty", fill.quantity, row->quantity);
        d.compare(taker ? "taker order_id" : "maker order_id", fill.order_id,
                  taker ? row->taker_order_id : row->maker_order_id);
        d.compare(taker ? "taker side" : "maker side", fill.side,
                  taker ? row->taker_side : row->maker_side);
        d.compare_account(names_, fill.account, taker ? row->taker_account : row->maker_account);
        if (d.empty()) {
            ++result_.passed;
        } else {
            fail_fill(fill, d.str());
        }
    }

    void fail_fill(const JournalFill& fill, const std::string& why) {
        fill_failures_.push_back("FAIL line " + std::to_string(fill.line) + ": fill account=" +
                                 fill.account + " instrument=" + std::to_string(fill.instrument) +
                                 " trade_id=" + std::to_string(fill.trade_id) + " " +
                                 std::string(net::to_string(fill.liquidity)) +
                                 " order_id=" + std::to_string(fill.order_id) + ": " + why);
    }

    JournalContents& journal_;
    const engine::ShardLayout& layout_;
    const ProfileNames& names_;
    StoreVerifyResult result_;
    std::vector<std::string> fill_failures_;
};

}  // namespace

StoreVerifyResult verify_store_against_journal(JournalContents& journal, store::Store& store,
                                               const engine::ShardLayout& layout,
                                               const ProfileNames& names) {
    Verifier verifier(journal, layout, names);
    verifier.orders(store);
    verifier.fills(store);
    return verifier.finish();
}

}  // namespace exchanged::tools
