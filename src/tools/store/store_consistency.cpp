#include "tools/store/store_consistency.hpp"

#include <map>
#include <optional>
#include <string>

#include "tools/client/client_profile.hpp"

namespace exchanged::tools {
namespace {

std::string order_text(const store::StoredOrder& o) {
    return "order " + std::to_string(o.order_id) + " of shard " + std::to_string(o.shard);
}

std::string trade_text(const store::StoredTrade& t) {
    return "trade " + std::to_string(t.trade_id) + " of shard " + std::to_string(t.shard);
}

CheckResult unique_trade_ids(const StoreRows& rows) {
    CheckResult check("store: trade ids unique");
    for (std::size_t i = 0; i < rows.trades.size(); ++i) {
        if (i > 0 && row_key(rows.trades[i]) == row_key(rows.trades[i - 1])) {
            check.fail(trade_text(rows.trades[i]) + " is in the store more than once");
        } else {
            check.pass();
        }
    }
    return check;
}

// What is wrong with one side of a trade, or nothing.
std::optional<std::string> side_problem(const StoreRows& rows, const store::StoredTrade& t,
                                        const char* role, OrderId order_id, AccountId account,
                                        Side side, const ProfileNames& names) {
    const store::StoredOrder* order = rows.find_order(t.shard, order_id);
    const std::string which = std::string(role) + " order " + std::to_string(order_id);
    if (order == nullptr) {
        return which + " is not in the store";
    }
    if (order->instrument != t.instrument) {
        return which + " is on " + names.instrument(order->instrument);
    }
    if (order->account != account) {
        return which + " belongs to " + names.account(order->account) + ", the trade says " +
               names.account(account);
    }
    if (order->side != side) {
        return which + " is a " + std::string(side_name(order->side)) + ", the trade says " +
               std::string(side_name(side));
    }
    return std::nullopt;
}

CheckResult trades_match_orders(const StoreRows& rows, const ProfileNames& names) {
    CheckResult check("store: trades match their orders");
    for (const store::StoredTrade& t : rows.trades) {
        std::optional<std::string> problem;
        if (t.quantity <= 0 || t.price <= 0) {
            problem =
                "price " + std::to_string(t.price) + " quantity " + std::to_string(t.quantity);
        } else if (t.maker_side == t.taker_side) {
            problem = "maker and taker are both " + std::string(side_name(t.taker_side));
        } else if (!(problem = side_problem(rows, t, "taker", t.taker_order_id, t.taker_account,
                                            t.taker_side, names))) {
            problem = side_problem(rows, t, "maker", t.maker_order_id, t.maker_account,
                                   t.maker_side, names);
        }
        if (problem) {
            check.fail(trade_text(t) + ": " + *problem);
        } else {
            check.pass();
        }
    }
    return check;
}

CheckResult executed_is_traded(const StoreRows& rows) {
    CheckResult check("store: executed = sum of trades");
    std::vector<Quantity> traded(rows.orders.size(), 0);
    const auto add = [&](store::ShardId shard, OrderId order_id, Quantity quantity) {
        if (const store::StoredOrder* order = rows.find_order(shard, order_id)) {
            traded[static_cast<std::size_t>(order - rows.orders.data())] += quantity;
        }
    };
    for (const store::StoredTrade& t : rows.trades) {
        add(t.shard, t.taker_order_id, t.quantity);
        add(t.shard, t.maker_order_id, t.quantity);
    }
    for (std::size_t i = 0; i < rows.orders.size(); ++i) {
        const store::StoredOrder& o = rows.orders[i];
        if (o.executed == traded[i]) {
            check.pass();
        } else {
            check.fail(order_text(o) + ": executed " + std::to_string(o.executed) +
                       ", its trades add up to " + std::to_string(traded[i]));
        }
    }
    return check;
}

CheckResult states_agree(const StoreRows& rows) {
    CheckResult check("store: leaves agree with order states");
    for (const store::StoredOrder& o : rows.orders) {
        const bool open = o.state == store::StoredOrderState::Open;
        std::string problem;
        if (open ? o.leaves <= 0 : o.leaves != 0) {
            problem = "leaves " + std::to_string(o.leaves);
        } else if (open != (o.finished_lsn == 0)) {
            problem = "finished_lsn " + std::to_string(o.finished_lsn);
        }
        if (problem.empty()) {
            check.pass();
        } else {
            check.fail(order_text(o) + " is " + std::string(state_name(o.state)) + " with " +
                       problem);
        }
    }
    return check;
}

CheckResult books_not_crossed(const StoreRows& rows, const ProfileNames& names) {
    CheckResult check("store: books not crossed");
    struct Best {
        const store::StoredOrder* bid = nullptr;
        const store::StoredOrder* ask = nullptr;
    };
    std::map<InstrumentId, Best> books;
    for (const store::StoredOrder& o : rows.orders) {
        if (o.state != store::StoredOrderState::Open) {
            continue;
        }
        Best& best = books[o.instrument];
        if (o.side == Side::Buy && (best.bid == nullptr || o.price > best.bid->price)) {
            best.bid = &o;
        } else if (o.side == Side::Sell && (best.ask == nullptr || o.price < best.ask->price)) {
            best.ask = &o;
        }
    }
    for (const auto& [instrument, best] : books) {
        if (best.bid != nullptr && best.ask != nullptr && best.bid->price >= best.ask->price) {
            check.fail(names.instrument(instrument) + ": best bid " +
                       std::to_string(best.bid->price) + " (" + order_text(*best.bid) +
                       ") at or above best ask " + std::to_string(best.ask->price) + " (" +
                       order_text(*best.ask) + ")");
        } else {
            check.pass();
        }
    }
    return check;
}

}  // namespace

std::vector<CheckResult> check_store_consistency(const StoreRows& rows, const ProfileNames& names) {
    std::vector<CheckResult> checks;
    checks.push_back(unique_trade_ids(rows));
    checks.push_back(trades_match_orders(rows, names));
    checks.push_back(executed_is_traded(rows));
    checks.push_back(states_agree(rows));
    checks.push_back(books_not_crossed(rows, names));
    return checks;
}

}  // namespace exchanged::tools
