#include "ha/etcd_endpoint.hpp"

#include <charconv>
#include <stdexcept>

namespace exchanged::ha {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

EtcdEndpoint parse_etcd_endpoint(std::string_view text) {
    const std::string_view url = trim(text);
    const auto bad = [&](const std::string& why) {
        return std::invalid_argument("etcd endpoint '" + std::string(url) + "': " + why);
    };
    std::string_view rest = url;
    EtcdEndpoint out;
    if (rest.starts_with("https://")) {
        rest.remove_prefix(8);
        out.tls = true;
    } else if (rest.starts_with("http://")) {
        rest.remove_prefix(7);
    } else if (rest.find("://") != std::string_view::npos) {
        throw bad("only http:// and https:// are supported");
    }
    if (!rest.empty() && rest.back() == '/') {
        rest.remove_suffix(1);
    }
    out.url = std::string(url);
    std::string_view port_text;
    if (rest.starts_with("[")) {
        const std::size_t close = rest.find(']');
        if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
            throw bad("expected [IPv6 address]:port");
        }
        out.host = std::string(rest.substr(1, close - 1));
        port_text = rest.substr(close + 2);
    } else {
        const std::size_t colon = rest.rfind(':');
        if (colon == std::string_view::npos) {
            throw bad("no port; expected http://host:port");
        }
        out.host = std::string(rest.substr(0, colon));
        port_text = rest.substr(colon + 1);
    }
    const bool bracketed = rest.starts_with("[");
    if (out.host.empty() ||
        out.host.find_first_of(bracketed ? "/ []" : "/ :[]") != std::string::npos) {
        throw bad("no valid host; expected http://host:port");
    }
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
        throw bad("the port '" + std::string(port_text) + "' is not a number in 1..65535");
    }
    out.port = static_cast<std::uint16_t>(port);
    return out;
}

std::vector<EtcdEndpoint> parse_etcd_endpoints(std::string_view list) {
    std::vector<EtcdEndpoint> out;
    while (true) {
        const std::size_t comma = list.find(',');
        const std::string_view item = trim(list.substr(0, comma));
        if (!item.empty()) {
            out.push_back(parse_etcd_endpoint(item));
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
    if (out.empty()) {
        throw std::invalid_argument("etcd endpoints: the list is empty");
    }
    for (const EtcdEndpoint& endpoint : out) {
        if (endpoint.tls != out.front().tls) {
            throw std::invalid_argument("etcd endpoints: '" + out.front().url + "' and '" +
                                        endpoint.url + "' mix http:// and https://");
        }
    }
    return out;
}

}  // namespace exchanged::ha
