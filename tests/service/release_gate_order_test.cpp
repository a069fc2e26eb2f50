// The release gate's ordering rule against a reference model, under random sessions, accounts,
// ack points, trades, refusals, status reads, frontier advances and gate sizes: every reply leaves
// exactly once, never before its own point covers its LSN, never before an earlier reply of its
// account (a session's own account, or the maker's account for a maker fill), and as soon as both
// hold (after each release() nothing that may leave is still held). When the log fails, the replies
// it never made durable are dropped, never sent, and the others still leave in order.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "../sanitizer_scale.hpp"
#include "service_fakes.hpp"

using namespace exchanged;
using namespace exchanged::service;
using namespace exchanged::service::test;

namespace {

// Each reply carries its own key: the command's timestamp (unique per command) times two, plus
// one for a maker fill (which shares its trade's timestamp with the taker fill).
std::uint64_t key_of(const net::Message& message) {
    if (const auto* m = std::get_if<net::Accepted>(&message)) {
        return static_cast<std::uint64_t>(m->timestamp_ns) * 2;
    }
    if (const auto* m = std::get_if<net::Rejected>(&message)) {
        return static_cast<std::uint64_t>(m->timestamp_ns) * 2;
    }
    if (const auto* m = std::get_if<net::Fill>(&message)) {
        return static_cast<std::uint64_t>(m->timestamp_ns) * 2 +
               (m->liquidity == net::Liquidity::Maker ? 1 : 0);
    }
    if (const auto* m = std::get_if<net::OrderStatus>(&message)) {
        return m->client_order_id * 2;
    }
    return 0;
}

// The reference model: the replies in the order they were produced, each with the account whose
// replies it must not overtake and the point it waits for. Used as the gate's sink, it checks
// every reply the moment it leaves and records what is wrong instead of failing at once, so a
// test can also show it catching planted faults.
class OrderChecker final : public ReplySink {
  public:
    OrderChecker(const FakePoint& wal, const FakePoint& store) : wal_(wal), store_(store) {}

    void expect(std::uint64_t key, AccountId account, wal::Lsn lsn, AckPoint point) {
        const std::size_t index = replies_.size();
        replies_.push_back(Expected{key, account, lsn, point, false});
        by_key_[key] = index;
        by_account_[account].push_back(index);
    }

    void to_session(net::SessionId /*session*/, const net::Message& message) override {
        left(message);
    }
    void to_account(AccountId /*account*/, const net::Message& message) override { left(message); }

    // Whether the oldest reply still held for `account` may leave now.
    bool account_ready(AccountId account) const {
        const Expected* first = first_held(account);
        return first != nullptr && reached(*first);
    }
    bool any_ready() const {
        for (const auto& [account, list] : by_account_) {
            if (account_ready(account)) {
                return true;
            }
        }
        return false;
    }
    bool holds(AccountId account) const { return first_held(account) != nullptr; }
    // The log failed: what its points had not reached by now is never sent.
    void log_failed() { log_failed_ = true; }
    // After a release(): nothing that may leave is still held.
    void check_nothing_ready(const std::string& when) {
        for (const auto& [account, list] : by_account_) {
            if (account_ready(account)) {
                fault(when + ": account " + std::to_string(account) +
                      " has a reply that may leave but is held");
            }
        }
    }
    std::size_t held() const {
        std::size_t n = 0;
        for (const Expected& e : replies_) {
            n += e.sent || lost(e) ? 0 : 1;
        }
        return n;
    }
    std::size_t lost() const {
        std::size_t n = 0;
        for (const Expected& e : replies_) {
            n += lost(e) ? 1 : 0;
        }
        return n;
    }
    std::size_t sent() const { return sent_; }
    const std::vector<std::string>& faults() const { return faults_; }

  private:
    struct Expected {
        std::uint64_t key = 0;
        AccountId account = 0;
        wal::Lsn lsn = 0;
        AckPoint point = AckPoint::Match;
        bool sent = false;
    };

    wal::Lsn frontier(AckPoint point) const {
        switch (point) {
            case AckPoint::Match:
                return ~wal::Lsn{0};
            case AckPoint::Wal:
            case AckPoint::Quorum:  // without replication its slot holds the wal point
            case AckPoint::Mirror:  // the rig's points map mirror to the log's (3-point form)
                return wal_.frontier();
            case AckPoint::Store:
                return store_.frontier();
        }
        return 0;
    }
    bool reached(const Expected& e) const { return e.lsn <= frontier(e.point); }
    bool lost(const Expected& e) const { return log_failed_ && !e.sent && !reached(e); }
    const Expected* first_held(AccountId account) const {
        const auto it = by_account_.find(account);
        if (it == by_account_.end()) {
            return nullptr;
        }
        for (const std::size_t i : it->second) {
            if (!replies_[i].sent && !lost(replies_[i])) {
                return &replies_[i];
            }
        }
        return nullptr;
    }
    void left(const net::Message& message) {
        const std::uint64_t key = key_of(message);
        const auto it = by_key_.find(key);
        if (it == by_key_.end()) {
            fault("reply " + std::to_string(key) + " was never produced");
            return;
        }
        Expected& e = replies_[it->second];
        const std::string name = "reply " + std::to_string(key);
        if (e.sent) {
            fault(name + " left twice");
            return;
        }
        if (!reached(e)) {
            fault(name + " left before its point covered LSN " + std::to_string(e.lsn));
        }
        if (first_held(e.account) != &e) {
            fault(name + " overtook an earlier reply of account " + std::to_string(e.account));
        }
        e.sent = true;
        ++sent_;
    }
    void fault(const std::string& what) { faults_.push_back(what); }

    const FakePoint& wal_;
    const FakePoint& store_;
    std::vector<Expected> replies_;
    std::map<std::uint64_t, std::size_t> by_key_;
    std::map<AccountId, std::vector<std::size_t>> by_account_;
    std::size_t sent_ = 0;
    bool log_failed_ = false;
    std::vector<std::string> faults_;
};

struct Profile {
    AckPoint normal;
    AckPoint critical;
};

struct Rig {
    Rig(Profile acks, std::size_t capacity)
        : points(match, wal, store),
          checker(wal, store),
          gate(checker, points, acks.normal, acks.critical, capacity) {
        // A full gate waits for its oldest blocked reply: the writer gets there meanwhile.
        wal.on_wait = [this](wal::Lsn lsn) { raise(wal, lsn); };
        store.on_wait = [this](wal::Lsn lsn) { raise(store, lsn); };
    }
    static void raise(FakePoint& point, wal::Lsn lsn) {
        point.set_frontier(std::max(point.frontier(), lsn));
    }

    MatchPoint match;
    FakePoint wal;
    FakePoint store;
    DurabilityPoints points;
    OrderChecker checker;
    ReleaseGate gate;
};

engine::ShardEvent event_of(book::EventType type, wal::Lsn lsn, TimestampNs stamp) {
    engine::ShardEvent out;
    out.lsn = lsn;
    out.event.type = type;
    out.event.instrument = kInstrument;
    out.event.timestamp_ns = stamp;
    out.event.client_order_id = static_cast<ClientOrderId>(stamp);
    if (type == book::EventType::Rejected) {
        out.event.reject_reason = book::RejectReason::Busy;
    }
    return out;
}

// What one run went through, to show the runs reach the gate's rarer paths.
struct RunCounts {
    std::uint64_t full_waits = 0;
    std::uint64_t dropped = 0;
};

// One random run: `steps` actions over `accounts` accounts with two sessions each; in a third of
// the runs the log fails somewhere in the second half.
RunCounts run_random(std::uint64_t seed, int steps) {
    std::mt19937_64 random(seed);
    const auto pick = [&](std::uint64_t n) { return random() % n; };
    const Profile profiles[] = {{AckPoint::Match, AckPoint::Store},
                                {AckPoint::Wal, AckPoint::Store},
                                {AckPoint::Wal, AckPoint::Wal},
                                {AckPoint::Match, AckPoint::Wal}};
    const Profile profile = profiles[pick(4)];
    const std::size_t capacity = pick(2) == 0 ? 2 + pick(8) : 256;
    const AccountId accounts = static_cast<AccountId>(1 + pick(6));
    Rig rig(profile, capacity);
    const int fail_at = pick(3) == 0 ? steps / 2 + static_cast<int>(pick(steps / 2)) : steps;
    bool failed = false;
    INFO("seed " << seed << " capacity " << capacity << " accounts " << accounts << " fail at "
                 << fail_at);

    wal::Lsn last_lsn = 0;
    TimestampNs stamp = 0;
    const auto point_of = [&](wal::Lsn lsn, bool critical, bool store_sync) {
        if (lsn == 0) {
            return AckPoint::Match;
        }
        if (store_sync) {
            return AckPoint::Store;
        }
        return critical ? profile.critical : profile.normal;
    };

    for (int step = 0; step < steps; ++step) {
        if (step == fail_at) {
            // The WAL failed: neither point moves again, and a full gate's wait returns false.
            failed = true;
            rig.wal.on_wait = nullptr;
            rig.store.on_wait = nullptr;
            rig.wal.fail();
            rig.store.fail();
            rig.checker.log_failed();
        }
        const std::uint64_t action = pick(100);
        if (action < 50) {
            const auto session = static_cast<net::SessionId>(1 + pick(accounts * 2));
            ReplyOrigin origin;
            origin.session = session;
            origin.account = static_cast<AccountId>(1 + (session - 1) / 2);
            origin.critical = pick(10) == 0;
            origin.store_sync = pick(20) == 0;
            const bool was_held = rig.checker.holds(origin.account);
            ++stamp;
            const std::uint64_t kind = pick(10);
            if (kind == 0) {
                // A status read after whatever the shard logged last.
                net::OrderStatus status;
                status.client_order_id = static_cast<ClientOrderId>(stamp);
                rig.checker.expect(status.client_order_id * 2, origin.account, last_lsn,
                                   last_lsn != 0 ? profile.normal : AckPoint::Match);
                rig.gate.push_reply(last_lsn, session, origin.account, status);
            } else if (kind == 1) {
                const engine::ShardEvent e = event_of(book::EventType::Rejected, 0, stamp);
                rig.checker.expect(static_cast<std::uint64_t>(stamp) * 2, origin.account, 0,
                                   AckPoint::Match);
                rig.gate.push(e, origin);
            } else if (kind < 5) {
                engine::ShardEvent e = event_of(book::EventType::Trade, ++last_lsn, stamp);
                e.event.maker_account = static_cast<AccountId>(1 + pick(accounts));
                const AckPoint point = point_of(e.lsn, origin.critical, origin.store_sync);
                rig.checker.expect(static_cast<std::uint64_t>(stamp) * 2, origin.account, e.lsn,
                                   point);
                rig.checker.expect(static_cast<std::uint64_t>(stamp) * 2 + 1, e.event.maker_account,
                                   e.lsn, point);
                rig.gate.push(e, origin);
            } else {
                const engine::ShardEvent e = event_of(book::EventType::Accepted, ++last_lsn, stamp);
                rig.checker.expect(static_cast<std::uint64_t>(stamp) * 2, origin.account, e.lsn,
                                   point_of(e.lsn, origin.critical, origin.store_sync));
                rig.gate.push(e, origin);
            }
            // With nothing of its account held, a reply whose point is reached leaves at once.
            if (!failed && !was_held && rig.checker.account_ready(origin.account)) {
                FAIL("a reply that could leave at once was held, step " << step);
            }
        } else if (failed && action < 75) {
            continue;  // a failed log's frontiers stay where they were
        } else if (action < 65) {
            Rig::raise(rig.wal, rig.wal.frontier() + pick(last_lsn - rig.wal.frontier() + 1));
        } else if (action < 75) {
            Rig::raise(rig.store, rig.store.frontier() + pick(last_lsn - rig.store.frontier() + 1));
        } else {
            if (!failed) {
                REQUIRE(rig.gate.has_ready() == rig.checker.any_ready());
            }
            rig.gate.release();
            rig.checker.check_nothing_ready("after release at step " + std::to_string(step));
            REQUIRE_FALSE(rig.gate.has_ready());
        }
        REQUIRE(rig.checker.faults().empty());
    }

    // Every point catches up (unless the log failed): every reply leaves once or is dropped.
    if (!failed) {
        rig.wal.set_frontier(std::max(rig.wal.frontier(), last_lsn));
        rig.store.set_frontier(std::max(rig.store.frontier(), last_lsn));
    }
    rig.gate.release();
    for (const std::string& fault : rig.checker.faults()) {
        FAIL(fault);
    }
    CHECK(rig.checker.held() == 0);
    CHECK(rig.gate.empty());
    CHECK(rig.gate.stats().released == rig.checker.sent());
    CHECK(rig.gate.stats().dropped == rig.checker.lost());
    return {rig.gate.stats().full_waits, rig.gate.stats().dropped};
}

}  // namespace

TEST_CASE("ReleaseGate keeps the ordering rule of the reference model under random load",
          "[service][gate][order]") {
    RunCounts total;
    for (std::uint64_t seed = 1; seed <= exchanged::sanitizer::scaled<std::uint64_t>(300); ++seed) {
        const RunCounts run = run_random(seed, 2000);
        total.full_waits += run.full_waits;
        total.dropped += run.dropped;
    }
    // The small gates filled up, and failed logs left replies to drop: the rule held there too.
    CHECK(total.full_waits > 0);
    CHECK(total.dropped > 0);
}

TEST_CASE("The ordering checker catches replies that break the rule", "[service][gate][order]") {
    FakePoint wal;
    FakePoint store;
    OrderChecker checker(wal, store);
    const auto accepted_reply = [](TimestampNs stamp) {
        net::Accepted a;
        a.timestamp_ns = stamp;
        return net::Message{a};
    };
    checker.expect(2, /*account=*/1, /*lsn=*/1, AckPoint::Wal);
    checker.expect(4, /*account=*/1, /*lsn=*/2, AckPoint::Match);
    checker.expect(6, /*account=*/2, /*lsn=*/3, AckPoint::Store);

    SECTION("before its point") {
        checker.to_session(1, accepted_reply(1));
        REQUIRE(checker.faults().size() == 1);
        CHECK_THAT(checker.faults()[0], Catch::Contains("before its point"));
    }
    SECTION("ahead of an earlier reply of its account") {
        checker.to_session(1, accepted_reply(2));
        REQUIRE(checker.faults().size() == 1);
        CHECK_THAT(checker.faults()[0], Catch::Contains("overtook an earlier reply of account 1"));
    }
    SECTION("twice") {
        wal.set_frontier(1);
        checker.to_session(1, accepted_reply(1));
        checker.to_session(1, accepted_reply(1));
        REQUIRE(checker.faults().size() == 1);
        CHECK_THAT(checker.faults()[0], Catch::Contains("left twice"));
    }
    SECTION("held when it may leave") {
        store.set_frontier(3);
        CHECK(checker.any_ready());
        checker.check_nothing_ready("now");
        REQUIRE(checker.faults().size() == 1);
        CHECK_THAT(checker.faults()[0], Catch::Contains("account 2 has a reply that may leave"));
    }
    SECTION("in order and at its point: no fault") {
        wal.set_frontier(1);
        checker.to_session(1, accepted_reply(1));
        checker.to_session(1, accepted_reply(2));
        checker.check_nothing_ready("now");
        CHECK(checker.faults().empty());
        CHECK(checker.sent() == 2);
    }
}
