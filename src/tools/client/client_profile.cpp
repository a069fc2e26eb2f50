#include "tools/client/client_profile.hpp"

#include <charconv>
#include <chrono>
#include <filesystem>
#include <stdexcept>

namespace exchanged::tools {
namespace {

constexpr Price kUnitsPerDollar = 10'000;
constexpr int kPriceDecimals = 4;

bool all_digits(std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

std::uint64_t digits_value(std::string_view text, std::string_view what, std::string_view whole) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
        throw CliError(std::string(what) + ": '" + std::string(whole) + "' is too large");
    }
    return value;
}

}  // namespace

exchanged::Config load_client_profile(const CliArgs& args) {
    const std::string path = args.text_or("config", std::string(kDefaultProfilePath));
    if (!std::filesystem::exists(path)) {
        throw std::runtime_error("no profile at '" + path + "' (relative to " +
                                 std::filesystem::current_path().string() +
                                 "); it names the instruments and accounts: pass --config FILE");
    }
    try {
        return exchanged::load_config(path);
    } catch (const exchanged::ConfigError& error) {
        std::string where = error.file().empty() ? path : error.file();
        if (error.line() > 0) {
            where += ":" + std::to_string(error.line());
        }
        throw std::runtime_error("profile " + where + ": " + error.what());
    }
}

const book::InstrumentSpec& find_instrument(const exchanged::Config& profile,
                                            std::string_view text) {
    for (const book::InstrumentSpec& spec : profile.instruments) {
        if (spec.symbol == text || (all_digits(text) && std::to_string(spec.id) == text)) {
            return spec;
        }
    }
    std::string known;
    for (const book::InstrumentSpec& spec : profile.instruments) {
        known += (known.empty() ? "" : ", ") + spec.symbol + "=" + std::to_string(spec.id);
    }
    throw CliError("--instrument: '" + std::string(text) + "' is not in profile " +
                   profile.source_path + " (" + known + ")");
}

std::string instrument_name(const exchanged::Config& profile, InstrumentId id) {
    for (const book::InstrumentSpec& spec : profile.instruments) {
        if (spec.id == id) {
            return spec.symbol;
        }
    }
    return std::to_string(id);
}

std::string account_secret(const exchanged::Config& profile, const CliArgs& args,
                           std::string_view account) {
    if (const auto secret = args.text("secret")) {
        return *secret;
    }
    for (const exchanged::AccountConfig& entry : profile.accounts) {
        if (entry.name == account) {
            return entry.secret;
        }
    }
    throw CliError("account '" + std::string(account) + "' is not in profile " +
                   profile.source_path + ": pass --secret S");
}

Price parse_price(std::string_view text, std::string_view what) {
    const std::size_t dot = text.find('.');
    if (dot == std::string_view::npos) {
        if (!all_digits(text)) {
            throw CliError(std::string(what) + ": '" + std::string(text) +
                           "' is not a price (200.00 in dollars or 2000000 in $0.0001 units)");
        }
        return static_cast<Price>(digits_value(text, what, text));
    }
    const std::string_view dollars = text.substr(0, dot);
    const std::string_view fraction = text.substr(dot + 1);
    if (!all_digits(dollars) || (!fraction.empty() && !all_digits(fraction)) ||
        fraction.size() > kPriceDecimals) {
        throw CliError(std::string(what) + ": '" + std::string(text) +
                       "' is not a price in dollars with at most 4 decimals");
    }
    std::string padded(fraction);
    padded.resize(kPriceDecimals, '0');
    const std::uint64_t whole = digits_value(dollars, what, text);
    if (whole > static_cast<std::uint64_t>(INT64_MAX / kUnitsPerDollar) - 1) {
        throw CliError(std::string(what) + ": '" + std::string(text) + "' is too large");
    }
    return static_cast<Price>(whole) * kUnitsPerDollar +
           static_cast<Price>(digits_value(padded, what, text));
}

std::string format_price(Price price) {
    const bool negative = price < 0;
    const std::uint64_t magnitude =
        negative ? 0 - static_cast<std::uint64_t>(price) : static_cast<std::uint64_t>(price);
    std::string fraction = std::to_string(magnitude % kUnitsPerDollar);
    fraction.insert(0, kPriceDecimals - fraction.size(), '0');
    return (negative ? "-" : "") + std::to_string(magnitude / kUnitsPerDollar) + "." + fraction;
}

Side parse_side(std::string_view text) {
    if (text == "buy") {
        return Side::Buy;
    }
    if (text == "sell") {
        return Side::Sell;
    }
    throw CliError("--side: '" + std::string(text) + "' is not buy or sell");
}

std::string_view side_name(Side side) {
    switch (side) {
        case Side::Buy:
            return "buy";
        case Side::Sell:
            return "sell";
    }
    return "side?";
}

std::uint64_t clock_id_base() {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    return static_cast<std::uint64_t>(micros) << 12;
}

}  // namespace exchanged::tools
