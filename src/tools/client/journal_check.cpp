#include "tools/client/journal_check.hpp"

#include "tools/client/client_profile.hpp"

namespace exchanged::tools {
namespace {

std::string_view liquidity_text(net::Liquidity liquidity) {
    return liquidity == net::Liquidity::Taker ? "taker" : "maker";
}

}  // namespace

void JournalCheck::fail(std::size_t line, const std::string& reason) {
    failures_.push_back("FAIL line " + std::to_string(line) + ": " + reason);
}

std::string JournalCheck::describe(const JournaledOrder& order) const {
    return "order account=" + order.account + " instrument=" + std::to_string(order.instrument) +
           " client_order_id=" + std::to_string(order.client_order_id) +
           " order_id=" + std::to_string(order.order_id);
}

void JournalCheck::add_line(std::size_t line_number, std::string_view line) {
    if (line.empty()) {
        return;
    }
    std::string error;
    const std::optional<JournalRecord> record = parse_journal_line(line, error);
    if (!record) {
        fail(line_number, "not a journal record: " + error);
        return;
    }
    switch (record->kind) {
        case JournalKind::Accepted: {
            JournaledOrder order;
            order.line = line_number;
            order.account = record->account;
            order.instrument = record->instrument;
            order.client_order_id = record->client_order_id;
            order.order_id = record->order_id;
            order.side = record->side;
            order.price = record->price;
            order.quantity = record->quantity;
            const auto client_key =
                std::make_tuple(order.account, order.instrument, order.client_order_id);
            if (const auto seen = by_client_id_.find(client_key); seen != by_client_id_.end()) {
                fail(line_number, describe(order) + ": client order id already accepted on line " +
                                      std::to_string(orders_[seen->second].line) +
                                      " (the daemon must refuse duplicates)");
                return;
            }
            const auto order_key = std::make_pair(order.instrument, order.order_id);
            if (const auto seen = by_order_id_.find(order_key); seen != by_order_id_.end()) {
                fail(line_number, describe(order) + ": order id already given to " +
                                      describe(orders_[seen->second]) + " on line " +
                                      std::to_string(orders_[seen->second].line) +
                                      " (an acknowledged order was lost and its id reused)");
                return;
            }
            by_client_id_.emplace(client_key, orders_.size());
            by_order_id_.emplace(order_key, orders_.size());
            orders_.push_back(std::move(order));
            return;
        }
        case JournalKind::Fill: {
            const auto key =
                std::make_tuple(record->instrument, record->trade_id, record->liquidity);
            const auto [seen, inserted] =
                trades_.emplace(key, FillSeen{line_number, record->order_id});
            const std::string what = "fill instrument=" + std::to_string(record->instrument) +
                                     " trade_id=" + std::to_string(record->trade_id) + " " +
                                     std::string(liquidity_text(record->liquidity)) +
                                     " order_id=" + std::to_string(record->order_id);
            if (!inserted) {
                if (seen->second.order_id == record->order_id) {
                    fail(line_number, what +
                                          ": the same trade for the same order already on line " +
                                          std::to_string(seen->second.line));
                } else {
                    fail(line_number, what + ": trade id already used on line " +
                                          std::to_string(seen->second.line) +
                                          " for order_id=" + std::to_string(seen->second.order_id) +
                                          " (an acknowledged trade was lost and its id reused)");
                }
                return;
            }
            fills_.push_back(CompactFill{line_number, record->instrument, record->order_id,
                                         record->side, record->quantity});
            return;
        }
        case JournalKind::Cancelled:
            cancels_.emplace_back(record->instrument, record->order_id);
            return;
        case JournalKind::Rejected:
            return;  // a rejected message changed nothing: nothing to check
    }
}

void JournalCheck::finish_journal() {
    for (const CompactFill& fill : fills_) {
        const auto order = by_order_id_.find({fill.instrument, fill.order_id});
        // A fill of an order accepted before the journal began cannot be checked further.
        if (order != by_order_id_.end()) {
            JournaledOrder& target = orders_[order->second];
            if (target.side != fill.side) {
                fail(fill.line, "fill order_id=" + std::to_string(fill.order_id) + " is a " +
                                    std::string(side_name(fill.side)) + " but " + describe(target) +
                                    " on line " + std::to_string(target.line) + " is a " +
                                    std::string(side_name(target.side)));
                continue;
            }
            target.filled += fill.quantity;
        }
        ++passed_;
    }
    for (const auto& [instrument, order_id] : cancels_) {
        if (const auto order = by_order_id_.find({instrument, order_id});
            order != by_order_id_.end()) {
            orders_[order->second].cancelled = true;
        }
    }
    fills_.clear();
    fills_.shrink_to_fit();
    cancels_.clear();
    cancels_.shrink_to_fit();
}

void JournalCheck::fail_order(const JournaledOrder& order, const std::string& reason) {
    fail(order.line, describe(order) + ": " + reason);
}

void JournalCheck::check_status(const JournaledOrder& order, const net::OrderStatus& status) {
    const std::string state(net::to_string(status.state));
    std::string problem;
    if (order.filled > order.quantity) {
        problem = "the journal has fills for " + std::to_string(order.filled) +
                  " of a quantity of " + std::to_string(order.quantity);
    } else if (status.state == net::OrderState::NotFound) {
        problem = "the daemon does not know it (state not_found): an acknowledged order was lost";
    } else if (status.order_id != order.order_id) {
        problem =
            "the daemon knows this client order id as order_id=" + std::to_string(status.order_id);
    } else if (status.state == net::OrderState::Resting) {
        const Quantity open = order.quantity - order.filled;
        if (status.side != order.side) {
            problem = "resting as a " + std::string(side_name(status.side)) + ", accepted as a " +
                      std::string(side_name(order.side));
        } else if (status.price != order.price) {
            problem = "resting at price " + std::to_string(status.price) + ", accepted at " +
                      std::to_string(order.price);
        } else if (order.filled == order.quantity) {
            problem = "resting, but the journal has it fully filled";
        } else if (order.cancelled) {
            problem = "resting, but the journal has it cancelled";
        } else if (status.leaves > open) {
            problem = "resting with leaves=" + std::to_string(status.leaves) +
                      ", more than quantity minus journaled fills (" + std::to_string(open) + ")";
        }
    } else if (status.state == net::OrderState::Filled && order.cancelled) {
        problem = "the daemon says filled, the journal has it cancelled";
    } else if (status.state == net::OrderState::Cancelled && order.filled == order.quantity) {
        problem = "the daemon says cancelled, the journal has it fully filled";
    }
    if (problem.empty()) {
        ++passed_;
    } else {
        fail_order(order, problem + " (daemon: " + state + ")");
    }
}

}  // namespace exchanged::tools
