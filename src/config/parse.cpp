// The INI pass. inih does the lexing; a reader callback feeds it one line at a time so that the
// line number of every key is known (the packaged inih is built without INI_HANDLER_LINENO).
#include <ini.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>

#include "config/keys.hpp"
#include "config/lists.hpp"
#include "config/parsed.hpp"
#include "config/values.hpp"

namespace exchanged::config_detail {
namespace {

struct ParseState {
    std::string path;
    std::string_view rest;  // unread text
    int line = 0;           // the line inih is working on
    std::optional<ConfigError> error;
    ParsedFile parsed;

    void fail(std::string_view section, std::string_view key, const std::string& message) {
        if (!error) {
            error = config_error(path, line, section, key, message);
        }
    }
};

std::string known_keys(std::string_view section) {
    std::string known;
    for (const KeySpec& spec : fixed_keys()) {
        if (spec.section == section) {
            known += known.empty() ? "" : ", ";
            known += spec.key;
        }
    }
    return known;
}

void check_section_header(ParseState& state, std::string_view line) {
    const std::size_t close = line.find(']');
    if (close == std::string_view::npos) {
        return;  // inih reports the syntax error
    }
    const std::string_view section = line.substr(1, close - 1);
    if (!is_known_section(section)) {
        state.fail(section, {}, "unknown section (known: " + known_sections() + ")");
    }
}

// fgets-style. Leading blanks are dropped so that inih never treats an indented line as the
// continuation of the previous value (its multi-line mode), which would hide a duplicate key.
char* read_line(char* buffer, int size, void* stream) {
    auto& state = *static_cast<ParseState*>(stream);
    if (state.error || state.rest.empty()) {
        return nullptr;
    }
    const std::size_t newline = state.rest.find('\n');
    std::string_view line = state.rest.substr(0, newline);
    state.rest.remove_prefix(newline == std::string_view::npos ? state.rest.size() : newline + 1);
    ++state.line;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
        line.remove_prefix(1);
    }
    if (line.find('\0') != std::string_view::npos) {
        state.fail({}, {}, "the line holds a NUL byte");
        return nullptr;
    }
    // inih needs room for the newline and the terminator; a longer line would be split silently.
    if (line.size() + 2 > static_cast<std::size_t>(size)) {
        state.fail({}, {}, "the line is longer than " + std::to_string(size - 3) + " characters");
        return nullptr;
    }
    if (line.starts_with('[')) {
        check_section_header(state, line);
    }
    std::memcpy(buffer, line.data(), line.size());
    buffer[line.size()] = '\n';
    buffer[line.size() + 1] = '\0';
    return buffer;
}

void record_key(ParseState& state, std::string_view section, std::string_view key) {
    const std::string id = std::string(section) + "." + std::string(key);
    const auto [it, inserted] = state.parsed.key_lines.emplace(id, state.line);
    if (!inserted) {
        throw ValueError("duplicate key (first set on line " + std::to_string(it->second) + ")");
    }
}

void apply_key(ParseState& state, std::string_view section, std::string_view key,
               std::string_view value) {
    if (section.empty()) {
        throw ValueError("key outside any section");
    }
    record_key(state, section, key);
    Config& config = state.parsed.config;
    if (section == kInstrumentsSection) {
        config.instruments.push_back(parse_instrument(key, value));
        state.parsed.instrument_lines.push_back(state.line);
        return;
    }
    if (section == kAccountsSection) {
        config.accounts.push_back(parse_account(key, value));
        state.parsed.account_lines.push_back(state.line);
        return;
    }
    for (const KeySpec& spec : fixed_keys()) {
        if (spec.section == section && spec.key == key) {
            spec.apply(config, value);
            return;
        }
    }
    throw ValueError("unknown key (known in [" + std::string(section) +
                     "]: " + known_keys(section) + ")");
}

// Exceptions must not cross inih's C frames: they are caught here and kept in the state.
int handle_key(void* user, const char* section, const char* key, const char* value) {
    auto& state = *static_cast<ParseState*>(user);
    if (state.error) {
        return 0;
    }
    try {
        apply_key(state, section, key, value);
    } catch (const ValueError& error) {
        state.fail(section, key, error.what());
    } catch (const std::exception& error) {
        state.fail(section, key, std::string("internal error: ") + error.what());
    }
    return state.error ? 0 : 1;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw config_error(path, 0, {}, {}, std::string("cannot open: ") + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        throw config_error(path, 0, {}, {}, "cannot read");
    }
    return std::move(text).str();
}

}  // namespace

ParsedFile parse_config_file(const std::string& path) {
    const std::string text = read_file(path);
    ParseState state;
    state.path = path;
    state.rest = text;
    const int syntax_error_line = ini_parse_stream(read_line, &state, handle_key, &state);
    // inih reports the first line it could not parse; a key error past it is a later problem.
    if (syntax_error_line > 0 && (!state.error || syntax_error_line < state.error->line())) {
        throw config_error(path, syntax_error_line, {}, {},
                           "cannot parse the line (expected [section], key = value or a comment)");
    }
    if (state.error) {
        throw *state.error;
    }
    if (syntax_error_line < 0) {
        throw config_error(path, 0, {}, {}, "inih failed (out of memory)");
    }
    return std::move(state.parsed);
}

}  // namespace exchanged::config_detail
