// The engine of `exchangectl load`: one thread and one session per connection, each sending its
// share of a seeded order stream, pipelined up to a window of unacknowledged orders (closed loop)
// or paced to a schedule (open loop, latency charged from the scheduled send time so a stall
// counts against every order queued behind it). Memory is fixed by the window and the histogram,
// never by the number of orders.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "book/instrument_spec.hpp"
#include "net/protocol.hpp"
#include "tools/client/latency_histogram.hpp"

namespace exchanged::tools {

class JournalWriter;

struct LoadAccount {
    std::string name;
    std::string secret;
};

// `--mix new=N,cancel=N,replace=N,mass_cancel=N`: the relative weights of the requests a
// connection sends. Cancels and replaces target the connection's own resting orders; a mass cancel
// clears one instrument of its account. `--orders` counts new orders; the others come between them.
struct LoadMix {
    std::uint32_t new_order = 1;
    std::uint32_t cancel = 0;
    std::uint32_t replace = 0;
    std::uint32_t mass_cancel = 0;

    bool only_new_orders() const { return cancel + replace + mass_cancel == 0; }
};
// Throws std::invalid_argument naming the bad part: an unknown name, a weight that is not a
// number, or no new orders at all.
LoadMix parse_load_mix(const std::string& text);

struct LoadPlan {
    std::string target;  // HOST:PORT
    std::uint64_t orders = 0;
    std::uint32_t connections = 1;
    double rate = 0;  // orders/s over all connections; 0 saturates the window
    // Unacknowledged orders per connection. An order can bring several replies (Accepted, fills,
    // a cancel), and the daemon drops a session that has 8192 replies waiting for delivery
    // (net::GatewayOptions::delivery_queue_messages): 1024 keeps well clear of that.
    std::uint32_t window = 1024;
    std::uint64_t seed = 1;
    // Connection c sends client order ids id_base + c + k * connections (k = 0, 1, ...), so no
    // two connections collide even when they share an account.
    std::uint64_t id_base = 0;
    std::chrono::milliseconds reply_timeout{10000};
    std::vector<book::InstrumentSpec> instruments;
    std::vector<LoadAccount> accounts;  // connection c logs in as accounts[c % size]
    LoadMix mix;
};

// What the first reply to an order says happened to it.
enum class OrderOutcome : std::uint8_t {
    Accepted,  // Accepted (or a Fill): the order was taken and the book has it
    Rejected,  // the matcher turned it down for what it is (bad price, duplicate id, book full)
    Refused,   // the daemon did not take it at all (busy, unavailable, throttled, not logged in)
};

// A Rejected is a refusal when no matcher looked at the order: the gateway's own codes (200 and
// up: not_logged_in, throttled, and any the gateway adds later) and the two the shard gives before
// logging (busy: a queue was full; unavailable: the daemon stopped taking orders). Refusals say
// nothing about the order and a client may send it again, so they are neither throughput nor ack
// latency. book_full is a rejection: the matcher decided it, after the command was logged.
bool is_refusal(net::RejectCode code);

struct LoadTotals {
    std::uint64_t sent = 0;
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;
    std::map<std::string, std::uint64_t> rejected_by_reason;
    std::uint64_t refused = 0;
    std::map<std::string, std::uint64_t> refused_by_reason;
    std::uint64_t fills = 0;
    std::uint64_t cancelled = 0;
    std::uint64_t cancels_sent = 0;  // the mix's other requests, and what they got back
    std::uint64_t replaces_sent = 0;
    std::uint64_t mass_cancels_sent = 0;
    std::uint64_t replaced = 0;
    std::uint64_t mass_cancelled = 0;
    LatencyHistogram latency;          // to the first reply, accepted orders only
    LatencyHistogram refused_latency;  // to the refusal
    double elapsed_s = 0;              // from the start to the last first-reply
    bool connection_lost = false;
    bool timed_out = false;
    bool failed_to_start = false;     // could not connect or log in
    std::vector<std::string> errors;  // one line per connection that ended early, and why
};

// Runs the plan to the end or the first lost connection; `journal` may be null. Prints a progress
// line to stderr about every second and flushes the journal as often.
LoadTotals run_load(const LoadPlan& plan, JournalWriter* journal);

}  // namespace exchanged::tools
