#include "tools/client/load_generator.hpp"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/random.hpp"
#include "tools/client/ack_journal.hpp"
#include "tools/client/client_connection.hpp"
#include "tools/client/journal_writer.hpp"

namespace exchanged::tools {
namespace {

// Prices are up to this many ticks from the band's middle: passive orders rest on their own side
// of it, aggressive ones reach across it into the other side's resting orders.
constexpr std::int64_t kSpreadTicks = 10;
constexpr std::int64_t kMaxLots = 100;
// A journal block is handed to the writer at this size or after a second, whichever comes first.
constexpr std::size_t kJournalBlockBytes = 256 * 1024;
// Replies handled per turn before sending again, so a flood of replies cannot starve sending.
constexpr int kRepliesPerTurn = 1024;
// The mix's own resting orders a connection remembers as targets; older ones are forgotten.
constexpr std::size_t kMaxTargets = 4096;
// At most this many other requests follow one new order, so the window still bounds what is sent.
constexpr int kMaxOthersPerOrder = 8;
// Cancel, Replace and MassCancel ids: a range of their own, apart from the client order ids.
constexpr std::uint64_t kRequestIdBit = 1ULL << 63;

struct Shared {
    std::atomic<bool> stop{false};
    std::atomic<std::uint32_t> finished{0};  // connections that have all their first replies
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> acknowledged{0};  // first replies of any kind
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> refused{0};
    Clock::time_point start;  // written once, before `started` is set
    std::atomic<bool> started{false};
};

// A seeded, deterministic order stream for one connection: half passive orders that rest near the
// middle of the band, half aggressive ones that trade with them. With two or more accounts and
// connections, each account only buys or only sells (by its index), so trades are between
// accounts: with random sides most crossings would be an account meeting itself, which
// self-trade prevention cancels instead of filling.
class OrderStream {
  public:
    OrderStream(const LoadPlan& plan, std::uint32_t connection)
        : plan_(plan), random_(plan.seed * 0x9e3779b97f4a7c15ULL + connection) {
        if (plan.accounts.size() >= 2 && plan.connections >= 2) {
            fixed_side_ = (connection % plan.accounts.size()) % 2 == 0 ? Side::Buy : Side::Sell;
        }
    }

    net::NewOrder next(ClientOrderId id) {
        const book::InstrumentSpec& spec =
            plan_.instruments[random_.below(plan_.instruments.size())];
        Price middle = (spec.min_price / 2 + spec.max_price / 2) / spec.tick_size * spec.tick_size;
        middle = std::max(middle, spec.min_price);
        net::NewOrder order;
        order.instrument = spec.id;
        order.client_order_id = id;
        order.side = fixed_side_ ? *fixed_side_ : (random_.below(2) == 0 ? Side::Buy : Side::Sell);
        const bool aggressive = random_.below(2) == 0;
        const std::int64_t ticks = random_.between(1, kSpreadTicks);
        // Passive buys below the middle, passive sells above; aggressive ones the other way.
        const std::int64_t direction = (order.side == Side::Buy) == aggressive ? 1 : -1;
        order.price =
            std::clamp(middle + direction * ticks * spec.tick_size, spec.min_price, spec.max_price);
        order.quantity = std::min(spec.lot_size * random_.between(1, kMaxLots),
                                  spec.max_order_quantity / spec.lot_size * spec.lot_size);
        return order;
    }

  private:
    const LoadPlan& plan_;
    SplitMix64 random_;
    std::optional<Side> fixed_side_;
};

// The connection's own resting orders, as targets for the mix's cancels and replaces.
class Targets {
  public:
    struct Order {
        InstrumentId instrument;
        OrderId order_id;
        Side side;
        Price price;
        Quantity leaves;
    };

    void add(const Order& order) {
        if (orders_.size() == kMaxTargets) {
            remove(orders_.front().instrument, orders_.front().order_id);
        }
        index_[key(order.instrument, order.order_id)] = orders_.size();
        orders_.push_back(order);
    }
    void remove(InstrumentId instrument, OrderId order_id) {
        const auto it = index_.find(key(instrument, order_id));
        if (it == index_.end()) {
            return;
        }
        const std::size_t at = it->second;
        index_.erase(it);
        if (at + 1 != orders_.size()) {
            orders_[at] = orders_.back();
            index_[key(orders_[at].instrument, orders_[at].order_id)] = at;
        }
        orders_.pop_back();
    }
    void remove_instrument(InstrumentId instrument) {
        for (std::size_t i = orders_.size(); i-- > 0;) {
            if (i < orders_.size() && orders_[i].instrument == instrument) {
                remove(instrument, orders_[i].order_id);
            }
        }
    }
    Order* find(InstrumentId instrument, OrderId order_id) {
        const auto it = index_.find(key(instrument, order_id));
        return it == index_.end() ? nullptr : &orders_[it->second];
    }
    bool empty() const { return orders_.empty(); }
    const Order& pick(SplitMix64& random) const { return orders_[random.below(orders_.size())]; }

  private:
    static std::uint64_t key(InstrumentId instrument, OrderId order_id) {
        return (static_cast<std::uint64_t>(instrument) << 44) ^ order_id;
    }
    std::vector<Order> orders_;
    std::unordered_map<std::uint64_t, std::size_t> index_;
};

struct WorkerResult {
    LoadTotals totals;
    Clock::time_point last_reply;
};

class Worker {
  public:
    Worker(const LoadPlan& plan, std::uint32_t index, Shared& shared, JournalWriter* journal)
        : plan_(plan),
          index_(index),
          shared_(shared),
          journal_(journal),
          account_(plan.accounts[index % plan.accounts.size()]),
          stream_(plan, index),
          mix_random_(plan.seed * 0xbf58476d1ce4e5b9ULL + index),
          orders_(plan.orders / plan.connections +
                  (index < plan.orders % plan.connections ? 1 : 0)),
          times_(plan.window),
          acked_(plan.window, false) {}

    // Logs in; false (with the reason recorded) when it could not.
    bool start() {
        try {
            connection_.emplace(plan_.target, plan_.reply_timeout);
            try {
                connection_->login(account_.name, account_.secret, plan_.reply_timeout);
            } catch (const ClientError& error) {
                // A replication follower names the leader: log in there instead, once.
                const std::string leader = refusal_leader(error);
                if (leader.empty() || leader == plan_.target) {
                    throw;
                }
                connection_.reset();
                connection_.emplace(leader, plan_.reply_timeout);
                connection_->login(account_.name, account_.secret, plan_.reply_timeout);
            }
            return true;
        } catch (const ClientError& error) {
            result_.totals.failed_to_start = true;
            result_.totals.errors.push_back(error.what());
            return false;
        }
    }

    void run() {
        try {
            send_and_receive();
            // Stay on the session until every connection is done, so the maker fills that other
            // connections' orders cause here still reach the journal; then log out cleanly.
            while (!shared_.stop.load() && shared_.finished.load() < plan_.connections) {
                handle_replies(Clock::now() + std::chrono::milliseconds(20));
            }
            if (!shared_.stop.load()) {
                connection_->logout(std::chrono::milliseconds(1000),
                                    [this](const net::Message& m) { handle(m); });
            }
        } catch (const ClientError& error) {
            result_.totals.connection_lost = error.connection_lost();
            result_.totals.timed_out = error.kind() == ClientErrorKind::Timeout;
            result_.totals.errors.push_back("connection " + std::to_string(index_) + " (" +
                                            account_.name + "): " + error.what());
            shared_.stop.store(true);
        } catch (const std::exception& error) {
            result_.totals.errors.push_back("connection " + std::to_string(index_) + ": " +
                                            error.what());
            shared_.stop.store(true);
        }
        try {
            if (journal_ != nullptr) {
                journal_->append(journal_block_);
            }
        } catch (const std::exception& error) {
            result_.totals.errors.push_back(error.what());
        }
    }

    WorkerResult& result() { return result_; }

  private:
    Clock::time_point scheduled(std::uint64_t k) const {
        // Connections interleave on one schedule, so the total rate is smooth, not bursty.
        const double at = static_cast<double>(k * plan_.connections + index_) / plan_.rate;
        return shared_.start +
               std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at));
    }

    void send_and_receive() {
        Clock::time_point last_progress = Clock::now();
        std::uint64_t last_acked = 0;
        while (oldest_ < orders_) {
            if (shared_.stop.load()) {
                return;
            }
            const Clock::time_point now = Clock::now();
            std::uint64_t queued = 0;
            while (next_ < orders_ && next_ - oldest_ < plan_.window &&
                   (plan_.rate <= 0 || scheduled(next_) <= now)) {
                const ClientOrderId id = plan_.id_base + index_ + next_ * plan_.connections;
                connection_->queue(stream_.next(id));
                times_[next_ % plan_.window] = plan_.rate > 0 ? scheduled(next_) : now;
                if (!plan_.mix.only_new_orders()) {
                    queue_others();
                }
                ++next_;
                ++queued;
            }
            if (queued > 0) {
                connection_->flush();
                result_.totals.sent += queued;
                shared_.sent.fetch_add(queued, std::memory_order_relaxed);
            }
            Clock::time_point deadline = now + std::chrono::milliseconds(50);
            if (next_ < orders_ && next_ - oldest_ < plan_.window) {
                deadline = plan_.rate > 0 ? std::min(deadline, scheduled(next_)) : now;
            }
            handle_replies(deadline);
            if (oldest_ != last_acked || oldest_ == next_) {
                last_acked = oldest_;
                last_progress = Clock::now();
            } else if (Clock::now() - last_progress > plan_.reply_timeout) {
                throw ClientError(ClientErrorKind::Timeout,
                                  "no reply for " + std::to_string(plan_.reply_timeout.count()) +
                                      " ms with " + std::to_string(next_ - oldest_) +
                                      " orders unacknowledged");
            }
        }
        shared_.finished.fetch_add(1);
    }

    // Draws from the mix until it says "new order": every other request it draws is sent now, so
    // over a run the requests come in the mix's proportions.
    void queue_others() {
        const LoadMix& mix = plan_.mix;
        const std::uint64_t total = mix.new_order + mix.cancel + mix.replace + mix.mass_cancel;
        for (int n = 0; n < kMaxOthersPerOrder; ++n) {
            std::uint64_t draw = mix_random_.below(total);
            if (draw < mix.new_order) {
                return;
            }
            draw -= mix.new_order;
            const std::uint64_t request_id =
                kRequestIdBit | (plan_.id_base + index_ + requests_ * plan_.connections);
            ++requests_;
            if (draw < mix.cancel) {
                if (targets_.empty()) {
                    continue;
                }
                const Targets::Order target = targets_.pick(mix_random_);
                connection_->queue(net::Cancel{target.instrument, request_id, target.order_id});
                targets_.remove(target.instrument, target.order_id);
                ++result_.totals.cancels_sent;
            } else if (draw < mix.cancel + mix.replace) {
                if (targets_.empty()) {
                    continue;
                }
                const net::Replace replace = replace_of(targets_.pick(mix_random_), request_id);
                connection_->queue(replace);
                if (journal_ != nullptr) {
                    journal_block_ += replace_request_line(account_.name, replace);
                }
                ++result_.totals.replaces_sent;
            } else {
                const book::InstrumentSpec& spec =
                    plan_.instruments[mix_random_.below(plan_.instruments.size())];
                connection_->queue(net::MassCancel{spec.id, request_id});
                targets_.remove_instrument(spec.id);
                ++result_.totals.mass_cancels_sent;
            }
        }
    }

    // A tick away from where it rests, or the same price with a lot more or less: either keeps or
    // loses time priority, and a move toward the other side can trade.
    net::Replace replace_of(const Targets::Order& target, std::uint64_t request_id) {
        const book::InstrumentSpec* spec = &plan_.instruments.front();
        for (const book::InstrumentSpec& candidate : plan_.instruments) {
            if (candidate.id == target.instrument) {
                spec = &candidate;
            }
        }
        net::Replace replace{target.instrument, request_id, target.order_id, target.price,
                             target.leaves};
        switch (mix_random_.below(3)) {
            case 0:
                replace.price = std::clamp(
                    target.price + spec->tick_size * (mix_random_.below(2) == 0 ? 1 : -1),
                    spec->min_price, spec->max_price);
                break;
            case 1:
                replace.quantity = std::max(spec->lot_size, target.leaves - spec->lot_size);
                break;
            default:
                replace.quantity =
                    std::min(target.leaves + spec->lot_size,
                             spec->max_order_quantity / spec->lot_size * spec->lot_size);
                break;
        }
        return replace;
    }

    // Keeps the mix's targets: the connection's own orders while they rest.
    void track(const net::Message& message) {
        if (const auto* a = std::get_if<net::Accepted>(&message)) {
            targets_.add({a->instrument, a->order_id, a->side, a->price, a->quantity});
        } else if (const auto* f = std::get_if<net::Fill>(&message)) {
            if (Targets::Order* order = targets_.find(f->instrument, f->order_id)) {
                order->leaves = f->leaves;
                if (f->leaves == 0) {
                    targets_.remove(f->instrument, f->order_id);
                }
            }
        } else if (const auto* c = std::get_if<net::Cancelled>(&message)) {
            targets_.remove(c->instrument, c->order_id);
        } else if (const auto* r = std::get_if<net::Replaced>(&message)) {
            ++result_.totals.replaced;
            if (Targets::Order* order = targets_.find(r->instrument, r->order_id)) {
                order->price = r->price;
                order->leaves = r->leaves;
            }
        } else if (std::holds_alternative<net::MassCancelled>(message)) {
            ++result_.totals.mass_cancelled;
        }
    }

    // Waits for replies until `deadline`, then handles what else already arrived (bounded).
    void handle_replies(Clock::time_point deadline) {
        std::optional<net::Message> message = connection_->receive(deadline);
        for (int handled = 0; message && handled < kRepliesPerTurn; ++handled) {
            handle(*message);
            message = connection_->receive(Clock::time_point{});
        }
        if (message) {
            handle(*message);
        }
        if (journal_ != nullptr && (journal_block_.size() >= kJournalBlockBytes ||
                                    Clock::now() - last_journal_ > std::chrono::seconds(1))) {
            journal_->append(journal_block_);
            last_journal_ = Clock::now();
        }
    }

    void handle(const net::Message& message) {
        if (journal_ != nullptr) {
            append_journal_line(message);
        }
        if (!plan_.mix.only_new_orders()) {
            track(message);
        }
        if (const auto* a = std::get_if<net::Accepted>(&message)) {
            count_first_reply(a->client_order_id, OrderOutcome::Accepted, {});
        } else if (const auto* r = std::get_if<net::Rejected>(&message)) {
            if (r->request_type == net::MessageType::NewOrder) {
                count_first_reply(
                    r->client_id,
                    is_refusal(r->reason) ? OrderOutcome::Refused : OrderOutcome::Rejected,
                    net::to_string(r->reason));
            }
        } else if (const auto* f = std::get_if<net::Fill>(&message)) {
            ++result_.totals.fills;
            // The daemon sends Accepted first; a Fill before it would still mean the order was
            // taken (and for an order already answered this counts nothing).
            count_first_reply(f->client_order_id, OrderOutcome::Accepted, {});
        } else if (std::holds_alternative<net::Cancelled>(message)) {
            ++result_.totals.cancelled;
        }
    }

    // With the daemon's stamp and the time it arrived, so that a crash's loss can be measured in
    // time (`store lost`).
    void append_journal_line(const net::Message& message) {
        std::string line = journal_line(account_.name, message);
        if (line.empty()) {
            return;
        }
        const TimestampNs ack_ns = std::visit(
            [](const auto& m) -> TimestampNs {
                if constexpr (requires { m.timestamp_ns; }) {
                    return m.timestamp_ns;
                } else {
                    return 0;
                }
            },
            message);
        const auto at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
        std::string stamps;
        if (ack_ns > 0) {
            stamps += " ack_us=" + std::to_string(ack_ns / 1000);
        }
        stamps += " at_us=" + std::to_string(at_us);
        if (const std::int64_t rx_ns = connection_->received_at_ns(); rx_ns > 0) {
            stamps += " rx_us=" + std::to_string(rx_ns / 1000);
        }
        line.insert(line.size() - 1, stamps);
        journal_block_ += line;
    }

    void count_first_reply(ClientOrderId id, OrderOutcome outcome, std::string_view reason) {
        const std::optional<std::uint64_t> latency_ns = first_reply(id);
        if (!latency_ns) {
            return;
        }
        LoadTotals& totals = result_.totals;
        switch (outcome) {
            case OrderOutcome::Accepted:
                ++totals.accepted;
                totals.latency.record(*latency_ns);
                shared_.accepted.fetch_add(1, std::memory_order_relaxed);
                break;
            case OrderOutcome::Rejected:
                ++totals.rejected;
                ++totals.rejected_by_reason[std::string(reason)];
                break;
            case OrderOutcome::Refused:
                ++totals.refused;
                ++totals.refused_by_reason[std::string(reason)];
                shared_.refused.fetch_add(1, std::memory_order_relaxed);
                totals.refused_latency.record(*latency_ns);
                break;
        }
    }

    // The latency of order `id` if it is one of ours still waiting for its first reply, which
    // this is; nothing otherwise.
    std::optional<std::uint64_t> first_reply(ClientOrderId id) {
        if (id < plan_.id_base + index_ || (id - plan_.id_base - index_) % plan_.connections != 0) {
            return std::nullopt;
        }
        const std::uint64_t k = (id - plan_.id_base - index_) / plan_.connections;
        if (k < oldest_ || k >= next_ || acked_[k % plan_.window]) {
            return std::nullopt;
        }
        const Clock::time_point now = Clock::now();
        const auto latency_ns = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - times_[k % plan_.window])
                .count());
        result_.last_reply = now;
        acked_[k % plan_.window] = true;
        while (oldest_ < next_ && acked_[oldest_ % plan_.window]) {
            acked_[oldest_ % plan_.window] = false;
            ++oldest_;
        }
        shared_.acknowledged.fetch_add(1, std::memory_order_relaxed);
        return latency_ns;
    }

    const LoadPlan& plan_;
    std::uint32_t index_;
    Shared& shared_;
    JournalWriter* journal_;
    const LoadAccount& account_;
    OrderStream stream_;
    SplitMix64 mix_random_;
    Targets targets_;
    std::uint64_t requests_ = 0;  // cancels, replaces and mass cancels sent
    std::uint64_t orders_;
    std::optional<ClientConnection> connection_;
    // Per order in the window (index k % window): its send (or scheduled) time and whether its
    // first reply came. Orders oldest_..next_ are in flight.
    std::vector<Clock::time_point> times_;
    std::vector<bool> acked_;
    std::uint64_t oldest_ = 0;
    std::uint64_t next_ = 0;
    std::string journal_block_;
    Clock::time_point last_journal_ = Clock::now();
    WorkerResult result_;
};

// One line a second: the interval's rate counts accepted orders only, like the report.
void print_progress(const Shared& shared, std::uint64_t total, std::uint64_t& last_accepted,
                    double interval_s) {
    const std::uint64_t accepted = shared.accepted.load();
    const double elapsed = std::chrono::duration<double>(Clock::now() - shared.start).count();
    std::fprintf(stderr,
                 "load: %.0fs sent %" PRIu64 " acknowledged %" PRIu64 " of %" PRIu64
                 ", accepted %" PRIu64 ", refused %" PRIu64 " (%.0f accepted/s)\n",
                 elapsed, shared.sent.load(), shared.acknowledged.load(), total, accepted,
                 shared.refused.load(), static_cast<double>(accepted - last_accepted) / interval_s);
    last_accepted = accepted;
}

}  // namespace

bool is_refusal(net::RejectCode code) {
    return static_cast<std::uint8_t>(code) >=
               static_cast<std::uint8_t>(net::RejectCode::NotLoggedIn) ||
           code == net::reject_code(book::RejectReason::Busy) ||
           code == net::reject_code(book::RejectReason::Unavailable);
}

LoadMix parse_load_mix(const std::string& text) {
    LoadMix mix{0, 0, 0, 0};
    std::string_view rest = text;
    while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        const std::string_view part = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
        const std::size_t eq = part.find('=');
        const std::string_view name = part.substr(0, eq);
        std::uint32_t weight = 0;
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), weight);
        if (value.empty() || ec != std::errc() || end != value.data() + value.size() ||
            weight > 1'000'000) {
            throw std::invalid_argument("--mix: '" + std::string(part) +
                                        "' is not NAME=WEIGHT (a whole number up to 1000000)");
        }
        if (name == "new") {
            mix.new_order = weight;
        } else if (name == "cancel") {
            mix.cancel = weight;
        } else if (name == "replace") {
            mix.replace = weight;
        } else if (name == "mass_cancel") {
            mix.mass_cancel = weight;
        } else {
            throw std::invalid_argument("--mix: unknown request '" + std::string(name) +
                                        "' (new, cancel, replace or mass_cancel)");
        }
    }
    if (mix.new_order == 0) {
        throw std::invalid_argument("--mix: new must have a weight above 0 (--orders counts them)");
    }
    return mix;
}

LoadTotals run_load(const LoadPlan& plan, JournalWriter* journal) {
    Shared shared;
    std::vector<std::unique_ptr<Worker>> workers;
    for (std::uint32_t i = 0; i < plan.connections; ++i) {
        workers.push_back(std::make_unique<Worker>(plan, i, shared, journal));
    }
    // Everyone logs in first; the schedule starts when the last login is done.
    std::barrier logged_in(static_cast<std::ptrdiff_t>(plan.connections), [&shared]() noexcept {
        shared.start = Clock::now();
        shared.started.store(true, std::memory_order_release);
    });
    std::atomic<bool> start_failed{false};
    std::vector<std::thread> threads;
    for (auto& worker : workers) {
        threads.emplace_back([&worker, &logged_in, &start_failed] {
            if (!worker->start()) {
                start_failed.store(true);
            }
            logged_in.arrive_and_wait();
            if (!start_failed.load()) {
                worker->run();
            }
        });
    }
    // Progress and journal flushes once a second until every thread is done.
    std::uint64_t last_accepted = 0;
    Clock::time_point next_tick = Clock::now() + std::chrono::seconds(1);
    std::atomic<std::uint32_t> done{0};
    std::thread waiter([&] {
        for (std::thread& thread : threads) {
            thread.join();
        }
        done.store(1);
    });
    while (done.load() == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (Clock::now() >= next_tick && shared.started.load(std::memory_order_acquire) &&
            !start_failed.load()) {
            print_progress(shared, plan.orders, last_accepted, 1.0);
            if (journal != nullptr) {
                journal->flush();
            }
            next_tick += std::chrono::seconds(1);
        }
    }
    waiter.join();
    if (journal != nullptr) {
        journal->flush();
    }

    LoadTotals totals;
    Clock::time_point last_reply = shared.start;
    for (auto& worker : workers) {
        const LoadTotals& part = worker->result().totals;
        totals.sent += part.sent;
        totals.accepted += part.accepted;
        totals.rejected += part.rejected;
        for (const auto& [reason, count] : part.rejected_by_reason) {
            totals.rejected_by_reason[reason] += count;
        }
        totals.refused += part.refused;
        for (const auto& [reason, count] : part.refused_by_reason) {
            totals.refused_by_reason[reason] += count;
        }
        totals.fills += part.fills;
        totals.cancelled += part.cancelled;
        totals.cancels_sent += part.cancels_sent;
        totals.replaces_sent += part.replaces_sent;
        totals.mass_cancels_sent += part.mass_cancels_sent;
        totals.replaced += part.replaced;
        totals.mass_cancelled += part.mass_cancelled;
        totals.latency.merge(part.latency);
        totals.refused_latency.merge(part.refused_latency);
        totals.connection_lost = totals.connection_lost || part.connection_lost;
        totals.timed_out = totals.timed_out || part.timed_out;
        totals.failed_to_start = totals.failed_to_start || part.failed_to_start;
        totals.errors.insert(totals.errors.end(), part.errors.begin(), part.errors.end());
        last_reply = std::max(last_reply, worker->result().last_reply);
    }
    totals.elapsed_s = std::chrono::duration<double>(last_reply - shared.start).count();
    return totals;
}

}  // namespace exchanged::tools
