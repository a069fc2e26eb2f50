// How long a leader may act on its etcd lease, judged only from its own clock: from the send time
// of the last grant or renewal etcd answered with a TTL, plus that TTL, minus a margin.
//
// Why the send time: etcd starts the TTL again when it handles the renewal, which is after it was
// sent, so counting from the send time can only end early, never late, however long the answer
// took. Why a margin: a member cut off from its peers keeps answering renewals with a full TTL
// for a while (renewals are not replicated; about 1.7 s was measured with etcd 3.4.23) and the
// clocks of the two machines run at slightly different rates; the margin is what is left to stop
// acknowledging before another node can have taken the key.
//
// Once lost, lost: a renewal sent after the validity ended, or answered without a TTL (etcd no
// longer knows the lease), ends it for good, even if a later renewal is answered with a TTL. The
// node must campaign again, under a new epoch.
//
// Pure: no etcd, no clock of its own.
#pragma once

#include <chrono>
#include <optional>

namespace exchanged::ha {

using LeaseClock = std::chrono::steady_clock;

class LeaseValidity {
  public:
    explicit LeaseValidity(LeaseClock::duration margin) : margin_(margin) {}

    // A new lease: its grant was sent at `sent` and etcd granted `ttl`.
    void start(LeaseClock::time_point sent, std::chrono::seconds ttl);
    // A renewal sent at `sent` that etcd answered with `ttl` (zero: the lease is gone).
    void renewed(LeaseClock::time_point sent, std::chrono::seconds ttl);
    void lose() { valid_ = false; }

    // The instant from which the leader must no longer act; nullopt when it holds no lease.
    std::optional<LeaseClock::time_point> valid_until() const;
    bool holds(LeaseClock::time_point now) const;

  private:
    LeaseClock::duration margin_;
    bool valid_ = false;
    LeaseClock::time_point last_sent_{};
    std::chrono::seconds ttl_{0};
};

}  // namespace exchanged::ha
