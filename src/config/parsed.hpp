// What the INI pass hands to the resolution pass: the raw Config plus the line each key came from,
// so that checks spanning several keys can still point at a line.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace exchanged::config_detail {

struct ParsedFile {
    Config config;
    std::map<std::string, int> key_lines;  // "section.key" -> line
    std::vector<int> instrument_lines;     // parallel to config.instruments
    std::vector<int> account_lines;        // parallel to config.accounts

    // 0 when the key was not in the file.
    int line_of(std::string_view section, std::string_view key) const;
    bool has(std::string_view section, std::string_view key) const {
        return line_of(section, key) != 0;
    }
};

// "file:line: [section] key: message"; the line is left out when 0 and the key when empty.
ConfigError config_error(const std::string& file, int line, std::string_view section,
                         std::string_view key, const std::string& message);

// Reads the file with inih into a ParsedFile; throws ConfigError on the first problem.
ParsedFile parse_config_file(const std::string& path);

// Applies the overrides and the mode's presets, resolves paths and checks the rules that span
// keys. Throws ConfigError.
Config resolve_config(ParsedFile parsed, const ConfigOverrides& overrides);

}  // namespace exchanged::config_detail
