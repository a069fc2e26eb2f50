#include "tools/client/journal_check.hpp"

#include "book/command.hpp"
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

LineEffect JournalCheck::add_line(std::size_t line_number, std::string_view line) {
    if (line.empty()) {
        return LineEffect::New;
    }
    std::string error;
    const std::optional<JournalRecord> record = parse_journal_line(line, error);
    if (!record) {
        fail(line_number, "not a journal record: " + error);
        return LineEffect::Failed;
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
                return LineEffect::Failed;
            }
            const auto order_key = std::make_pair(order.instrument, order.order_id);
            if (const auto seen = by_order_id_.find(order_key); seen != by_order_id_.end()) {
                fail(line_number, describe(order) + ": order id already given to " +
                                      describe(orders_[seen->second]) + " on line " +
                                      std::to_string(orders_[seen->second].line) +
                                      " (an acknowledged order was lost and its id reused)");
                return LineEffect::Failed;
            }
            by_client_id_.emplace(client_key, orders_.size());
            by_order_id_.emplace(order_key, orders_.size());
            orders_.push_back(std::move(order));
            return LineEffect::New;
        }
        case JournalKind::Fill:
            return add_fill(line_number, *record);
        case JournalKind::Cancelled:
            return add_cancel(line_number, *record);
        case JournalKind::ReplaceSent:
            replace_requests_.push_back(ReplaceRequest{record->account, record->request_id,
                                                       record->instrument, record->order_id,
                                                       record->price, record->quantity});
            return LineEffect::New;
        case JournalKind::Replaced:
            answered_replaces_.emplace(record->account, record->request_id);
            replaces_.push_back(CompactReplace{line_number, record->instrument, record->order_id,
                                               record->price, record->leaves});
            return LineEffect::New;
        case JournalKind::MassCancelled: {
            const auto key = std::make_pair(record->account, record->request_id);
            const auto [seen, inserted] = mass_cancels_.emplace(
                key, MassCancelSeen{line_number, record->instrument, record->quantity});
            if (!inserted) {
                // One MassCancelled per shard for a mass cancel of every instrument.
                seen->second.count += record->quantity;
            }
            return LineEffect::New;
        }
        case JournalKind::Rejected:
            if (record->request == "replace") {
                answered_replaces_.emplace(record->account, record->client_order_id);
            }
            return LineEffect::New;  // a rejected message changed nothing: nothing to check
    }
    return LineEffect::New;
}

LineEffect JournalCheck::add_fill(std::size_t line_number, const JournalRecord& record) {
    const auto key = std::make_tuple(record.instrument, record.trade_id, record.liquidity);
    const auto [seen, inserted] =
        trades_.emplace(key, FillSeen{line_number, record.order_id, record.account, record.side,
                                      record.price, record.quantity, record.leaves});
    const std::string what = "fill instrument=" + std::to_string(record.instrument) +
                             " trade_id=" + std::to_string(record.trade_id) + " " +
                             std::string(liquidity_text(record.liquidity)) +
                             " order_id=" + std::to_string(record.order_id);
    if (!inserted) {
        const FillSeen& first = seen->second;
        if (first.order_id != record.order_id) {
            fail(line_number, what + ": trade id already used on line " +
                                  std::to_string(first.line) +
                                  " for order_id=" + std::to_string(first.order_id) +
                                  " (an acknowledged trade was lost and its id reused)");
            return LineEffect::Failed;
        }
        if (first.account != record.account || first.side != record.side ||
            first.price != record.price || first.quantity != record.quantity ||
            first.leaves != record.leaves) {
            fail(line_number, what + ": the same trade for the same order already on line " +
                                  std::to_string(first.line) + " with other contents (price " +
                                  std::to_string(first.price) + ", qty " +
                                  std::to_string(first.quantity) + ", leaves " +
                                  std::to_string(first.leaves) + ")");
            return LineEffect::Failed;
        }
        ++duplicates_;  // another session of the account got the same maker fill
        return LineEffect::Duplicate;
    }
    fills_.push_back(CompactFill{line_number, record.instrument, record.order_id, record.side,
                                 record.quantity, record.leaves});
    return LineEffect::New;
}

LineEffect JournalCheck::add_cancel(std::size_t line_number, const JournalRecord& record) {
    const auto [seen, inserted] =
        cancels_.emplace(std::make_pair(record.instrument, record.order_id),
                         CancelSeen{line_number, record.quantity});
    if (!inserted) {
        if (seen->second.quantity != record.quantity) {
            fail(line_number, "cancelled instrument=" + std::to_string(record.instrument) +
                                  " order_id=" + std::to_string(record.order_id) +
                                  ": already cancelled on line " +
                                  std::to_string(seen->second.line) + " with qty " +
                                  std::to_string(seen->second.quantity) + ", now qty " +
                                  std::to_string(record.quantity));
            return LineEffect::Failed;
        }
        ++duplicates_;
        return LineEffect::Duplicate;
    }
    if (record.reason == "mass_cancel" && record.request_id != 0) {
        ++cancels_by_request_[{record.account, record.request_id}];
    }
    return LineEffect::New;
}

void JournalCheck::finish_journal() {
    for (const CompactFill& fill : fills_) {
        const auto order = by_order_id_.find({fill.instrument, fill.order_id});
        // A fill of an order accepted before the journal began cannot be checked further.
        if (order == by_order_id_.end()) {
            continue;
        }
        JournaledOrder& target = orders_[order->second];
        if (target.side != fill.side) {
            fail(fill.line, "fill order_id=" + std::to_string(fill.order_id) + " is a " +
                                std::string(side_name(fill.side)) + " but " + describe(target) +
                                " on line " + std::to_string(target.line) + " is a " +
                                std::string(side_name(target.side)));
            continue;
        }
        target.filled += fill.quantity;
        target.fully_filled = target.fully_filled || fill.leaves == 0;
    }
    for (const CompactReplace& replace : replaces_) {
        if (const auto order = by_order_id_.find({replace.instrument, replace.order_id});
            order != by_order_id_.end()) {
            JournaledOrder& target = orders_[order->second];
            target.replaced = true;
            target.replaced_price = replace.price;
            target.replaced_leaves = replace.leaves;
        }
    }
    for (const ReplaceRequest& request : replace_requests_) {
        const auto order = by_order_id_.find({request.instrument, request.order_id});
        if (order == by_order_id_.end() ||
            answered_replaces_.count({request.account, request.request_id}) != 0) {
            continue;
        }
        JournaledOrder& target = orders_[order->second];
        target.unanswered_prices.push_back(request.price);
        target.unanswered_leaves = std::max(target.unanswered_leaves, request.quantity);
    }
    for (const auto& [key, cancel] : cancels_) {
        if (const auto order = by_order_id_.find(key); order != by_order_id_.end()) {
            orders_[order->second].cancelled = true;
        }
    }
    check_mass_cancels();
    fills_.clear();
    fills_.shrink_to_fit();
    replaces_.clear();
    replaces_.shrink_to_fit();
    replace_requests_.clear();
    replace_requests_.shrink_to_fit();
    answered_replaces_.clear();
    cancels_.clear();
    cancels_by_request_.clear();
    mass_cancels_.clear();
}

// A session receives a shard's Cancelled lines for a mass cancel before that shard's MassCancelled,
// so a journaled MassCancelled for one instrument has exactly its count of cancels before it. For
// every instrument, each shard answers on its own: a kill between one shard's cancels and its
// MassCancelled leaves more cancels than the counts add up to, never fewer.
void JournalCheck::check_mass_cancels() {
    for (const auto& [key, mass] : mass_cancels_) {
        const auto found = cancels_by_request_.find(key);
        const Quantity cancels = found == cancels_by_request_.end() ? 0 : found->second;
        const bool all = mass.instrument == book::kAllInstruments;
        if (cancels == mass.count || (all && cancels > mass.count)) {
            ++passed_;
            continue;
        }
        fail(mass.line, "mass cancel account=" + key.first +
                            " request_id=" + std::to_string(key.second) + ": the daemon said " +
                            std::to_string(mass.count) +
                            " orders were cancelled, the journal has " + std::to_string(cancels) +
                            " cancels for it");
    }
}

void JournalCheck::fail_order(const JournaledOrder& order, const std::string& reason) {
    fail(order.line, describe(order) + ": " + reason);
}

void JournalCheck::check_status(const JournaledOrder& order, const net::OrderStatus& status) {
    const std::string state(net::to_string(status.state));
    std::string problem;
    if (order.never_replaced() && order.filled > order.quantity) {
        problem = "the journal has fills for " + std::to_string(order.filled) +
                  " of a quantity of " + std::to_string(order.quantity);
    } else if (status.state == net::OrderState::NotFound && order.may_be_forgotten) {
        ++forgotten_;
        return;
    } else if (status.state == net::OrderState::NotFound) {
        problem = "the daemon does not know it (state not_found): an acknowledged order was lost";
    } else if (status.order_id != order.order_id) {
        problem =
            "the daemon knows this client order id as order_id=" + std::to_string(status.order_id);
    } else if (status.state == net::OrderState::Resting) {
        const Quantity open = order.open_at_most();
        if (status.side != order.side) {
            problem = "resting as a " + std::string(side_name(status.side)) + ", accepted as a " +
                      std::string(side_name(order.side));
        } else if (!order.may_rest_at(status.price)) {
            problem = "resting at price " + std::to_string(status.price) + ", " +
                      (order.replaced ? "replaced to " : "accepted at ") +
                      std::to_string(order.resting_price()) + ": a replace was lost or changed";
        } else if (order.fully_filled ||
                   (order.never_replaced() && order.filled == order.quantity)) {
            problem = "resting, but the journal has it fully filled: a fill was lost";
        } else if (order.cancelled) {
            problem = "resting, but the journal has it cancelled: a cancel was lost";
        } else if (status.leaves > open) {
            problem = "resting with leaves=" + std::to_string(status.leaves) + ", more than " +
                      (order.replaced ? "its last replace left open ("
                                      : "quantity minus journaled fills (") +
                      std::to_string(open) + "): a fill or replace was lost";
        }
    }
    // Done: the daemon remembers that the order finished, not how; any journal is consistent with
    // that, since fills after the journal ended may have finished it.
    if (problem.empty()) {
        ++passed_;
    } else {
        fail_order(order, problem + " (daemon: " + state + ")");
    }
}

}  // namespace exchanged::tools
