// The JSON bodies of etcd's v3 gateway (grpc-gateway): requests built, answers parsed. Keys and
// values are base64; int64s are JSON strings; zero values are omitted from answers, so a missing
// field reads as zero (false, "", 0). A field of the wrong type, bad base64 or text that is not
// JSON throws EtcdJsonError naming what was wrong, never crashes.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ha/etcd_types.hpp"

namespace exchanged::ha {

class EtcdJsonError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

std::string range_request(std::string_view key);
std::string txn_request(const Txn& txn);
std::string delete_range_request(std::string_view key);
std::string lease_grant_request(std::int64_t ttl_seconds);
std::string lease_keepalive_request(std::int64_t lease_id);
std::string lease_revoke_request(std::int64_t lease_id);

// An error etcd put in the body: unary calls answer {"error": "...", "code": N, ...}, the
// streaming keepalive {"error": {"grpc_code": N, "message": "..."}}.
struct EtcdServerError {
    int grpc_code = 0;
    std::string message;
};
std::optional<EtcdServerError> parse_server_error(std::string_view body);

RangeResult parse_range(std::string_view body);
TxnResult parse_txn(std::string_view body);
std::int64_t parse_delete_range(std::string_view body);  // the number of keys deleted
LeaseGrant parse_lease_grant(std::string_view body);
// The TTL left after the renewal; 0 when etcd no longer knows the lease (it answers those with
// 200 and no TTL field).
std::int64_t parse_lease_keepalive(std::string_view body);
void parse_lease_revoke(std::string_view body);

}  // namespace exchanged::ha
