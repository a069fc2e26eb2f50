// Parsers for single configuration values. They know nothing of files or lines: a bad value throws
// ValueError with a message about the value alone, and the loader adds file, line, section and key.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace exchanged::config_detail {

class ValueError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Digits only: no sign, no suffix, no separators, so a value reads the same to every tool.
std::uint64_t parse_whole(std::string_view text, std::uint64_t min, std::uint64_t max);

template <typename T>
T parse_whole_as(std::string_view text, std::uint64_t min, std::uint64_t max) {
    return static_cast<T>(parse_whole(text, min, max));
}

// true/false, yes/no, on/off, 1/0.
bool parse_bool(std::string_view text);

// HOST:PORT with a port in 1..65535 (0..65535 with `port_zero_allowed`, for endpoints that port 0
// turns off); an IPv6 host goes in brackets: [::1]:9100.
Endpoint parse_endpoint(std::string_view text, bool port_zero_allowed = false);

// Endpoints separated by commas or spaces; an empty text is an empty list.
std::vector<Endpoint> parse_endpoint_list(std::string_view text);

// Calls `each` with every non-empty item of a list separated by commas, blanks or tabs.
template <typename F>
void for_each_list_item(std::string_view text, F&& each) {
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t stop = text.find_first_of(", \t", start);
        const std::string_view item = text.substr(
            start, stop == std::string_view::npos ? std::string_view::npos : stop - start);
        if (!item.empty()) {
            each(item);
        }
        if (stop == std::string_view::npos) {
            break;
        }
        start = stop + 1;
    }
}

template <typename E>
struct Choice {
    std::string_view name;
    E value;
};

template <typename E>
E parse_choice(std::string_view text, std::initializer_list<Choice<E>> choices) {
    for (const Choice<E>& choice : choices) {
        if (choice.name == text) {
            return choice.value;
        }
    }
    std::string names;
    for (const Choice<E>& choice : choices) {
        names += names.empty() ? "" : " | ";
        names += choice.name;
    }
    throw ValueError("'" + std::string(text) + "' is not one of " + names);
}

// A name usable as an instrument symbol or account name: letters, digits and . _ - /, at most
// max_length characters. Kept narrow because these names travel in logs and on the wire.
void check_name(std::string_view text, std::size_t max_length, std::string_view what);

std::string_view trim(std::string_view text);

}  // namespace exchanged::config_detail
