// One etcd member's client URL, as configured: "http://host:port" (or "host:port"). TLS is not
// spoken yet, so "https://" is refused by name rather than sent in the clear.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace exchanged::ha {

struct EtcdEndpoint {
    std::string host;  // without IPv6 brackets
    std::uint16_t port = 0;
    std::string url;  // as written, for messages
};

// Throws std::invalid_argument naming the endpoint and what is wrong with it.
EtcdEndpoint parse_etcd_endpoint(std::string_view text);

// A comma-separated list, as scripts/etcd-test-cluster.sh prints it; at least one endpoint.
std::vector<EtcdEndpoint> parse_etcd_endpoints(std::string_view list);

}  // namespace exchanged::ha
