// One etcd member's client URL, as configured: "http://host:port" (or "host:port"), or
// "https://host:port" for TLS (etcd_tls.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace exchanged::ha {

struct EtcdEndpoint {
    std::string host;  // without IPv6 brackets
    std::uint16_t port = 0;
    std::string url;   // as written, for messages
    bool tls = false;  // https://
};

// Throws std::invalid_argument naming the endpoint and what is wrong with it.
EtcdEndpoint parse_etcd_endpoint(std::string_view text);

// A comma-separated list, as scripts/etcd-test-cluster.sh prints it; at least one endpoint, all
// https:// or none (one cluster speaks one of them on its client port).
std::vector<EtcdEndpoint> parse_etcd_endpoints(std::string_view list);

}  // namespace exchanged::ha
