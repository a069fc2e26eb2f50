// The table of every fixed key: section, name and how its text becomes a Config field. Adding a key
// is one row here plus a field in config.hpp and a line in docs/configuration.md.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace exchanged::config_detail {

struct KeySpec {
    std::string_view section;
    std::string_view key;
    // Throws ValueError for a bad value.
    void (*apply)(Config& config, std::string_view value);
};

std::span<const KeySpec> fixed_keys();

// Sections whose keys are names chosen by the operator (instrument symbols, account names).
inline constexpr std::string_view kInstrumentsSection = "instruments";
inline constexpr std::string_view kAccountsSection = "accounts";

bool is_known_section(std::string_view section);

// "server, persistence, ..." for error messages.
std::string known_sections();

}  // namespace exchanged::config_detail
