#include "tools/crash/power_loss_check.hpp"

#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "tools/store/positions.hpp"
#include "tools/store/store_consistency.hpp"

namespace exchanged::tools {
namespace {

// Enough lines to see the pattern; a broken recovery would otherwise print thousands.
constexpr std::size_t kShownProblems = 12;

class Problems {
  public:
    void add(std::string line) {
        if (lines_.size() < kShownProblems) {
            lines_.push_back(std::move(line));
        } else {
            ++more_;
        }
    }
    bool empty() const { return lines_.empty(); }
    std::vector<std::string> take() {
        if (more_ > 0) {
            lines_.push_back("... and " + std::to_string(more_) + " more");
        }
        return std::move(lines_);
    }

  private:
    std::vector<std::string> lines_;
    std::size_t more_ = 0;
};

std::string order_name(engine::ShardId shard, OrderId order_id) {
    return "order " + std::to_string(order_id) + " of shard " + std::to_string(shard);
}

std::string trade_name(engine::ShardId shard, TradeId trade_id) {
    return "trade " + std::to_string(trade_id) + " of shard " + std::to_string(shard);
}

using OrderKey = std::pair<engine::ShardId, OrderId>;

std::string order_fields(AccountId account, InstrumentId instrument, ClientOrderId client_order_id,
                         Side side, Price price, Quantity quantity, std::uint8_t flags,
                         wal::Lsn lsn) {
    return "account " + std::to_string(account) + ", instrument " + std::to_string(instrument) +
           ", client order id " + std::to_string(client_order_id) + ", " +
           (side == Side::Buy ? "buy " : "sell ") + std::to_string(quantity) + " @ " +
           std::to_string(price) + ", flags " + std::to_string(flags) + ", LSN " +
           std::to_string(lsn);
}

std::string order_fields(const store::StoredOrder& o) {
    return order_fields(o.account, o.instrument, o.client_order_id, o.side, o.price, o.quantity,
                        o.flags, o.accepted_lsn);
}

std::string order_fields(const store::StoreEvent& a) {
    return order_fields(a.event.account, a.event.instrument, a.event.client_order_id, a.event.side,
                        a.event.price, a.event.quantity, a.order_flags, a.lsn);
}

std::map<OrderKey, book::OrderView> resting_of(const std::vector<book::Matcher>& matchers) {
    std::map<OrderKey, book::OrderView> resting;
    for (engine::ShardId shard = 0; shard < matchers.size(); ++shard) {
        matchers[shard].for_each_resting([&](const book::OrderView& o) {
            resting.emplace(OrderKey{shard, o.order_id}, o);
        });
    }
    return resting;
}

bool same_view(const book::OrderView& a, const book::OrderView& b) {
    return std::tie(a.order_id, a.client_order_id, a.account, a.instrument, a.side, a.price,
                    a.leaves, a.flags) == std::tie(b.order_id, b.client_order_id, b.account,
                                                   b.instrument, b.side, b.price, b.leaves,
                                                   b.flags);
}

// Recovered matchers against the fresh replay of the same prefix, shard by shard.
void check_matchers(const engine::RecoveryResult& replay, const ReferenceReplay& reference,
                    Problems& out) {
    if (replay.matchers.size() != reference.matchers.size()) {
        out.add("recovery returned " + std::to_string(replay.matchers.size()) + " matchers for " +
                std::to_string(reference.matchers.size()) + " shards");
        return;
    }
    for (engine::ShardId shard = 0; shard < reference.matchers.size(); ++shard) {
        const book::Matcher& got = replay.matchers[shard];
        const book::Matcher& want = reference.matchers[shard];
        const std::string where = "shard " + std::to_string(shard) + ": ";
        if (got.state_hash() != want.state_hash()) {
            out.add(where + "recovered state hash " + std::to_string(got.state_hash()) +
                    ", a full replay of the logged prefix gives " +
                    std::to_string(want.state_hash()));
        }
        if (got.next_order_id() != want.next_order_id() ||
            got.next_trade_id() != want.next_trade_id()) {
            out.add(where + "recovered next order/trade id " + std::to_string(got.next_order_id()) +
                    "/" + std::to_string(got.next_trade_id()) + ", the replay's " +
                    std::to_string(want.next_order_id()) + "/" +
                    std::to_string(want.next_trade_id()));
        }
        const SequenceNumber next_seq =
            shard < replay.shards.size() ? replay.shards[shard].next_seq : 0;
        if (next_seq != reference.next_seq[shard]) {
            out.add(where + "recovered next seq " + std::to_string(next_seq) + ", the replay's " +
                    std::to_string(reference.next_seq[shard]));
        }
    }
    const auto got = resting_of(replay.matchers);
    const auto want = resting_of(reference.matchers);
    for (const auto& [key, view] : want) {
        const auto it = got.find(key);
        if (it == got.end()) {
            out.add(order_name(key.first, key.second) +
                    " rests after a full replay but not in the recovered book");
        } else if (!same_view(it->second, view)) {
            out.add(order_name(key.first, key.second) +
                    " rests differently in the recovered book than after a full replay");
        }
    }
    for (const auto& [key, view] : got) {
        if (!want.contains(key)) {
            out.add(order_name(key.first, key.second) +
                    " rests in the recovered book but not after a full replay");
        }
    }
}

void check_not_crossed(const engine::ShardLayout& layout, const ProfileNames& names,
                       const std::vector<book::Matcher>& matchers, Problems& out) {
    for (const book::InstrumentSpec& spec : layout.instruments) {
        const book::Matcher& matcher = matchers[layout.shard_of(spec.id)];
        const auto bid = matcher.best_bid(spec.id);
        const auto ask = matcher.best_ask(spec.id);
        if (bid && ask && *bid >= *ask) {
            out.add(names.instrument(spec.id) + ": the recovered book is crossed, best bid " +
                    std::to_string(*bid) + " at or above best ask " + std::to_string(*ask));
        }
    }
}

// The store's rows against the events of the full replay: every accepted order and every trade,
// field by field, nothing more; open orders exactly the replay's resting ones.
void check_rows_against_replay(const StoreRows& rows, const ReferenceReplay& reference,
                               Problems& out) {
    std::map<OrderKey, const store::StoreEvent*> accepted;
    std::map<OrderKey, Price> price;  // a replace moves it
    std::map<std::pair<engine::ShardId, TradeId>, const store::StoreEvent*> trades;
    for (const store::StoreEvent& e : reference.events) {
        if (e.event.type == book::EventType::Accepted) {
            accepted[{e.shard, e.event.order_id}] = &e;
            price[{e.shard, e.event.order_id}] = e.event.price;
        } else if (e.event.type == book::EventType::Replaced) {
            price[{e.shard, e.event.order_id}] = e.event.price;
        } else if (e.event.type == book::EventType::Trade) {
            trades[{e.shard, e.event.trade_id}] = &e;
        }
    }
    std::set<OrderKey> seen_orders;
    for (const store::StoredOrder& o : rows.orders) {
        const OrderKey key{o.shard, o.order_id};
        if (!seen_orders.insert(key).second) {
            out.add(order_name(o.shard, o.order_id) + " is in the store twice");
            continue;
        }
        const auto it = accepted.find(key);
        if (it == accepted.end()) {
            out.add("the store holds " + order_name(o.shard, o.order_id) +
                    ", which no logged command up to the recovered end accepted");
            continue;
        }
        const store::StoreEvent& a = *it->second;
        if (std::tie(o.account, o.instrument, o.client_order_id, o.side, o.price, o.quantity,
                     o.flags, o.accepted_lsn) !=
            std::tie(a.event.account, a.event.instrument, a.event.client_order_id, a.event.side,
                     price[key], a.event.quantity, a.order_flags, a.lsn)) {
            out.add(order_name(o.shard, o.order_id) + " in the store (" + order_fields(o) +
                    ") differs from the order its logged command accepted (" + order_fields(a) +
                    ", price now " + std::to_string(price[key]) + ")");
        }
    }
    for (const auto& [key, event] : accepted) {
        if (!seen_orders.contains(key)) {
            out.add(order_name(key.first, key.second) + " (accepted at LSN " +
                    std::to_string(event->lsn) + ") is missing from the store");
        }
    }
    std::set<std::pair<engine::ShardId, TradeId>> seen_trades;
    for (const store::StoredTrade& t : rows.trades) {
        const std::pair<engine::ShardId, TradeId> key{t.shard, t.trade_id};
        seen_trades.insert(key);
        const auto it = trades.find(key);
        if (it == trades.end()) {
            out.add("the store holds " + trade_name(t.shard, t.trade_id) +
                    ", which no logged command up to the recovered end made");
            continue;
        }
        const store::StoreEvent& e = *it->second;
        if (std::tie(t.instrument, t.price, t.quantity, t.taker_order_id, t.taker_account,
                     t.taker_side, t.maker_order_id, t.maker_account, t.lsn, t.seq,
                     t.timestamp_ns) !=
                std::tie(e.event.instrument, e.event.price, e.event.quantity, e.event.order_id,
                         e.event.account, e.event.side, e.event.maker_order_id,
                         e.event.maker_account, e.lsn, e.event.seq, e.event.timestamp_ns) ||
            t.maker_side != opposite(t.taker_side)) {
            out.add(trade_name(t.shard, t.trade_id) +
                    " in the store differs from the trade its logged command made");
        }
    }
    for (const auto& [key, event] : trades) {
        if (!seen_trades.contains(key)) {
            out.add(trade_name(key.first, key.second) + " (LSN " + std::to_string(event->lsn) +
                    ") is missing from the store");
        }
    }
    const auto resting = resting_of(reference.matchers);
    for (const store::StoredOrder& o : rows.orders) {
        const auto it = resting.find({o.shard, o.order_id});
        const bool open = o.state == store::StoredOrderState::Open;
        if (open != (it != resting.end())) {
            out.add(order_name(o.shard, o.order_id) + " is " + std::string(state_name(o.state)) +
                    " in the store but " + (open ? "does not rest" : "rests") +
                    " after a full replay");
        } else if (open && (o.leaves != it->second.leaves || o.price != it->second.price)) {
            out.add(order_name(o.shard, o.order_id) + " is open in the store with " +
                    std::to_string(o.leaves) + " @ " + std::to_string(o.price) + ", the book has " +
                    std::to_string(it->second.leaves) + " @ " + std::to_string(it->second.price));
        }
    }
}

void check_unique_client_ids(const StoreRows& rows, const ProfileNames& names, Problems& out) {
    std::map<std::pair<AccountId, ClientOrderId>, const store::StoredOrder*> seen;
    for (const store::StoredOrder& o : rows.orders) {
        const auto [it, fresh] = seen.emplace(std::pair{o.account, o.client_order_id}, &o);
        if (!fresh) {
            out.add(names.account(o.account) + "'s client order id " +
                    std::to_string(o.client_order_id) + " is in the store twice: " +
                    order_name(it->second->shard, it->second->order_id) + " and " +
                    order_name(o.shard, o.order_id) + " (a resend was taken as a new order)");
        }
    }
}

// The gate sent exactly what the profile owes: nothing before it was durable, nothing held back.
void check_gate(const Acks& released, const Acks& due, Problems& out) {
    for (const auto& [key, order] : due.orders) {
        const auto it = released.orders.find(key);
        if (it == released.orders.end()) {
            out.add("the release gate held back the acceptance of durable " +
                    order_name(key.first, key.second));
        } else if (it->second.key() != order.key()) {
            out.add("the release gate's acceptance of " + order_name(key.first, key.second) +
                    " differs from the order");
        }
    }
    for (const auto& [key, order] : released.orders) {
        if (!due.orders.contains(key)) {
            out.add("the release gate acknowledged " + order_name(key.first, key.second) +
                    ", which was not durable when the power went");
        }
    }
    for (const auto& [key, trade] : due.trades) {
        const auto it = released.trades.find(key);
        if (it == released.trades.end()) {
            out.add("the release gate held back the fills of durable " +
                    trade_name(key.first, key.second));
        } else if (it->second.key() != trade.key()) {
            out.add("the release gate's fills of " + trade_name(key.first, key.second) +
                    " differ from the trade");
        }
    }
    for (const auto& [key, trade] : released.trades) {
        if (!due.trades.contains(key)) {
            out.add("the release gate sent fills of " + trade_name(key.first, key.second) +
                    ", which was not durable when the power went");
        }
    }
    if (released.replies != due.replies) {
        out.add("the release gate sent " + std::to_string(released.replies) +
                " replies; the commands durable at the crash owe " + std::to_string(due.replies));
    }
}

// Every acknowledged order and trade is in the store after recovery, as it was acknowledged.
// `replaced`: orders a later replace gave another price than their acceptance said.
void check_acked_present(const Acks& acks, wal::Lsn recovered_lsn,
                         const std::set<OrderKey>& replaced, const StoreRows& rows, Problems& out) {
    for (const auto& [key, acked] : acks.orders) {
        // A flipped bit may take the last durable record (the documented limit): only what
        // recovery reached is owed then. Without a flip recovered_lsn >= durable_lsn anyway.
        if (acked.lsn > recovered_lsn) {
            continue;
        }
        const store::StoredOrder* o = rows.find_order(key.first, key.second);
        if (o == nullptr) {
            out.add("acknowledged " + order_name(key.first, key.second) + " (client order id " +
                    std::to_string(acked.client_order_id) + ") is missing after recovery");
        } else if (std::tie(o->account, o->instrument, o->client_order_id, o->side, o->quantity) !=
                       std::tie(acked.account, acked.instrument, acked.client_order_id, acked.side,
                                acked.quantity) ||
                   (o->price != acked.price && !replaced.contains(key))) {
            out.add("acknowledged " + order_name(key.first, key.second) +
                    " differs after recovery from what its acceptance said");
        }
    }
    for (const auto& [key, acked] : acks.trades) {
        if (acked.lsn > recovered_lsn) {
            continue;
        }
        const store::StoredTrade* t = rows.find_trade(key.first, key.second);
        if (t == nullptr) {
            out.add("acknowledged " + trade_name(key.first, key.second) +
                    " is missing after recovery");
        } else if (std::tie(t->instrument, t->price, t->quantity, t->taker_order_id,
                            t->taker_account, t->maker_order_id, t->maker_account) !=
                   std::tie(acked.instrument, acked.price, acked.quantity, acked.taker_order_id,
                            acked.taker_account, acked.maker_order_id, acked.maker_account)) {
            out.add("acknowledged " + trade_name(key.first, key.second) +
                    " differs after recovery from what its fills said");
        }
    }
}

// Trades move quantity and cash between accounts and create neither: per instrument bought
// equals sold and cash sums to zero, and each account's trades add up to its orders' executed
// quantities.
void check_conservation(const StoreRows& rows, const ProfileNames& names, Problems& out) {
    const Positions positions = positions_of(rows);
    std::map<InstrumentId, Position> totals;
    for (const auto& [key, p] : positions) {
        Position& total = totals[key.second];
        total.bought += p.bought;
        total.sold += p.sold;
        total.cash += p.cash;
    }
    for (const auto& [instrument, total] : totals) {
        if (total.bought != total.sold || total.cash != 0) {
            out.add(names.instrument(instrument) + ": trades bought " +
                    std::to_string(total.bought) + " and sold " + std::to_string(total.sold) +
                    ", cash sums to " + cash_text(total.cash));
        }
    }
    std::map<std::pair<AccountId, InstrumentId>, Position> executed;
    for (const store::StoredOrder& o : rows.orders) {
        Position& p = executed[{o.account, o.instrument}];
        (o.side == Side::Buy ? p.bought : p.sold) += o.executed;
    }
    for (const auto& [key, p] : executed) {
        const auto it = positions.find(key);
        const Position traded = it == positions.end() ? Position{} : it->second;
        if (traded.bought != p.bought || traded.sold != p.sold) {
            out.add(names.account(key.first) + " on " + names.instrument(key.second) +
                    ": orders executed " + std::to_string(p.bought) + " bought, " +
                    std::to_string(p.sold) + " sold; its trades say " +
                    std::to_string(traded.bought) + ", " + std::to_string(traded.sold));
        }
    }
}

}  // namespace

void remember_acks(const Acks& released, const Acks& due, Acks& acked) {
    for (const auto& [key, order] : released.orders) {
        AckedOrder& kept = acked.orders[key] = order;
        const auto it = due.orders.find(key);
        // One the gate should not have sent has no LSN here; check_gate reports it.
        kept.lsn = it != due.orders.end() ? it->second.lsn : 0;
    }
    for (const auto& [key, trade] : released.trades) {
        AckedTrade& kept = acked.trades[key] = trade;
        const auto it = due.trades.find(key);
        kept.lsn = it != due.trades.end() ? it->second.lsn : 0;
    }
    acked.replies += released.replies;
}

void forget_acks_after(wal::Lsn recovered_lsn, Acks& acked) {
    std::erase_if(acked.orders,
                  [&](const auto& entry) { return entry.second.lsn > recovered_lsn; });
    std::erase_if(acked.trades,
                  [&](const auto& entry) { return entry.second.lsn > recovered_lsn; });
}

ReferenceReplay replay_logged(const engine::ShardLayout& layout,
                              const std::vector<LoggedCommand>& logged, wal::Lsn up_to) {
    ReferenceReplay out;
    for (engine::ShardId shard = 0; shard < layout.shard_count; ++shard) {
        out.matchers.push_back(layout.make_matcher(shard));
        out.next_seq.push_back(1);
    }
    std::vector<book::Event> events;
    for (const LoggedCommand& entry : logged) {
        if (entry.lsn > up_to) {
            break;
        }
        events.clear();
        out.matchers[entry.shard].apply(entry.command, events);
        out.next_seq[entry.shard] = entry.command.seq + 1;
        for (const book::Event& e : events) {
            out.events.push_back(store::StoreEvent{entry.lsn, entry.shard, entry.command.flags, e});
        }
    }
    return out;
}

bool recovery_refused(const CrashFacts& crash, const RecoveredState& recovered) {
    const engine::RecoveryResult& replay = recovered.recovery.replay;
    if (replay.ok() || !crash.bit_flipped || replay.error.empty()) {
        return false;
    }
    // Corruption must name its place; a log that lost a record the store holds says so.
    return replay.status != engine::RecoveryStatus::Corrupt || !replay.log.corrupt_segment.empty();
}

std::vector<std::string> check_cycle(const CycleEvidence& evidence,
                                     const RecoveredState& recovered) {
    Problems out;
    const CrashFacts& crash = evidence.crash;
    const engine::RecoveryResult& replay = recovered.recovery.replay;
    if (!replay.ok()) {
        if (!recovery_refused(crash, recovered)) {
            out.add(std::string("recovery failed (") + engine::to_string(replay.status) +
                    "): " + replay.error + "; log: " + replay.log.describe());
        }
        return out.take();
    }
    const wal::Lsn last = replay.last_lsn;
    if (crash.bit_flipped ? last + 1 < crash.durable_lsn : last < crash.durable_lsn) {
        out.add("recovery ended at LSN " + std::to_string(last) + ", below the durable LSN " +
                std::to_string(crash.durable_lsn) + " of the crash: acknowledged records lost");
    }
    if (last > crash.appended_lsn) {
        out.add("recovery reached LSN " + std::to_string(last) + ", beyond LSN " +
                std::to_string(crash.appended_lsn) + ", the last one ever handed to the WAL");
    }
    if (recovered.rows.store_lsn != last) {
        out.add("after recovery the store is at LSN " + std::to_string(recovered.rows.store_lsn) +
                ", recovery replayed to LSN " + std::to_string(last));
    }
    const ReferenceReplay reference = replay_logged(evidence.layout, evidence.logged, last);
    check_matchers(replay, reference, out);
    if (replay.matchers.size() == evidence.layout.shard_count) {
        check_not_crossed(evidence.layout, evidence.names, replay.matchers, out);
    }
    for (const CheckResult& check : check_store_consistency(recovered.rows, evidence.names)) {
        if (!check.ok()) {
            for (const std::string& problem : check.shown_problems()) {
                out.add(check.name() + ": " + problem);
            }
        }
    }
    check_rows_against_replay(recovered.rows, reference, out);
    check_unique_client_ids(recovered.rows, evidence.names, out);
    check_gate(evidence.released, evidence.due, out);
    std::set<OrderKey> replaced;
    for (const store::StoreEvent& e : reference.events) {
        if (e.event.type == book::EventType::Replaced) {
            replaced.insert({e.shard, e.event.order_id});
        }
    }
    check_acked_present(evidence.acked, last, replaced, recovered.rows, out);
    check_conservation(recovered.rows, evidence.names, out);
    return out.take();
}

}  // namespace exchanged::tools
