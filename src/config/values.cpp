#include "config/values.hpp"

#include <cctype>
#include <charconv>

namespace exchanged::config_detail {

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
        text.remove_suffix(1);
    }
    return text;
}

std::uint64_t parse_whole(std::string_view text, std::uint64_t min, std::uint64_t max) {
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    auto [stop, ec] = std::from_chars(text.data(), end, value);
    const bool digits_only =
        !text.empty() && stop == end && std::isdigit(static_cast<unsigned char>(text.front())) != 0;
    const std::string range = std::to_string(min) + ".." + std::to_string(max);
    if (!digits_only || ec == std::errc::invalid_argument) {
        throw ValueError("'" + std::string(text) + "' is not a whole number (expected " + range +
                         ")");
    }
    if (ec == std::errc::result_out_of_range || value < min || value > max) {
        throw ValueError(std::string(text) + " is outside " + range);
    }
    return value;
}

bool parse_bool(std::string_view text) {
    for (std::string_view yes : {"true", "yes", "on", "1"}) {
        if (text == yes) {
            return true;
        }
    }
    for (std::string_view no : {"false", "no", "off", "0"}) {
        if (text == no) {
            return false;
        }
    }
    throw ValueError("'" + std::string(text) +
                     "' is not a boolean (true/false, yes/no, on/off, 1/0)");
}

Endpoint parse_endpoint(std::string_view text, bool port_zero_allowed) {
    const auto bad = [&](std::string_view why) {
        return ValueError("'" + std::string(text) + "' is not HOST:PORT (" + std::string(why) +
                          ")");
    };
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        throw bad("no port");
    }
    std::string_view host = text.substr(0, colon);
    if (host.starts_with('[') != host.ends_with(']')) {
        throw bad("unbalanced brackets");
    }
    if (host.starts_with('[')) {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        throw bad("an IPv6 host goes in brackets, e.g. [::1]:9100");
    }
    if (host.empty()) {
        throw bad("empty host");
    }
    for (char c : host) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '-' && c != ':' &&
            c != '_') {
            throw bad("bad character in host");
        }
    }
    std::uint16_t port = 0;
    try {
        port =
            parse_whole_as<std::uint16_t>(text.substr(colon + 1), port_zero_allowed ? 0 : 1, 65535);
    } catch (const ValueError& error) {
        throw bad("port: " + std::string(error.what()));
    }
    return Endpoint{std::string(host), port};
}

std::vector<Endpoint> parse_endpoint_list(std::string_view text) {
    std::vector<Endpoint> endpoints;
    for_each_list_item(text,
                       [&](std::string_view item) { endpoints.push_back(parse_endpoint(item)); });
    return endpoints;
}

void check_name(std::string_view text, std::size_t max_length, std::string_view what) {
    if (text.empty() || text.size() > max_length) {
        throw ValueError(std::string(what) + " must have 1.." + std::to_string(max_length) +
                         " characters");
    }
    for (char c : text) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '_' && c != '-' &&
            c != '/') {
            throw ValueError(std::string(what) + " '" + std::string(text) +
                             "' may hold only letters, digits and . _ - /");
        }
    }
}

}  // namespace exchanged::config_detail
