#include "ha/leader_lease.hpp"

#include <stdexcept>

namespace exchanged::ha {

namespace {

LeaseClock::duration margin_of(const LeaderLeaseOptions& options) {
    if (options.key.empty()) {
        throw std::invalid_argument("leader lease: the key is empty");
    }
    if (options.ttl < std::chrono::seconds(1)) {
        throw std::invalid_argument(
            "leader lease: the TTL must be at least 1 s (etcd counts it in "
            "seconds)");
    }
    const LeaseClock::duration margin = options.margin ? LeaseClock::duration(*options.margin)
                                                       : LeaseClock::duration(options.ttl) / 4;
    if (margin < LeaseClock::duration::zero() || margin >= options.ttl) {
        throw std::invalid_argument(
            "leader lease: the margin must be at least 0 and below the TTL");
    }
    return margin;
}

}  // namespace

LeaderLease::LeaderLease(EtcdApi& etcd, LeaderLeaseOptions options, Clock clock)
    : etcd_(etcd),
      options_(std::move(options)),
      clock_(std::move(clock)),
      margin_(margin_of(options_)),
      validity_(margin_) {}

CampaignResult LeaderLease::campaign(const LeaderRecord& self) {
    return claim({{Compare::Target::Create, Compare::Result::Equal, options_.key, 0, ""}}, self);
}

CampaignResult LeaderLease::take_over(const KeyValue& previous, const LeaderRecord& self) {
    return claim(
        {{Compare::Target::Mod, Compare::Result::Equal, options_.key, previous.mod_revision, ""},
         {Compare::Target::Value, Compare::Result::Equal, options_.key, 0, previous.value}},
        self);
}

CampaignResult LeaderLease::claim(const std::vector<Compare>& compare, const LeaderRecord& self) {
    validity_.lose();
    const LeaseClock::time_point sent = clock_();
    const LeaseGrant grant = etcd_.lease_grant(options_.ttl.count());
    const std::string value = encode_leader_record(self);
    Txn txn;
    txn.compare = compare;
    txn.success.push_back({TxnOp::Kind::Put, options_.key, value, grant.id});
    txn.failure.push_back({TxnOp::Kind::Range, options_.key, "", 0});
    TxnResult result;
    try {
        result = etcd_.txn(txn);
    } catch (const EtcdError&) {
        // Whether the put was applied is unknown: revoking the lease removes the key if it was.
        revoke_quietly(grant.id);
        throw;
    }
    CampaignResult out;
    std::optional<KeyValue> holder;
    if (!result.responses.empty() && !result.responses[0].kvs.empty()) {
        holder = result.responses[0].kvs[0];
    }
    if (result.succeeded) {
        out.won = true;
        out.epoch = result.revision;
    } else if (holder && holder->lease == grant.id && holder->value == value) {
        // The client retried the txn on another member after the first had applied it: the key
        // is ours, written at its mod revision.
        out.won = true;
        out.epoch = holder->mod_revision;
    }
    if (!out.won) {
        revoke_quietly(grant.id);
        out.holder = std::move(holder);
        return out;
    }
    lease_id_ = grant.id;
    epoch_ = out.epoch;
    value_ = value;
    validity_.start(sent, std::chrono::seconds(grant.ttl_seconds));
    return out;
}

RenewResult LeaderLease::renew() {
    RenewResult out;
    if (!validity_.valid_until()) {
        out.failure = "no lease held";
        return out;
    }
    const LeaseClock::time_point sent = clock_();
    try {
        const std::int64_t ttl = etcd_.lease_keepalive(lease_id_);
        if (ttl <= 0) {
            validity_.lose();
            out.failure = "etcd no longer knows lease " + std::to_string(lease_id_) + " (expired)";
            return out;
        }
        Txn confirm;
        confirm.compare.push_back(
            {Compare::Target::Mod, Compare::Result::Equal, options_.key, epoch_, ""});
        confirm.compare.push_back(
            {Compare::Target::Value, Compare::Result::Equal, options_.key, 0, value_});
        // The read is what makes it linearizable: etcd serves a txn without any read or write
        // (or with serializable reads only) from the member's local state, which an isolated
        // raft leader does at once; with a read it must first hear from a majority.
        confirm.success.push_back({TxnOp::Kind::Range, options_.key, "", 0});
        if (!etcd_.txn(confirm).succeeded) {
            validity_.lose();
            out.failure = "the key " + options_.key +
                          " no longer holds this node's record at epoch " + std::to_string(epoch_);
            return out;
        }
        validity_.renewed(sent, std::chrono::seconds(ttl));
        if (!validity_.valid_until()) {
            out.failure = "the renewal was sent after the lease's validity had ended";
            return out;
        }
        out.renewed = true;
    } catch (const EtcdError& error) {
        // Not lost yet: the validity runs out at its own time unless a later renewal succeeds.
        out.failure = error.what();
    }
    return out;
}

void LeaderLease::resign() {
    validity_.lose();
    if (lease_id_ != 0) {
        const std::int64_t id = lease_id_;
        lease_id_ = 0;
        try {
            etcd_.lease_revoke(id);
        } catch (const EtcdError& error) {
            if (error.unavailable()) {
                throw;  // the key stays until the lease expires on its own
            }
            // Refused: etcd does not know the lease any more, so the key is gone already.
        }
    }
}

void LeaderLease::revoke_quietly(std::int64_t lease_id) {
    try {
        etcd_.lease_revoke(lease_id);
    } catch (const EtcdError&) {
        // It expires on its own after the TTL; nothing was written under it that matters.
    }
}

}  // namespace exchanged::ha
