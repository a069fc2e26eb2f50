// The etcd calls the leader election makes, as an interface: EtcdClient speaks them to real
// members; the tests of LeaderLease's timing rules answer them from a script with a fake clock.
#pragma once

#include <cstdint>
#include <string_view>

#include "ha/etcd_types.hpp"

namespace exchanged::ha {

class EtcdApi {
  public:
    virtual ~EtcdApi() = default;
    // All throw EtcdError on failure.
    virtual RangeResult range(std::string_view key) = 0;
    virtual TxnResult txn(const Txn& txn) = 0;
    virtual std::int64_t delete_range(std::string_view key) = 0;
    virtual LeaseGrant lease_grant(std::int64_t ttl_seconds) = 0;
    // The TTL etcd reports after the renewal; 0 when the lease is gone (expired or revoked).
    virtual std::int64_t lease_keepalive(std::int64_t lease_id) = 0;
    virtual void lease_revoke(std::int64_t lease_id) = 0;
};

}  // namespace exchanged::ha
