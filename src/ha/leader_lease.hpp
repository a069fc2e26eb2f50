// One node's claim to lead, held in etcd as a key under a lease (Patroni's scheme): whoever
// creates the key leads, under the epoch etcd gives the write (the store's revision, which only
// grows, so two leaders never share an epoch), for as long as LeaseValidity says.
//
//   campaign   grant a lease; txn "create_revision(key) == 0 ? put key=record with the lease :
//              get key". Lost: the holder is returned and the new lease revoked.
//   take_over  the same, but the txn compares the holder seen before (its value and mod revision):
//              it fails if anything wrote the key since.
//   renew      a keepalive, then a txn confirming the key still holds this node's record at its
//              epoch and reading it. The read makes the txn linearizable (a txn with no read is
//              answered from the member's own state): a member cut off from the etcd majority
//              cannot confirm it, whatever it answers to the keepalive. Validity counts from the
//              keepalive's send time (lease_validity.hpp).
//   resign     forget the lease at once, then revoke it in etcd (which deletes the key).
//
// Not thread-safe: one thread drives it (the daemon's failover loop, later).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "ha/etcd_api.hpp"
#include "ha/leader_record.hpp"
#include "ha/lease_validity.hpp"

namespace exchanged::ha {

struct LeaderLeaseOptions {
    std::string key = "/exchanged/leader";
    std::chrono::seconds ttl{2};
    // How long before the lease's end, as this node counts it, it stops leading. Default: a
    // quarter of the TTL.
    std::optional<std::chrono::milliseconds> margin;
};

struct CampaignResult {
    bool won = false;
    std::int64_t epoch = 0;          // when won
    std::optional<KeyValue> holder;  // when lost: the key as etcd holds it (absent if none)
};

struct RenewResult {
    bool renewed = false;  // etcd extended the lease and confirmed the key
    std::string failure;   // otherwise, why (the etcd error, a lost lease, a key taken)
};

class LeaderLease {
  public:
    using Clock = std::function<LeaseClock::time_point()>;

    // Throws std::invalid_argument for a TTL under 1 s, a negative margin or one not under the
    // TTL, or an empty key.
    LeaderLease(EtcdApi& etcd, LeaderLeaseOptions options, Clock clock);

    // Both throw EtcdError when etcd cannot be reached; the lease is then revoked if it can be.
    CampaignResult campaign(const LeaderRecord& self);
    CampaignResult take_over(const KeyValue& previous, const LeaderRecord& self);

    RenewResult renew();
    // Throws EtcdError only when etcd could not be reached: the key then stays until the lease
    // expires. This node stops holding either way.
    void resign();

    bool holds(LeaseClock::time_point now) const { return validity_.holds(now); }
    bool holds() const { return holds(clock_()); }
    std::optional<LeaseClock::time_point> valid_until() const { return validity_.valid_until(); }
    std::int64_t epoch() const { return epoch_; }  // the last term won; 0 before any
    std::int64_t lease_id() const { return lease_id_; }
    LeaseClock::duration margin() const { return margin_; }

  private:
    CampaignResult claim(const std::vector<Compare>& compare, const LeaderRecord& self);
    void revoke_quietly(std::int64_t lease_id);

    EtcdApi& etcd_;
    LeaderLeaseOptions options_;
    Clock clock_;
    LeaseClock::duration margin_;
    LeaseValidity validity_;
    std::int64_t lease_id_ = 0;
    std::int64_t epoch_ = 0;
    std::string value_;  // the record this node wrote
};

}  // namespace exchanged::ha
