#include "tools/workloads/lobster.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <system_error>
#include <unordered_map>

namespace exchanged::tools::lobster {
namespace {

using book::Command;
using book::CommandType;
using book::Event;
using book::EventType;

constexpr InstrumentId kInstrument = 1;
// LOBSTER's stand-ins for an empty side in the orderbook file.
constexpr Price kNoAsk = 9'999'999'999;
constexpr Price kNoBid = -9'999'999'999;

[[noreturn]] void fail(std::string_view source, std::size_t line, const std::string& what) {
    throw LobsterError(std::string(source) + ":" + std::to_string(line) + ": " + what);
}

// Quotes a field for an error message, cut short so a binary blob cannot flood the terminal.
std::string quoted(std::string_view field) {
    constexpr std::size_t kMax = 40;
    std::string out = "'";
    for (char ch : field.substr(0, kMax)) {
        const auto u = static_cast<unsigned char>(ch);
        out += (u >= 0x20 && u < 0x7f) ? ch : '?';
    }
    out += field.size() > kMax ? "...'" : "'";
    return out;
}

std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = line.find(',', start);
        if (comma == std::string_view::npos) {
            fields.push_back(line.substr(start));
            return fields;
        }
        fields.push_back(line.substr(start, comma - start));
        start = comma + 1;
    }
}

// The whole field must be the number: from_chars alone would accept "12abc" as 12.
template <typename Int>
bool parse_int(std::string_view field, Int& value) {
    if (field.empty()) {
        return false;
    }
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    return ec == std::errc() && end == field.data() + field.size();
}

std::int64_t int_field(std::string_view source, std::size_t line, std::string_view name,
                       std::string_view field) {
    std::int64_t value = 0;
    if (!parse_int(field, value)) {
        fail(source, line, std::string(name) + " is not a whole number: " + quoted(field));
    }
    return value;
}

// Seconds after midnight with up to nanosecond decimals, converted exactly (no floating point, so
// equal times stay equal).
TimestampNs time_field(std::string_view source, std::size_t line, std::string_view field) {
    const std::size_t dot = field.find('.');
    const std::string_view whole = field.substr(0, dot);
    const std::string_view fraction =
        dot == std::string_view::npos ? std::string_view{} : field.substr(dot + 1);
    std::int64_t seconds = 0;
    std::int64_t nanos = 0;
    const bool fraction_ok =
        dot == std::string_view::npos || (fraction.size() <= 9 && parse_int(fraction, nanos));
    // 10^6 seconds is far past any day; the bound keeps the conversion from overflowing.
    if (!parse_int(whole, seconds) || seconds < 0 || seconds > 1'000'000 || !fraction_ok ||
        nanos < 0) {
        fail(source, line,
             "time is not seconds after midnight with at most 9 decimals: " + quoted(field));
    }
    for (std::size_t i = fraction.size(); i < 9; ++i) {
        nanos *= 10;
    }
    return seconds * 1'000'000'000 + nanos;
}

// Reads lines, dropping a trailing '\r' so files written on Windows parse too.
template <typename OnLine>
void for_each_line(std::istream& in, OnLine&& on_line) {
    std::string text;
    std::size_t line = 0;
    while (std::getline(in, text)) {
        ++line;
        if (!text.empty() && text.back() == '\r') {
            text.pop_back();
        }
        on_line(line, std::string_view(text));
    }
}

Message parse_message(std::string_view source, std::size_t line, std::string_view text) {
    const std::vector<std::string_view> f = split_fields(text);
    if (f.size() != 6) {
        fail(source, line,
             "expected 6 columns (time,type,order id,size,price,direction), found " +
                 std::to_string(f.size()));
    }
    Message m;
    m.line = line;
    m.time_ns = time_field(source, line, f[0]);
    const std::int64_t type = int_field(source, line, "type", f[1]);
    if (type < 1 || type > 7 || type == 6) {
        fail(source, line, "unknown message type " + std::to_string(type) + " (expected 1-5 or 7)");
    }
    m.type = static_cast<MessageType>(type);
    const std::int64_t order_id = int_field(source, line, "order id", f[2]);
    if (order_id < 0) {
        fail(source, line, "order id is negative (" + std::to_string(order_id) + ")");
    }
    m.order_id = static_cast<std::uint64_t>(order_id);
    m.size = int_field(source, line, "size", f[3]);
    if (m.size < 0) {
        fail(source, line, "size is negative (" + std::to_string(m.size) + ")");
    }
    m.price = int_field(source, line, "price", f[4]);
    const std::int64_t direction = int_field(source, line, "direction", f[5]);
    if (direction != 1 && direction != -1) {
        fail(source, line,
             "direction must be 1 (buy) or -1 (sell), found " + std::to_string(direction));
    }
    m.side = direction == 1 ? Side::Buy : Side::Sell;
    if (m.type == MessageType::TradingHalt) {
        return m;  // halts carry -1/0/1 in the price column and zeros elsewhere
    }
    // Everything but a halt is about real shares at a real price.
    if (m.size == 0) {
        fail(source, line, "size is 0 in a type " + std::to_string(type) + " message");
    }
    if (m.price <= 0) {
        fail(source, line, "price is not positive (" + std::to_string(m.price) + ")");
    }
    if (m.type != MessageType::HiddenExecution && m.order_id == 0) {
        fail(source, line, "order id is 0 in a type " + std::to_string(type) + " message");
    }
    return m;
}

std::ifstream open_or_throw(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw LobsterError(
            path + ": cannot open: " + std::error_code(errno, std::generic_category()).message());
    }
    return in;
}

Command base_command(std::size_t index, const Message& m) {
    Command c;
    c.seq = index + 1;
    c.timestamp_ns = m.time_ns;
    c.instrument = kInstrument;
    return c;
}

}  // namespace

std::vector<Message> parse_messages(std::istream& in, std::string_view source) {
    std::vector<Message> messages;
    for_each_line(in, [&](std::size_t line, std::string_view text) {
        messages.push_back(parse_message(source, line, text));
    });
    if (in.bad()) {
        throw LobsterError(std::string(source) + ": read error after " +
                           std::to_string(messages.size()) + " lines");
    }
    return messages;
}

std::vector<Message> read_messages(const std::string& path) {
    std::ifstream in = open_or_throw(path);
    return parse_messages(in, path);
}

std::vector<TopOfBook> parse_orderbook(std::istream& in, std::string_view source) {
    std::vector<TopOfBook> rows;
    for_each_line(in, [&](std::size_t line, std::string_view text) {
        const std::vector<std::string_view> f = split_fields(text);
        // Four columns per level; only the first level is used.
        if (f.size() < 4 || f.size() % 4 != 0) {
            fail(source, line,
                 "expected 4 columns per level (ask price,ask size,bid price,bid size), found " +
                     std::to_string(f.size()));
        }
        TopOfBook top;
        const Price ask = int_field(source, line, "ask price", f[0]);
        top.ask_size = int_field(source, line, "ask size", f[1]);
        const Price bid = int_field(source, line, "bid price", f[2]);
        top.bid_size = int_field(source, line, "bid size", f[3]);
        if (top.ask_size < 0 || top.bid_size < 0) {
            fail(source, line, "a size is negative");
        }
        if (ask != kNoAsk) {
            if (ask <= 0) {
                fail(source, line, "ask price is not positive (" + std::to_string(ask) + ")");
            }
            top.ask = ask;
        }
        if (bid != kNoBid) {
            if (bid <= 0) {
                fail(source, line, "bid price is not positive (" + std::to_string(bid) + ")");
            }
            top.bid = bid;
        }
        rows.push_back(top);
    });
    if (in.bad()) {
        throw LobsterError(std::string(source) + ": read error after " +
                           std::to_string(rows.size()) + " lines");
    }
    return rows;
}

std::vector<TopOfBook> read_orderbook(const std::string& path) {
    std::ifstream in = open_or_throw(path);
    return parse_orderbook(in, path);
}

book::InstrumentSpec instrument_for(const std::vector<Message>& messages, std::string symbol) {
    Price tick = 0;
    Price low = 0;
    Price high = 0;
    // Saturates well below overflow: a garbage size must not wrap the largest order around.
    constexpr Quantity kQuantityCap = Quantity{1} << 50;
    Quantity total_size = 0;
    for (const Message& m : messages) {
        // Only new limit orders bring prices into our book: executions and cancels name orders
        // at their own price, and hidden executions (often at half a tick) never enter it.
        if (m.type != MessageType::NewLimit) {
            continue;
        }
        tick = std::gcd(tick, m.price);
        low = low == 0 ? m.price : std::min(low, m.price);
        high = std::max(high, m.price);
        total_size = std::min(kQuantityCap, total_size + std::min(m.size, kQuantityCap));
    }
    if (tick == 0) {
        throw LobsterError("no new limit order (type 1): a day needs at least one to replay");
    }
    const Price levels = (high - low) / tick + 1;
    if (levels > book::kMaxPriceLevels) {
        throw LobsterError("the day's prices run from " + std::to_string(low) + " to " +
                           std::to_string(high) + " in steps of " + std::to_string(tick) + ": " +
                           std::to_string(levels) + " price levels, more than the book's " +
                           std::to_string(book::kMaxPriceLevels));
    }
    book::InstrumentSpec spec{
        kInstrument, std::move(symbol), tick, 1, low, high, std::max<Quantity>(total_size, 1)};
    if (const std::string bad = book::validate(spec); !bad.empty()) {
        throw LobsterError("the instrument learnt from the day is not usable: " + bad);
    }
    return spec;
}

std::string symbol_for(const std::string& path) {
    const std::string name = std::filesystem::path(path).filename().string();
    const std::size_t end = name.find('_');
    if (end == 0 || end == std::string::npos) {
        return "LOBSTER";
    }
    return name.substr(0, end);
}

book::MatcherLimits lobster_limits() {
    book::MatcherLimits limits;
    // The replayed subset stays small (hundreds of orders), but a different day may hold more.
    limits.max_orders = 1u << 18;
    limits.max_accounts = kRestingAccounts + 1;
    limits.client_order_id_window = 1u << 16;
    return limits;
}

namespace {

// convert()'s working state: the shadow book, the id maps and the output being built.
class Converter {
  public:
    Converter(const std::vector<Message>& messages, const std::vector<TopOfBook>* tops,
              const std::string& symbol);

    Conversion run();

  private:
    // Each fills in `c` for one message. Those that return bool return false when the message has
    // nothing to do in our book.
    void new_limit(const Message& m, Command& c);
    bool partial_cancel(const Message& m, Command& c);
    bool delete_order(const Message& m, Command& c);
    // One past the last message of the run of visible executions that starts at `first`.
    std::size_t execution_run_end(std::size_t first) const;
    bool execution_run(std::size_t first, std::size_t end, Command& c,
                       std::vector<ExpectedExecution>& expected);

    std::optional<book::OrderView> resting(std::uint64_t lobster_id) const {
        const auto it = ours_.find(lobster_id);
        return it == ours_.end() ? std::nullopt : shadow_.find_order(it->second);
    }
    // Applies a command to the shadow book and keeps the id maps in step with what it did.
    void issue(const Command& c, std::size_t message, std::uint64_t lobster_id,
               const std::vector<ExpectedExecution>& expected);
    void follow_events(const Command& c, std::uint64_t lobster_id);
    void forget(OrderId order_id) {
        if (const auto it = theirs_.find(order_id); it != theirs_.end()) {
            ours_.erase(it->second);
            theirs_.erase(it);
        }
    }
    // Cancels, in priority order, every order of ours away from the real best of its side.
    void reconcile(std::size_t message);

    const std::vector<Message>& messages_;
    const std::vector<TopOfBook>* tops_;
    Conversion out_;
    book::Matcher shadow_;
    std::vector<Event> events_;
    // LOBSTER order id -> our order id while the order rests in the shadow book, and back.
    std::unordered_map<std::uint64_t, OrderId> ours_;
    std::unordered_map<OrderId, std::uint64_t> theirs_;
    std::vector<ClientOrderId> next_client_order_id_;
    std::vector<book::OrderView> drop_;  // reconcile()'s, kept to reuse its capacity
};

Conversion empty_conversion(const std::vector<Message>& messages, const std::string& symbol) {
    Conversion out;
    out.instruments.push_back(instrument_for(messages, symbol));
    out.limits = lobster_limits();
    out.commands.reserve(messages.size());
    out.message_of_command.reserve(messages.size());
    return out;
}

Converter::Converter(const std::vector<Message>& messages, const std::vector<TopOfBook>* tops,
                     const std::string& symbol)
    : messages_(messages),
      tops_(tops),
      out_(empty_conversion(messages, symbol)),
      shadow_(out_.instruments, out_.limits),
      next_client_order_id_(kRestingAccounts + 1, 0) {
    events_.reserve(256);
}

Conversion Converter::run() {
    for (std::size_t i = 0; i < messages_.size(); ++i) {
        const Message& m = messages_[i];
        ++out_.counts.messages_by_type[static_cast<std::size_t>(m.type)];
        Command c = base_command(out_.commands.size(), m);
        std::vector<ExpectedExecution> expected;
        std::size_t group_end = i + 1;  // messages this iteration covers
        bool skip = false;              // nothing to do in our book
        switch (m.type) {
            case MessageType::NewLimit:
                new_limit(m, c);
                break;
            case MessageType::PartialCancel:
                skip = !partial_cancel(m, c);
                break;
            case MessageType::Delete:
                skip = !delete_order(m, c);
                break;
            case MessageType::VisibleExecution:
                group_end = execution_run_end(i);
                skip = !execution_run(i, group_end, c, expected);
                break;
            case MessageType::HiddenExecution:
                // Hidden liquidity never entered our book, so there is nothing to execute.
                ++out_.counts.hidden_skipped;
                skip = true;
                break;
            case MessageType::TradingHalt:
                ++out_.counts.halts_skipped;
                skip = true;
                break;
        }

        if (!skip) {
            issue(c, i, m.order_id, expected);
        }
        // The aggressor of a run went in at its first message, so on every later row of the run
        // our book has already lost what the real one is about to lose: still a subset.
        for (; tops_ != nullptr && i < group_end; ++i) {
            reconcile(i);
        }
        i = group_end - 1;
    }
    out_.order_ids_used = shadow_.next_order_id() - 1;
    return std::move(out_);
}

void Converter::new_limit(const Message& m, Command& c) {
    if (ours_.count(m.order_id) != 0) {
        throw LobsterError("line " + std::to_string(m.line) + ": order id " +
                           std::to_string(m.order_id) + " is added twice");
    }
    c.type = CommandType::NewOrder;
    c.account = static_cast<AccountId>(1 + m.order_id % kRestingAccounts);
    c.client_order_id = ++next_client_order_id_[c.account];
    c.side = m.side;
    c.order_type = book::OrderType::Limit;
    c.time_in_force = book::TimeInForce::GoodTillCancel;
    c.price = m.price;
    c.quantity = m.size;
    ++out_.counts.new_orders;
}

bool Converter::partial_cancel(const Message& m, Command& c) {
    const auto order = resting(m.order_id);
    if (!order) {
        ++out_.counts.unknown_partial_cancels;  // it rested before the file starts
        return false;
    }
    c.order_id = order->order_id;
    c.account = order->account;
    if (order->leaves - m.size > 0) {
        // Same price, smaller quantity: keeps time priority, as it does on NASDAQ.
        c.type = CommandType::Replace;
        c.price = order->price;
        c.quantity = order->leaves - m.size;
        ++out_.counts.replaces;
    } else {
        c.type = CommandType::Cancel;
        ++out_.counts.cancels;
    }
    return true;
}

bool Converter::delete_order(const Message& m, Command& c) {
    const auto order = resting(m.order_id);
    if (!order) {
        ++out_.counts.unknown_deletes;
        return false;
    }
    c.type = CommandType::Cancel;
    c.order_id = order->order_id;
    c.account = order->account;
    ++out_.counts.cancels;
    return true;
}

// One aggressor sweeping several orders shows up as a run of executions with one timestamp, and
// NASDAQ does not always list them in priority order (the sample has a newer order of a level
// listed before an older one). So the run becomes one aggressor for the known orders' total,
// limited to the furthest price among them: with correct priority it takes exactly those orders,
// whatever the listing.
std::size_t Converter::execution_run_end(std::size_t first) const {
    const Message& m = messages_[first];
    std::size_t end = first + 1;
    while (end < messages_.size() && messages_[end].type == MessageType::VisibleExecution &&
           messages_[end].time_ns == m.time_ns && messages_[end].side == m.side) {
        ++end;
    }
    return end;
}

bool Converter::execution_run(std::size_t first, std::size_t end, Command& c,
                              std::vector<ExpectedExecution>& expected) {
    const Message& m = messages_[first];
    for (std::size_t k = first; k < end; ++k) {
        const Message& x = messages_[k];
        if (k > first) {
            ++out_.counts.messages_by_type[static_cast<std::size_t>(x.type)];
        }
        const auto order = resting(x.order_id);
        if (!order) {
            ++out_.counts.unknown_executions;
            continue;
        }
        if (expected.empty()) {
            c.price = order->price;
        } else {
            c.price = m.side == Side::Sell ? std::max(c.price, order->price)
                                           : std::min(c.price, order->price);
        }
        c.quantity += x.size;
        expected.push_back(
            ExpectedExecution{out_.commands.size(), k, order->order_id, order->price, x.size});
        ++out_.counts.executions;
    }
    if (expected.empty()) {
        return false;
    }
    c.type = CommandType::NewOrder;
    c.account = kAggressorAccount;
    c.client_order_id = ++next_client_order_id_[kAggressorAccount];
    c.side = opposite(m.side);
    c.order_type = book::OrderType::Limit;
    c.time_in_force = book::TimeInForce::ImmediateOrCancel;
    ++out_.counts.aggressors;
    out_.counts.grouped_executions += expected.size() > 1 ? expected.size() : 0;
    return true;
}

void Converter::issue(const Command& c, std::size_t message, std::uint64_t lobster_id,
                      const std::vector<ExpectedExecution>& expected) {
    events_.clear();
    shadow_.apply(c, events_);
    follow_events(c, lobster_id);
    out_.counts.max_resting = std::max(out_.counts.max_resting, shadow_.resting_orders());
    out_.executions.insert(out_.executions.end(), expected.begin(), expected.end());
    out_.commands.push_back(c);
    out_.message_of_command.push_back(message);
}

void Converter::follow_events(const Command& c, std::uint64_t lobster_id) {
    for (const Event& e : events_) {
        switch (e.type) {
            case EventType::Rejected:
                ++out_.counts.rejected;
                break;
            case EventType::Accepted:
                if (c.account != kAggressorAccount && shadow_.find_order(e.order_id)) {
                    ours_[lobster_id] = e.order_id;
                    theirs_[e.order_id] = lobster_id;
                }
                break;
            case EventType::Trade:
                if (e.maker_leaves == 0) {
                    forget(e.maker_order_id);
                }
                break;
            case EventType::Cancelled:
                forget(e.order_id);
                break;
            default:
                break;
        }
    }
}

void Converter::reconcile(std::size_t message) {
    const TopOfBook& real = (*tops_)[message];
    drop_.clear();
    shadow_.for_each_resting([&](const book::OrderView& order) {
        const std::optional<Price>& best = order.side == Side::Buy ? real.bid : real.ask;
        if (!best || order.price != *best) {
            drop_.push_back(order);
        }
    });
    for (const book::OrderView& order : drop_) {
        Command c = base_command(out_.commands.size(), messages_[message]);
        c.type = CommandType::Cancel;
        c.order_id = order.order_id;
        c.account = order.account;
        ++out_.counts.reconcile_cancels;
        issue(c, message, 0, {});
    }
}

}  // namespace

Conversion convert(const std::vector<Message>& messages, const std::vector<TopOfBook>* tops,
                   const std::string& symbol) {
    if (tops != nullptr && tops->size() != messages.size()) {
        throw LobsterError("the orderbook file has " + std::to_string(tops->size()) + " rows for " +
                           std::to_string(messages.size()) +
                           " messages; they must match one to one");
    }
    return Converter(messages, tops, symbol).run();
}

std::string orderbook_path_for(const std::string& message_path) {
    std::filesystem::path path(message_path);
    std::string name = path.filename().string();
    const std::size_t at = name.rfind("_message_");
    if (at == std::string::npos) {
        return {};
    }
    name.replace(at, 9, "_orderbook_");
    path.replace_filename(name);
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec) ? path.string() : std::string();
}

}  // namespace exchanged::tools::lobster
