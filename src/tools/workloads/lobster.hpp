// Real NASDAQ order flow from LOBSTER sample files (https://lobsterdata.com), turned into book
// commands. The message file records what happened to the real book; we replay the part of it we
// can know about: orders that rested before the file starts (before 09:30) never appear as type-1
// messages, so our book only ever holds a subset of the real one. Every visible execution of an
// order we do know must then trade against exactly that order at its price, which makes the day a
// real-data check of price-time priority as well as a benchmark workload.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "book/command.hpp"
#include "book/instrument_spec.hpp"
#include "book/matcher.hpp"
#include "common/types.hpp"
#include "tools/workloads/match_workloads.hpp"

namespace exchanged::tools::lobster {

// Bad input: the message names the file, the 1-based line and what is wrong with it.
class LobsterError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class MessageType : std::uint8_t {
    NewLimit = 1,
    PartialCancel = 2,
    Delete = 3,
    VisibleExecution = 4,
    HiddenExecution = 5,
    TradingHalt = 7,
};

struct Message {
    TimestampNs time_ns = 0;  // since midnight
    MessageType type = MessageType::NewLimit;
    std::uint64_t order_id = 0;  // LOBSTER's reference number, 0 for hidden executions and halts
    Quantity size = 0;
    Price price = 0;        // dollars x 10000; -1, 0 or 1 for a halt (halt, quoting, resume)
    Side side = Side::Buy;  // of the resting limit order
    std::size_t line = 0;   // 1-based, for messages about the data
};

// The level-1 part of an orderbook-file row: the real book's top after the matching message.
struct TopOfBook {
    std::optional<Price> ask;  // empty when LOBSTER wrote its dummy price (no asks)
    Quantity ask_size = 0;
    std::optional<Price> bid;
    Quantity bid_size = 0;
};

// `source` names the input in error messages (usually the file's path).
std::vector<Message> parse_messages(std::istream& in, std::string_view source);
std::vector<Message> read_messages(const std::string& path);
std::vector<TopOfBook> parse_orderbook(std::istream& in, std::string_view source);
std::vector<TopOfBook> read_orderbook(const std::string& path);

// The instrument a day's messages fit, learnt from the data so that any ticker replays: from the
// new limit orders (the only messages that bring prices into our book), the tick is the greatest
// common divisor of their prices (100, $0.01, for a NASDAQ stock above $1), the price band their
// lowest to highest price, and the largest order their total size (an aggressor sums a sweep's
// executions of them). Throws LobsterError when the prices span more levels than the book can
// hold (book::kMaxPriceLevels) or there is no new limit order.
book::InstrumentSpec instrument_for(const std::vector<Message>& messages, std::string symbol);
book::MatcherLimits lobster_limits();

// The ticker in a LOBSTER file name (`AMZN_2012-06-21_..._message_1.csv` -> AMZN), or "LOBSTER".
std::string symbol_for(const std::string& path);

inline constexpr AccountId kAggressorAccount = 0;
// Resting orders are spread over accounts 1..kRestingAccounts by LOBSTER order id.
inline constexpr AccountId kRestingAccounts = 15;

// A visible execution and the trade it has to produce. Executions with one timestamp on one side
// are one aggressor's sweep and share one command.
struct ExpectedExecution {
    std::size_t command = 0;  // index into Conversion::commands
    std::size_t message = 0;  // index into the messages
    OrderId maker_order_id = 0;
    Price price = 0;
    Quantity quantity = 0;
};

struct ConversionCounts {
    std::array<std::uint64_t, 8> messages_by_type{};  // indexed by the type's number
    std::uint64_t new_orders = 0;
    std::uint64_t replaces = 0;            // partial cancels that left something open
    std::uint64_t cancels = 0;             // deletes, and partial cancels of everything left
    std::uint64_t executions = 0;          // visible executions of known orders
    std::uint64_t aggressors = 0;          // aggressor orders generated for them
    std::uint64_t grouped_executions = 0;  // executions sharing an aggressor with others
    std::uint64_t reconcile_cancels = 0;   // orders dropped when they left the file's view
    std::uint64_t unknown_partial_cancels = 0;
    std::uint64_t unknown_deletes = 0;
    std::uint64_t unknown_executions = 0;
    std::uint64_t hidden_skipped = 0;
    std::uint64_t halts_skipped = 0;
    std::uint64_t rejected = 0;  // commands the shadow book refused (should be none)
    std::size_t max_resting = 0;
};

struct Conversion {
    std::vector<book::InstrumentSpec> instruments;
    book::MatcherLimits limits;
    std::vector<book::Command> commands;
    // For each command, the index of the message it came from (non-decreasing; a message gives
    // several commands when reconciliation cancels follow it).
    std::vector<std::size_t> message_of_command;
    std::vector<ExpectedExecution> executions;  // in command order
    ConversionCounts counts;
    // Order ids the commands make the book assign (accepted new orders, IOC ones included).
    std::uint64_t order_ids_used = 0;
};

// Converts a day of messages into commands for instrument_for(messages, symbol), learning the
// order ids the book assigns by applying each command to a shadow matcher.
//
// A level-N file only records events inside the top N levels: an order pushed below them can be
// cancelled or cut without a message, and would then linger in our book as a stale order that
// takes executions meant for others. With `tops` (the orderbook file, one row per message), after
// each message every order of ours priced away from the real best of its side is cancelled (a
// reconciliation cancel): we stop tracking an order the moment the file may stop reporting it, so
// the book really is a subset of the real one. Without `tops` the messages are taken as they are.
Conversion convert(const std::vector<Message>& messages,
                   const std::vector<TopOfBook>* tops = nullptr,
                   const std::string& symbol = "LOBSTER");

// The orderbook file beside a message file (`_message_` replaced by `_orderbook_`), or empty.
std::string orderbook_path_for(const std::string& message_path);

// The benchmark workload: the day's commands repeated until there are `commands` of them,
// reconciled with the orderbook file when it lies beside `path`. Each repetition starts with a mass
// cancel of the resting accounts, so it meets an empty book and assigns the same order ids shifted
// by a constant; client order ids keep counting.
Workload make_lobster_workload(const std::string& path, std::uint64_t commands);

// Where the sample message file is looked for when --data is not given, relative to the current
// directory and to the repository root.
inline constexpr std::string_view kDefaultMessageFile =
    "../shared/data/lobster/AMZN_2012-06-21_34200000_57600000_message_1.csv";

// The default message file's candidate paths: relative to the current directory, then to the
// repository root two levels above the directory of `executable` (build-*/bin/exchangectl).
std::vector<std::string> default_message_paths(const std::string& executable);

}  // namespace exchanged::tools::lobster
