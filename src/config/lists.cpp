#include "config/lists.hpp"

#include <cctype>
#include <limits>
#include <string>
#include <vector>

#include "config/values.hpp"

namespace exchanged::config_detail {
namespace {

template <typename Entry>
struct Attribute {
    std::string_view name;
    bool required;
    void (*apply)(Entry& entry, std::string_view value);
};

// Splits `a=1 b=2` and applies each attribute once; unknown, repeated or missing ones refuse.
template <typename Entry, std::size_t N>
void apply_attributes(std::string_view text, const Attribute<Entry> (&table)[N], Entry& entry) {
    bool seen[N] = {};
    std::size_t start = 0;
    while (start < text.size()) {
        if (std::isspace(static_cast<unsigned char>(text[start])) != 0) {
            ++start;
            continue;
        }
        std::size_t stop = start;
        while (stop < text.size() && std::isspace(static_cast<unsigned char>(text[stop])) == 0) {
            ++stop;
        }
        const std::string_view item = text.substr(start, stop - start);
        start = stop;
        const std::size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
            // The word is not echoed: it may be part of a secret.
            throw ValueError("found a word without '=' (attributes are name=value pairs)");
        }
        const std::string_view name = item.substr(0, eq);
        std::size_t index = 0;
        while (index < N && table[index].name != name) {
            ++index;
        }
        if (index == N) {
            std::string known;
            for (const Attribute<Entry>& attribute : table) {
                known += known.empty() ? "" : ", ";
                known += attribute.name;
            }
            throw ValueError("unknown attribute '" + std::string(name) + "' (known: " + known +
                             ")");
        }
        if (seen[index]) {
            throw ValueError("attribute " + std::string(name) + " is given twice");
        }
        seen[index] = true;
        try {
            table[index].apply(entry, item.substr(eq + 1));
        } catch (const ValueError& error) {
            throw ValueError(std::string(name) + ": " + error.what());
        }
    }
    for (std::size_t i = 0; i < N; ++i) {
        if (table[i].required && !seen[i]) {
            throw ValueError("attribute " + std::string(table[i].name) + " is missing");
        }
    }
}

using book::InstrumentSpec;
constexpr std::uint64_t kPriceMax = std::uint64_t{1} << 62;
constexpr std::uint64_t kMaxInstrumentId = 65535;

// clang-format off
constexpr Attribute<InstrumentSpec> kInstrumentAttributes[] = {
    {"id", true, [](InstrumentSpec& s, std::string_view v) { s.id = parse_whole_as<InstrumentId>(v, 0, kMaxInstrumentId); }},
    {"tick_size", true, [](InstrumentSpec& s, std::string_view v) { s.tick_size = parse_whole_as<Price>(v, 1, kPriceMax); }},
    {"lot_size", true, [](InstrumentSpec& s, std::string_view v) { s.lot_size = parse_whole_as<Quantity>(v, 1, kPriceMax); }},
    {"min_price", true, [](InstrumentSpec& s, std::string_view v) { s.min_price = parse_whole_as<Price>(v, 1, kPriceMax); }},
    {"max_price", true, [](InstrumentSpec& s, std::string_view v) { s.max_price = parse_whole_as<Price>(v, 1, kPriceMax); }},
    {"max_order_quantity", true, [](InstrumentSpec& s, std::string_view v) { s.max_order_quantity = parse_whole_as<Quantity>(v, 1, kPriceMax); }},
};

constexpr Attribute<AccountConfig> kAccountAttributes[] = {
    {"id", true, [](AccountConfig& a, std::string_view v) { a.id = parse_whole_as<AccountId>(v, 0, std::numeric_limits<AccountId>::max()); }},
    {"secret", true, [](AccountConfig& a, std::string_view v) { a.secret = v; }},
    {"self_trade", false, [](AccountConfig& a, std::string_view v) {
        a.self_trade = parse_choice<book::SelfTradePrevention>(v, {{"cancel_resting", book::SelfTradePrevention::CancelResting}, {"cancel_incoming", book::SelfTradePrevention::CancelIncoming}, {"cancel_both", book::SelfTradePrevention::CancelBoth}}); }},
};
// clang-format on

}  // namespace

InstrumentSpec parse_instrument(std::string_view symbol, std::string_view value) {
    check_name(symbol, 16, "the symbol");
    InstrumentSpec spec;
    spec.symbol = symbol;
    apply_attributes(value, kInstrumentAttributes, spec);
    if (std::string problem = book::validate(spec); !problem.empty()) {
        throw ValueError(problem);
    }
    return spec;
}

AccountConfig parse_account(std::string_view name, std::string_view value) {
    check_name(name, 32, "the account name");
    AccountConfig account;
    account.name = name;
    apply_attributes(value, kAccountAttributes, account);
    if (account.secret.empty()) {
        throw ValueError("secret must not be empty");
    }
    // The Login message carries at most 64 bytes of secret (docs/protocol.md).
    if (account.secret.size() > 64) {
        throw ValueError("secret is longer than 64 bytes, the most a Login can carry");
    }
    return account;
}

}  // namespace exchanged::config_detail
