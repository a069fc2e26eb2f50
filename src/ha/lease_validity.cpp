#include "ha/lease_validity.hpp"

namespace exchanged::ha {

void LeaseValidity::start(LeaseClock::time_point sent, std::chrono::seconds ttl) {
    valid_ = ttl.count() > 0;
    last_sent_ = sent;
    ttl_ = ttl;
}

void LeaseValidity::renewed(LeaseClock::time_point sent, std::chrono::seconds ttl) {
    if (!valid_) {
        return;
    }
    if (ttl.count() <= 0 || sent >= last_sent_ + ttl_ - margin_) {
        valid_ = false;  // gone in etcd, or this node had already stopped being leader
        return;
    }
    if (sent < last_sent_) {
        return;  // an older renewal answered late: it proves less than the last one
    }
    last_sent_ = sent;
    ttl_ = ttl;
}

std::optional<LeaseClock::time_point> LeaseValidity::valid_until() const {
    if (!valid_) {
        return std::nullopt;
    }
    return last_sent_ + ttl_ - margin_;
}

bool LeaseValidity::holds(LeaseClock::time_point now) const {
    const std::optional<LeaseClock::time_point> until = valid_until();
    return until.has_value() && now < *until;
}

}  // namespace exchanged::ha
