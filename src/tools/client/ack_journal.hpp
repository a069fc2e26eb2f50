// The acknowledgement journal of `exchangectl load --journal`: one text line per Accepted, Fill,
// Cancelled, Replaced, MassCancelled or Rejected the daemon sent, so that `exchangectl verify` can
// later check that a restarted daemon still knows everything it acknowledged. Lines are `kind
// key=value ...`; the format is in docs/tools.md. Text rather than binary so an operator can grep
// and diff it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/types.hpp"
#include "net/protocol.hpp"

namespace exchanged::tools {

enum class JournalKind : std::uint8_t {
    Accepted,
    Fill,
    Cancelled,
    Replaced,
    MassCancelled,
    Rejected,
    ReplaceSent,  // a Replace the load sent: until its answer comes, the order may or may not move
};

// One parsed line. Fields a kind does not have stay 0 or empty.
struct JournalRecord {
    JournalKind kind = JournalKind::Accepted;
    std::string account;
    InstrumentId instrument = 0;
    ClientOrderId client_order_id = 0;  // Rejected: the rejected message's client id
    OrderId order_id = 0;
    TradeId trade_id = 0;
    Side side = Side::Buy;
    Price price = 0;
    Quantity quantity = 0;  // MassCancelled: how many orders it cancelled
    Quantity leaves = 0;    // Fill, Replaced: the open quantity after it
    net::Liquidity liquidity = net::Liquidity::Maker;
    std::string reason;   // Cancelled, Rejected
    std::string request;  // Rejected: the rejected message's type, e.g. new_order
    // Optional trailing fields, any kind, in microseconds since the epoch (0 when absent):
    // `ack_us=`, the daemon's stamp on the reply (when the shard acknowledged it, the clock the
    // loss window is kept by), `at_us=`, when the load read it, and `rx_us=`, when the kernel
    // received it (a read can come seconds later on a loaded machine). `store lost` measures a
    // loss in time by the first two; the nemesis's overlap check judges by the third.
    std::int64_t ack_us = 0;
    std::int64_t at_us = 0;
    std::int64_t rx_us = 0;
    // Cancelled, Replaced, MassCancelled: the client's Cancel/Replace/MassCancel id (0: none, or
    // a journal written before the field existed).
    std::uint64_t request_id = 0;
};

// The journal line for a server message received on `account`'s session, with its newline; empty
// for messages the journal does not keep (OrderStatus, LoginAccepted, ...).
std::string journal_line(std::string_view account, const net::Message& message);

// The journal line for a Replace sent on `account`'s session, with its newline. A kill can take
// the Replaced after the daemon logged the replace, so the checks must know what was asked.
std::string replace_request_line(std::string_view account, const net::Replace& replace);

// Parses one line (without its newline). Returns nothing and sets `error` when the line is not a
// journal record: an unknown kind, a missing, unknown, repeated or malformed field. Unknown
// fields after all of the kind's own are skipped, so a newer writer may append fields (a
// timestamp, say) that older readers do not know.
std::optional<JournalRecord> parse_journal_line(std::string_view line, std::string& error);

}  // namespace exchanged::tools
