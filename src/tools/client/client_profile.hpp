// What the client commands need from a daemon profile (config/*.ini): instruments by name or id,
// account secrets, and the profile's price units ($0.0001) for reading and printing prices. Also
// the default client order id base, which has to be unique across runs without any stored state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "book/instrument_spec.hpp"
#include "common/cli_args.hpp"
#include "common/types.hpp"
#include "config/config.hpp"

namespace exchanged::tools {

inline constexpr std::string_view kDefaultProfilePath = "config/standard.ini";

// Loads --config (default config/standard.ini relative to the current directory). A missing file
// or a profile that does not load throws std::runtime_error saying which and why.
exchanged::Config load_client_profile(const CliArgs& args);

// "AMZN" or "1"; throws CliError listing the profile's instruments when neither matches.
const book::InstrumentSpec& find_instrument(const exchanged::Config& profile,
                                            std::string_view text);
// The symbol for an instrument id, or the id in digits when the profile does not have it.
std::string instrument_name(const exchanged::Config& profile, InstrumentId id);

// --secret if given, else the account's secret from the profile; throws CliError otherwise.
std::string account_secret(const exchanged::Config& profile, const CliArgs& args,
                           std::string_view account);

// Profile prices are integers in units of $0.0001. "200.00" (with a decimal point) is dollars;
// "2000000" (digits only) is already in units. Throws CliError naming `what` when malformed.
Price parse_price(std::string_view text, std::string_view what);
// 2000000 -> "200.0000".
std::string format_price(Price price);

Side parse_side(std::string_view text);
std::string_view side_name(Side side);

// Microseconds since the epoch times 4096: a run issuing fewer than 4096 ids per microsecond
// (4 billion a second) never reaches the base of any later run, so ids stay unique per account
// across runs and restarts as long as the wall clock does not step back.
std::uint64_t clock_id_base();

}  // namespace exchanged::tools
