#include "tools/client/ack_journal.hpp"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <vector>

namespace exchanged::tools {
namespace {

std::string_view side_text(Side side) {
    return side == Side::Sell ? "sell" : "buy";
}

// The fields each kind must have, in the order journal_line writes them.
struct Field {
    Field(std::string_view name, bool is_optional = false)  // NOLINT: braced lists build these
        : key(name), optional(is_optional) {}
    std::string_view key;
    bool optional = false;  // added after journals were already written: older lines lack it
    bool seen = false;
    std::string_view value;
};

bool all_seen(const std::vector<Field>& fields) {
    return std::all_of(fields.begin(), fields.end(),
                       [](const Field& field) { return field.seen || field.optional; });
}

template <typename Integer>
bool read_integer(std::string_view text, Integer& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string journal_line(std::string_view account, const net::Message& message) {
    char line[384];
    const int account_size = static_cast<int>(account.size());
    int length = 0;
    if (const auto* a = std::get_if<net::Accepted>(&message)) {
        length =
            std::snprintf(line, sizeof(line),
                          "accepted account=%.*s instrument=%" PRIu32 " client_order_id=%" PRIu64
                          " order_id=%" PRIu64 " side=%s price=%" PRId64 " qty=%" PRId64 "\n",
                          account_size, account.data(), a->instrument, a->client_order_id,
                          a->order_id, side_text(a->side).data(), a->price, a->quantity);
    } else if (const auto* f = std::get_if<net::Fill>(&message)) {
        length =
            std::snprintf(line, sizeof(line),
                          "fill account=%.*s instrument=%" PRIu32 " trade_id=%" PRIu64
                          " order_id=%" PRIu64 " client_order_id=%" PRIu64 " side=%s price=%" PRId64
                          " qty=%" PRId64 " leaves=%" PRId64 " liquidity=%s\n",
                          account_size, account.data(), f->instrument, f->trade_id, f->order_id,
                          f->client_order_id, side_text(f->side).data(), f->price, f->quantity,
                          f->leaves, f->liquidity == net::Liquidity::Taker ? "taker" : "maker");
    } else if (const auto* c = std::get_if<net::Cancelled>(&message)) {
        const std::string_view reason = book::to_string(c->reason);
        length = std::snprintf(
            line, sizeof(line),
            "cancelled account=%.*s instrument=%" PRIu32 " order_id=%" PRIu64
            " client_order_id=%" PRIu64 " qty=%" PRId64 " reason=%.*s request_id=%" PRIu64 "\n",
            account_size, account.data(), c->instrument, c->order_id, c->client_order_id,
            c->quantity, static_cast<int>(reason.size()), reason.data(), c->client_request_id);
    } else if (const auto* p = std::get_if<net::Replaced>(&message)) {
        length = std::snprintf(line, sizeof(line),
                               "replaced account=%.*s instrument=%" PRIu32 " order_id=%" PRIu64
                               " client_order_id=%" PRIu64 " request_id=%" PRIu64 " price=%" PRId64
                               " leaves=%" PRId64 "\n",
                               account_size, account.data(), p->instrument, p->order_id,
                               p->client_order_id, p->client_request_id, p->price, p->leaves);
    } else if (const auto* m = std::get_if<net::MassCancelled>(&message)) {
        length = std::snprintf(line, sizeof(line),
                               "mass_cancelled account=%.*s instrument=%" PRIu32
                               " request_id=%" PRIu64 " count=%" PRIu32 "\n",
                               account_size, account.data(), m->instrument, m->client_request_id,
                               m->cancelled_count);
    } else if (const auto* r = std::get_if<net::Rejected>(&message)) {
        const std::string_view reason = net::to_string(r->reason);
        const std::string_view request = net::to_string(r->request_type);
        length = std::snprintf(line, sizeof(line),
                               "rejected account=%.*s instrument=%" PRIu32 " client_id=%" PRIu64
                               " order_id=%" PRIu64 " request=%.*s reason=%.*s\n",
                               account_size, account.data(), r->instrument, r->client_id,
                               r->order_id, static_cast<int>(request.size()), request.data(),
                               static_cast<int>(reason.size()), reason.data());
    }
    if (length <= 0) {
        return {};
    }
    return std::string(line, std::min<std::size_t>(static_cast<std::size_t>(length), sizeof(line)));
}

std::string replace_request_line(std::string_view account, const net::Replace& replace) {
    char line[256];
    const int length =
        std::snprintf(line, sizeof(line),
                      "replace_sent account=%.*s instrument=%" PRIu32 " order_id=%" PRIu64
                      " request_id=%" PRIu64 " price=%" PRId64 " qty=%" PRId64 "\n",
                      static_cast<int>(account.size()), account.data(), replace.instrument,
                      replace.order_id, replace.client_request_id, replace.price, replace.quantity);
    if (length <= 0) {
        return {};
    }
    return std::string(line, std::min<std::size_t>(static_cast<std::size_t>(length), sizeof(line)));
}

std::optional<JournalRecord> parse_journal_line(std::string_view line, std::string& error) {
    const std::size_t space = line.find(' ');
    const std::string_view kind = line.substr(0, space);
    JournalRecord record;
    std::vector<Field> fields;
    if (kind == "accepted") {
        record.kind = JournalKind::Accepted;
        fields = {{"account"}, {"instrument"}, {"client_order_id"}, {"order_id"}, {"side"},
                  {"price"},   {"qty"}};
    } else if (kind == "fill") {
        record.kind = JournalKind::Fill;
        fields = {{"account"}, {"instrument"}, {"trade_id"}, {"order_id"}, {"client_order_id"},
                  {"side"},    {"price"},      {"qty"},      {"leaves"},   {"liquidity"}};
    } else if (kind == "cancelled") {
        record.kind = JournalKind::Cancelled;
        fields = {{"account"}, {"instrument"}, {"order_id"},        {"client_order_id"},
                  {"qty"},     {"reason"},     {"request_id", true}};
    } else if (kind == "replaced") {
        record.kind = JournalKind::Replaced;
        fields = {{"account"},    {"instrument"}, {"order_id"}, {"client_order_id"},
                  {"request_id"}, {"price"},      {"leaves"}};
    } else if (kind == "replace_sent") {
        record.kind = JournalKind::ReplaceSent;
        fields = {{"account"}, {"instrument"}, {"order_id"}, {"request_id"}, {"price"}, {"qty"}};
    } else if (kind == "mass_cancelled") {
        record.kind = JournalKind::MassCancelled;
        fields = {{"account"}, {"instrument"}, {"request_id"}, {"count"}};
    } else if (kind == "rejected") {
        record.kind = JournalKind::Rejected;
        fields = {{"account"},  {"instrument"}, {"client_id"},
                  {"order_id"}, {"request"},    {"reason"}};
    } else {
        error = "unknown record kind '" + std::string(kind) + "'";
        return std::nullopt;
    }
    std::string_view rest = space == std::string_view::npos ? "" : line.substr(space + 1);
    while (!rest.empty()) {
        const std::size_t end = rest.find(' ');
        const std::string_view token = rest.substr(0, end);
        rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
        const std::size_t eq = token.find('=');
        if (eq == std::string_view::npos) {
            error = "'" + std::string(token) + "' is not key=value";
            return std::nullopt;
        }
        const std::string_view key = token.substr(0, eq);
        if (std::int64_t* stamp = key == "at_us"    ? &record.at_us
                                  : key == "ack_us" ? &record.ack_us
                                  : key == "rx_us"  ? &record.rx_us
                                                    : nullptr;
            stamp != nullptr) {
            if (*stamp != 0) {
                error = "repeated field '" + std::string(key) + "'";
                return std::nullopt;
            }
            if (!read_integer(token.substr(eq + 1), *stamp) || *stamp <= 0) {
                error = "bad value for '" + std::string(key) + "': '" +
                        std::string(token.substr(eq + 1)) + "'";
                return std::nullopt;
            }
            continue;
        }
        Field* field = nullptr;
        for (Field& candidate : fields) {
            if (candidate.key == key) {
                field = &candidate;
            }
        }
        if (field == nullptr && all_seen(fields)) {
            continue;  // a field a newer writer appended
        }
        if (field == nullptr || field->seen) {
            error = std::string(field == nullptr ? "unknown" : "repeated") + " field '" +
                    std::string(key) + "'";
            return std::nullopt;
        }
        field->seen = true;
        field->value = token.substr(eq + 1);
    }
    for (const Field& field : fields) {
        if (!field.seen && field.optional) {
            continue;
        }
        if (!field.seen) {
            error = "missing field '" + std::string(field.key) + "'";
            return std::nullopt;
        }
        const std::string_view v = field.value;
        bool ok = true;
        if (field.key == "account") {
            record.account = v;
            ok = !v.empty();
        } else if (field.key == "instrument") {
            ok = read_integer(v, record.instrument);
        } else if (field.key == "client_order_id" || field.key == "client_id") {
            ok = read_integer(v, record.client_order_id);
        } else if (field.key == "order_id") {
            ok = read_integer(v, record.order_id);
        } else if (field.key == "trade_id") {
            ok = read_integer(v, record.trade_id);
        } else if (field.key == "price") {
            ok = read_integer(v, record.price);
        } else if (field.key == "qty" || field.key == "count") {
            ok = read_integer(v, record.quantity);
        } else if (field.key == "request_id") {
            ok = read_integer(v, record.request_id);
        } else if (field.key == "leaves") {
            ok = read_integer(v, record.leaves);
        } else if (field.key == "side") {
            ok = v == "buy" || v == "sell";
            record.side = v == "sell" ? Side::Sell : Side::Buy;
        } else if (field.key == "liquidity") {
            ok = v == "maker" || v == "taker";
            record.liquidity = v == "taker" ? net::Liquidity::Taker : net::Liquidity::Maker;
        } else if (field.key == "reason") {
            record.reason = v;
        } else if (field.key == "request") {
            record.request = v;
        }
        if (!ok) {
            error = "bad value for '" + std::string(field.key) + "': '" + std::string(v) + "'";
            return std::nullopt;
        }
    }
    return record;
}

}  // namespace exchanged::tools
