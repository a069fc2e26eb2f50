// etcd's v3 API over its JSON gateway (HTTP/1.1 POST /v3/...), synchronous, each call bounded by a
// deadline. The endpoints are tried in turn, starting with the one that answered last, until one
// answers: a member that is down, slow, without a leader or answering garbage costs one share of
// the deadline, not the call. An answer etcd gives with an error code that is not about
// availability (lease not found, invalid argument) is final and thrown at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "ha/etcd_api.hpp"
#include "ha/etcd_endpoint.hpp"

namespace exchanged::ha {

struct EtcdClientOptions {
    // The whole call, over all endpoints. Each attempt gets an equal share of what is left.
    std::chrono::milliseconds call_deadline{1000};
    // Send `Grpc-Metadata-hasleader: true` (see etcd_http.hpp). Only tests turn it off.
    bool require_leader = true;
};

class EtcdClient final : public EtcdApi {
  public:
    // Throws std::invalid_argument for an empty list.
    EtcdClient(std::vector<EtcdEndpoint> endpoints, EtcdClientOptions options);

    RangeResult range(std::string_view key) override;
    TxnResult txn(const Txn& txn) override;
    std::int64_t delete_range(std::string_view key) override;
    LeaseGrant lease_grant(std::int64_t ttl_seconds) override;
    std::int64_t lease_keepalive(std::int64_t lease_id) override;
    void lease_revoke(std::int64_t lease_id) override;

    const std::vector<EtcdEndpoint>& endpoints() const { return endpoints_; }

  private:
    // POSTs `body` to `target` until an endpoint answers 200 with a body `parse` accepts, and
    // returns what `parse` made of it.
    template <typename Parse>
    auto call(const char* target, const std::string& body, Parse parse)
        -> decltype(parse(std::string_view{}));

    std::vector<EtcdEndpoint> endpoints_;
    EtcdClientOptions options_;
    std::size_t preferred_ = 0;
};

}  // namespace exchanged::ha
